"""Outbox priority (a new case's first card and approval request go first), and an index for the
per-person intake limit.

Backwards compatible: `priority` has a server default, so the previous version keeps inserting rows
(as routine) and reading the table; the index is new and used by nobody else.

Revision ID: 0003_outbox_priority
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_outbox_priority"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_onboarding_requester_created", "onboarding", ["requester_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_onboarding_requester_created", table_name="onboarding")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("priority")
