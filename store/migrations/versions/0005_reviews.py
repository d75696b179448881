"""Access reviews: the weekly review, its lines and their sign-offs. Additive: two new tables.

Revision ID: 0005_reviews
Revises: 0004_channels
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.models import UTCDateTime

revision = "0005_reviews"
down_revision = "0004_channels"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_review",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("scheduled_for", UTCDateTime(), nullable=False, unique=True),
        sa.Column("taken_at", UTCDateTime(), nullable=False),
        sa.Column("requested_by", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("post_status", sa.String(16), nullable=False),
        sa.Column("post_owner", sa.String(64), nullable=True),
        sa.Column("post_lease_until", UTCDateTime(), nullable=True),
        sa.Column("slack_ts", sa.String(32), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("rendered_revision", sa.Integer(), nullable=False),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("reminders_posted", sa.Integer(), nullable=False),
    )
    op.create_table(
        "review_item",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("review_id", sa.Integer(), sa.ForeignKey("access_review.id"), nullable=False, index=True),
        sa.Column("onboarding_id", sa.Integer(), sa.ForeignKey("onboarding.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.Column("by", sa.String(32), nullable=True),
        sa.Column("signed_by", sa.String(32), nullable=True),
        sa.Column("signed_at", UTCDateTime(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.UniqueConstraint("review_id", "onboarding_id", "kind"),
    )


def downgrade() -> None:
    op.drop_table("review_item")
    op.drop_table("access_review")
