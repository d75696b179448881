"""Slack outbox, and the scheduler's bookkeeping on each case.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("onboarding") as batch:
        batch.add_column(sa.Column("next_poll_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("poll_failures", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("poll_alerted", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("reminders_sent", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("customer_reminded", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_index("ix_onboarding_state_next_poll_at", ["state", "next_poll_at"])

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("onboarding_id", sa.Integer(), sa.ForeignKey("onboarding.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("notice", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.String(2000), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.Column("slack_ts", sa.String(32), nullable=True),
    )
    op.create_index("ix_outbox_onboarding_id", "outbox", ["onboarding_id"])
    op.create_index("ix_outbox_status_due", "outbox", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("outbox")
    with op.batch_alter_table("onboarding") as batch:
        batch.drop_index("ix_onboarding_state_next_poll_at")
        for column in ("customer_reminded", "reminders_sent", "poll_alerted", "poll_failures", "next_poll_at"):
            batch.drop_column(column)
