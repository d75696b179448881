"""The weekly access review message, its sign-off buttons, and its reminders."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from slack_sdk.models.blocks import Block

from bot.slack.blocks.base import Rendered, actions, button, context, line_sections, section
from bot.slack.blocks.reports import thread_link
from bot.slack.ids import ActionId
from bot.slack.mrkdwn import escape, mention, mentions, when
from store.models import AccessReview, Onboarding, ReviewItem

__all__ = ["ReviewLine", "review_message", "review_reminder"]

MAX_BUTTON_ROWS = 15  # removal lines with their own buttons; the rest are signed with "all the rest"
CHECKED_LABEL, FLAG_LABEL, ALL_LABEL = "Checked: no access", "Still has access", "Checked: no access (all the rest)"


@dataclass(frozen=True)
class ReviewLine:
    item: ReviewItem
    case: Onboarding
    channels: tuple[str, ...]


def _holding(line: ReviewLine) -> str:
    case = line.case
    return (f"• *{escape(case.customer_name)}* ({', '.join(line.channels)}) — since {when(line.item.since)}, "
            f"requested by {mention(case.requester_id)} — {thread_link(case)}")


def _removed(line: ReviewLine) -> str:
    case = line.case
    return (f"• *{escape(case.customer_name)}* ({', '.join(line.channels)}) — removal confirmed by "
            f"{mention(line.item.by)} {when(line.item.since)} — {thread_link(case)}")


def _signed(item: ReviewItem) -> str:
    verdict = ("Checked: no access" if item.outcome == "checked"
               else ":rotating_light: Still has access (removal reopened)")
    return f"{verdict} — signed by {mention(item.signed_by)} {when(item.signed_at)}"


def review_message(review: AccessReview, lines: Sequence[ReviewLine]) -> Rendered:
    """The review: who holds access now, the removals since the last review with their sign-offs."""
    holding = [line for line in lines if line.item.kind == "holding"]
    removed = [line for line in lines if line.item.kind == "removed"]
    title = f"Access review of {review.taken_at.strftime('%Y-%m-%d')}"
    if not holding and not removed:
        return Rendered(text=f"{title}: nobody holds access and no removal was confirmed since the last review.",
                        blocks=[section(f":white_check_mark: *{title}*: nobody holds access and no removal was "
                                        "confirmed since the last review.")])
    blocks: list[Block] = [section(f":mag: *{title}*")]
    if holding:
        blocks.append(section(f"*Holding access now ({len(holding)})*"))
        blocks += line_sections([_holding(line) for line in holding], max_blocks=8,
                                more=lambda count: f"…and {count} more: see `/onboard list`")
    else:
        blocks.append(context("Nobody holds access now."))
    if removed:
        blocks.append(section(f"*Removals confirmed since the last review ({len(removed)})* — approvers, check in "
                              "the Sinch dashboard's User management that each customer is gone, and sign off:"))
    unsigned = 0
    for line in removed:
        item = line.item
        if item.signed_at is not None:
            blocks.append(section(f"{_removed(line)}\n{_signed(item)}"))
            continue
        unsigned += 1
        if unsigned > MAX_BUTTON_ROWS:
            continue
        blocks.append(section(_removed(line)))
        value = f"{review.id}:{item.id}"
        blocks.append(actions(button(CHECKED_LABEL, ActionId.REVIEW_CHECKED, value, style="primary"),
                              button(FLAG_LABEL, ActionId.REVIEW_STILL_HAS_ACCESS, value, style="danger")))
    if unsigned > MAX_BUTTON_ROWS:
        blocks.append(context(f"…and {unsigned - MAX_BUTTON_ROWS} more removals to sign off: use the button below."))
    if unsigned:
        blocks.append(actions(button(ALL_LABEL, ActionId.REVIEW_CHECK_ALL, str(review.id))))
    elif removed and unsigned == 0:
        blocks.append(context(":white_check_mark: Every removal is signed off."))
    return Rendered(text=f"{title}: {len(holding)} holding access, {unsigned} of {len(removed)} removals to sign off",
                    blocks=blocks)


def review_reminder(unsigned: int, reminder: int, approvers: Sequence[str]) -> Rendered:
    """A nudge in the review's thread; from the second one every approver is mentioned."""
    who = f" {mentions(list(approvers))}" if reminder >= 2 and approvers else ""
    text = (f":alarm_clock: Access review: {unsigned} confirmed removal(s) still wait for sign-off.{who} "
            "Check each customer is gone from User management, then press *Checked: no access* or "
            "*Still has access* above.")
    return Rendered(text=text, blocks=[section(text)])
