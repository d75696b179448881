"""Ephemeral answers to `/onboard list | status | help`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import Block

from bot.slack.blocks.base import Rendered, context, section
from bot.slack.blocks.card import STATE_EMOJI
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
    return (f"{STATE_EMOJI[case.state]} *{case.reference}* {escape(clip(case.customer_name, 80))} — "
            f"{STATE_LABELS[case.state]} for {age(case.state_entered_at, now)} · {mention(case.requester_id)} · "
            f"{thread_link(case)}")


def case_list(cases: Sequence[Onboarding], now: datetime) -> Rendered:
    if not cases:
        return Rendered(text="No open onboardings.",
                        blocks=[section("No open onboardings. Start one with `/onboard`.")])
    blocks: list[Block] = [section(f"*Open onboardings ({len(cases)})*")]
    lines = [case_line(case, now) for case in cases[:MAX_LISTED]]
    # Several lines per section keep long lists inside the 50-block limit.
    for start in range(0, len(lines), 10):
        blocks.append(section("\n".join(lines[start:start + 10])))
    if len(cases) > MAX_LISTED:
        blocks.append(context(f"…and {len(cases) - MAX_LISTED} more. Use `/onboard status <name>` to find one."))
    return Rendered(text=f"{len(cases)} open onboardings", blocks=blocks)


def help_text(commands: Sequence[tuple[str, str]]) -> Rendered:
    lines = ["*`/onboard`* — start an onboarding (opens the form)"]
    lines += [f"*`/onboard {usage}`* — {description}" for usage, description in commands]
    return Rendered(text="How to use /onboard", blocks=[section("\n".join(lines))])

