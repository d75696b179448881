"""Ephemeral answers to `/onboard list | status | help`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import Block

from bot.slack.blocks.base import MAX_MESSAGE_BLOCKS, Rendered, line_sections, section
from bot.slack.blocks.card import STATE_EMOJI
from bot.slack.blocks.channel_replies import channels_title
from bot.slack.mrkdwn import age, clip, escape, mention
from bot.workflow import STATE_LABELS
from store.models import Onboarding

__all__ = ["case_line", "case_list", "help_text", "thread_link"]

MAX_LISTED = 40


def thread_link(case: Onboarding, label: str = "thread") -> str:
    """A link to the case's thread (the card's permalink form needs no API call)."""
    if not case.slack_channel or not case.thread_ts:
        return "_(thread not posted yet)_"
    return f"<https://slack.com/archives/{case.slack_channel}/p{case.thread_ts.replace('.', '')}|{label}>"


def case_line(case: Onboarding, now: datetime) -> str:
    return (f"{STATE_EMOJI[case.state]} *{case.reference}* {escape(clip(case.customer_name, 80))} "
            f"({channels_title(case)}) — "
            f"{STATE_LABELS[case.state]} for {age(case.state_entered_at, now)} · {mention(case.requester_id)} · "
            f"{thread_link(case)}")


def case_list(cases: Sequence[Onboarding], now: datetime) -> Rendered:
    """Open cases, one whole line each; those that do not fit are counted at the end."""
    if not cases:
        return Rendered(text="No open onboardings.",
                        blocks=[section("No open onboardings. Start one with `/onboard`.")])
    blocks: list[Block] = [section(f"*Open onboardings ({len(cases)})*")]
    blocks += line_sections([case_line(case, now) for case in cases[:MAX_LISTED]], total=len(cases),
                            max_blocks=MAX_MESSAGE_BLOCKS - 1, more=_and_more)
    return Rendered(text=f"{len(cases)} open onboardings", blocks=blocks)


def _and_more(count: int) -> str:
    return f"…and {count} more. Use `/onboard status <name>` to find one."


def help_text(commands: Sequence[tuple[str, str]]) -> Rendered:
    lines = ["*`/onboard`* — start an onboarding (opens the form)"]
    lines += [f"*`/onboard {usage}`* — {description}" for usage, description in commands]
    return Rendered(text="How to use /onboard", blocks=[section("\n".join(lines))])

