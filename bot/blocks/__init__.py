"""Block Kit builders (slack_sdk.models), one module per surface. Every user-typed value is escaped."""

from __future__ import annotations

from bot.blocks.base import MAX_MESSAGE_BLOCKS, Rendered
from bot.blocks.card import status_card
from bot.blocks.modals import cancel_modal, intake_modal, reason_modal, register_project_modal, reject_modal
from bot.blocks.notices import render_notice

__all__ = [
    "MAX_MESSAGE_BLOCKS",
    "Rendered",
    "cancel_modal",
    "intake_modal",
    "reason_modal",
    "register_project_modal",
    "reject_modal",
    "render_notice",
    "status_card",
]
