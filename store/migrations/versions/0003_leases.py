"""Leases for running several processes on one database.

Every piece of background work is claimed in the database before it is done, and a claim expires, so a
dead process's work is taken over by another. Everything here is added (nullable columns, new tables), so a
process of the previous version keeps working next to one of this version during a rolling upgrade.

Revision ID: 0003_leases
Revises: 0003_guards
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.models import UTCDateTime

revision = "0003_leases"
down_revision = "0003_guards"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("lease_until", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("lease_owner", sa.String(64), nullable=True))
    with op.batch_alter_table("onboarding") as batch:
        batch.add_column(sa.Column("app_attempt_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("work_lease_until", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("work_lease_owner", sa.String(64), nullable=True))
        batch.add_column(sa.Column("reminder_lease_until", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("reminder_lease_owner", sa.String(64), nullable=True))
    # Until now an app creation's next attempt was kept in next_poll_at; it gets its own column.
    op.execute("UPDATE onboarding SET app_attempt_at = next_poll_at WHERE state = 'creating_app'")
    op.create_table(
        "channel_pace",
        sa.Column("channel", sa.String(32), primary_key=True),
        sa.Column("next_post_at", sa.Float(), nullable=False),
        sa.Column("held_until", sa.Float(), nullable=False, server_default="0"),
    )
    op.create_table(
        "home_viewer",
        sa.Column("user_id", sa.String(32), primary_key=True),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "slack_event_seen",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("slack_event_seen")
    op.drop_table("home_viewer")
    op.drop_table("channel_pace")
    with op.batch_alter_table("onboarding") as batch:
        for column in ("reminder_lease_owner", "reminder_lease_until", "work_lease_owner", "work_lease_until",
                       "app_attempt_at"):
            batch.drop_column(column)
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("lease_owner")
        batch.drop_column("lease_until")
