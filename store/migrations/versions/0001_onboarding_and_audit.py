"""Onboarding cases and their audit trail.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "onboarding",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("customer_name", sa.String(200), nullable=False),
        sa.Column("customer_key", sa.String(200), nullable=False),
        sa.Column("contact_email", sa.String(320), nullable=False),
        sa.Column("region", sa.String(2), nullable=False),
        sa.Column("page", sa.String(500), nullable=False),
        sa.Column("page_type", sa.String(16), nullable=False),
        sa.Column("business_verified", sa.Boolean(), nullable=False),
        sa.Column("page_admin", sa.Boolean(), nullable=False),
        sa.Column("chat_button", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.String(3000), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("state_entered_at", UTCDateTime(), nullable=False),
        sa.Column("revoke_outcome", sa.String(32), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("requester_id", sa.String(32), nullable=False),
        sa.Column("approver_id", sa.String(32), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("rejection_reason", sa.String(3000), nullable=True),
        sa.Column("cancelled_by", sa.String(32), nullable=True),
        sa.Column("cancel_reason", sa.String(3000), nullable=True),
        sa.Column("project_id", sa.String(64), nullable=True),
        sa.Column("key_id", sa.String(64), nullable=True),
        sa.Column("key_secret_sealed", sa.String(1000), nullable=True),
        sa.Column("project_registered_by", sa.String(32), nullable=True),
        sa.Column("project_registered_at", UTCDateTime(), nullable=True),
        sa.Column("app_name", sa.String(200), nullable=True),
        sa.Column("app_id", sa.String(64), nullable=True),
        sa.Column("app_attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(2000), nullable=True),
        sa.Column("invited_by", sa.String(32), nullable=True),
        sa.Column("invited_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(32), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("channel_status", sa.String(32), nullable=True),
        sa.Column("channel_description", sa.String(2000), nullable=True),
        sa.Column("channel_checked_at", UTCDateTime(), nullable=True),
        sa.Column("page_id", sa.String(64), nullable=True),
        sa.Column("page_name", sa.String(300), nullable=True),
        sa.Column("active_at", UTCDateTime(), nullable=True),
        sa.Column("slack_channel", sa.String(32), nullable=True),
        sa.Column("thread_ts", sa.String(32), nullable=True),
    )
    op.create_index("ix_onboarding_customer_key", "onboarding", ["customer_key"])
    op.create_index("ix_onboarding_contact_email", "onboarding", ["contact_email"])
    op.create_index("ix_onboarding_state_entered", "onboarding", ["state", "state_entered_at"])

    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("onboarding_id", sa.Integer(), sa.ForeignKey("onboarding.id"), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(32), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("from_state", sa.String(32), nullable=True),
        sa.Column("to_state", sa.String(32), nullable=True),
        sa.Column("detail", sa.String(3000), nullable=False),
    )
    op.create_index("ix_audit_event_onboarding_id", "audit_event", ["onboarding_id"])


def downgrade() -> None:
    op.drop_table("audit_event")
    op.drop_table("onboarding")
