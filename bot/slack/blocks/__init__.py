"""Block Kit builders (slack_sdk.models), one module per surface. Every user-typed value is escaped."""

from __future__ import annotations

from bot.slack.blocks.base import MAX_MESSAGE_BLOCKS, Rendered
from bot.slack.blocks.card import status_card
from bot.slack.blocks.modals import cancel_modal, intake_modal, reason_modal, register_project_modal, reject_modal
from bot.slack.blocks.replies import render_notice

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
