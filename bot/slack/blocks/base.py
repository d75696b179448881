"""What every message builder returns, and the guards Slack's models do not apply themselves."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.slack.mrkdwn import clip, pack_lines

__all__ = ["MAX_MESSAGE_BLOCKS", "MAX_SECTION_TEXT", "Rendered", "button", "context", "line_sections", "section"]

MAX_MESSAGE_BLOCKS = 50
MAX_SECTION_TEXT = 3000


@dataclass(frozen=True)
class Rendered:
    """A message: fallback text (for notifications) plus blocks, checked against Slack's limits."""

    text: str
    blocks: Sequence[Block] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if len(self.blocks) > MAX_MESSAGE_BLOCKS:
            # slack_sdk validates each block but not the per-message count; Slack would refuse the post.
            kept = list(self.blocks[: MAX_MESSAGE_BLOCKS - 1])
            kept.append(context("_Some details were left out to fit Slack's limit._"))
            object.__setattr__(self, "blocks", tuple(kept))

    def block_dicts(self) -> list[dict[str, Any]]:
        """Blocks as JSON; raises SlackObjectFormationError if one breaks a Block Kit limit."""
        return [block.to_dict() for block in self.blocks]


def section(text: str, *, block_id: str | None = None) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text, MAX_SECTION_TEXT)), block_id=block_id)


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(text, MAX_SECTION_TEXT))])


def line_sections(lines: Sequence[str], *, max_blocks: int, more: Callable[[int], str],
                  total: int | None = None) -> list[Block]:
    """One line per item, packed into sections of whole lines, in at most `max_blocks` blocks.

    Items that do not fit, plus those the caller already left out (`total` counts every item), are
    counted in a last context block, `more(count)` ("…and 12 more"): every item is listed whole or counted.
    """
    total = len(lines) if total is None else total
    chunks, left_out = pack_lines(list(lines), MAX_SECTION_TEXT, max_chunks=max_blocks)
    if left_out + total - len(lines):
        chunks, left_out = pack_lines(list(lines), MAX_SECTION_TEXT, max_chunks=max_blocks - 1)  # room for the count
    blocks: list[Block] = [section(chunk) for chunk in chunks]
    hidden = left_out + total - len(lines)
    if hidden:
        blocks.append(context(more(hidden)))
    return blocks


def button(
    label: str, action_id: str, value: str, *, style: str | None = None, confirm: ConfirmObject | None = None
) -> ButtonElement:
    return ButtonElement(text=label, action_id=action_id, value=value, style=style, confirm=confirm)


def actions(*buttons: ButtonElement, block_id: str | None = None) -> ActionsBlock:
    return ActionsBlock(elements=list(buttons), block_id=block_id)
