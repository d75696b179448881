"""Guards: second-Page onboardings, project and Page checks, two-person access removal.

All columns are nullable, so the previous version keeps working against this schema.

Revision ID: 0003_guards
Revises: 0003_outbox_priority
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.models import UTCDateTime

revision = "0003_guards"
down_revision = "0003_outbox_priority"
branch_labels = None
depends_on = None

_COLUMNS = ("removal_checked_by", "removal_checked_at", "existing_of", "subproject_check", "page_check",
            "wrong_page_id")


def upgrade() -> None:
    with op.batch_alter_table("onboarding") as batch:
        batch.add_column(sa.Column("removal_checked_by", sa.String(32), nullable=True))
        batch.add_column(sa.Column("removal_checked_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("existing_of", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("subproject_check", sa.String(16), nullable=True))
        batch.add_column(sa.Column("page_check", sa.String(16), nullable=True))
        batch.add_column(sa.Column("wrong_page_id", sa.String(64), nullable=True))
        batch.create_index("ix_onboarding_project_id", ["project_id"])


def downgrade() -> None:
    with op.batch_alter_table("onboarding") as batch:
        batch.drop_index("ix_onboarding_project_id")
        for column in reversed(_COLUMNS):
            batch.drop_column(column)
