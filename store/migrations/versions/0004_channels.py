"""Channels: an onboarding connects Messenger, Instagram or both.

Only nullable columns are added: a row without `channels` is a Messenger-only case, exactly as the previous
version wrote it, and that version keeps polling it by `next_poll_at`. A case with Instagram is polled by
`channels_poll_at`, which the previous version does not know, so it never polls one (docs/replicas.md).

Revision ID: 0004_channels
Revises: 0003_leases
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.models import UTCDateTime

revision = "0004_channels"
down_revision = "0003_leases"
branch_labels = None
depends_on = None

_STRINGS = (("channels", 32), ("instagram_username", 64), ("ig_status", 32), ("ig_description", 2000),
            ("ig_account_id", 64), ("ig_username", 64), ("ig_check", 16), ("ig_wrong_id", 64))
_TIMES = ("channels_poll_at", "ig_checked_at", "ig_active_at")


def upgrade() -> None:
    with op.batch_alter_table("onboarding") as batch:
        for name, length in _STRINGS:
            batch.add_column(sa.Column(name, sa.String(length), nullable=True))
        for name in _TIMES:
            batch.add_column(sa.Column(name, UTCDateTime(), nullable=True))
        batch.create_index("ix_onboarding_state_channels_poll_at", ["state", "channels_poll_at"])


def downgrade() -> None:
    with op.batch_alter_table("onboarding") as batch:
        batch.drop_index("ix_onboarding_state_channels_poll_at")
        for name in reversed(_TIMES):
            batch.drop_column(name)
        for name, _ in reversed(_STRINGS):
            batch.drop_column(name)
