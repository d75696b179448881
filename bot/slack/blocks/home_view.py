"""The App Home tab: who holds access right now, overdue steps, and open onboardings by state."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from slack_sdk.models.blocks import Block, DividerBlock, HeaderBlock
from slack_sdk.models.views import View

from bot.slack.blocks.base import actions, button, context, line_sections, section
from bot.slack.blocks.card import STATE_EMOJI
from bot.slack.blocks.channel_replies import channels_title
from bot.slack.blocks.performers import waiting_on
from bot.slack.blocks.reports import thread_link
from bot.slack.ids import ActionId
from bot.slack.mrkdwn import age, clip, escape, mention
from bot.workflow import STATE_LABELS
from store.models import Onboarding
from store.states import OPEN_STATES, TRANSITIONS, OnboardingState

__all__ = ["MAX_HOME_BLOCKS", "access_holders", "home_view", "overdue"]

S = OnboardingState
MAX_HOME_BLOCKS = 100
LINES_PER_SECTION = 10
MAX_ACCESS_LINES = 30
MAX_OVERDUE_LINES = 20
MAX_LINES_PER_STATE = 10
_HUMAN_STEPS = {S.AWAITING_APPROVAL, S.CREATING_PROJECT, S.INVITING, S.REVOKING, S.CONFIRMING_REMOVAL}
# Open states in workflow order (the transition table's order), for a stable layout.
_STATE_ORDER = [state for state in TRANSITIONS if state in OPEN_STATES]


def access_holders(cases: Sequence[Onboarding]) -> list[Onboarding]:
    """Customers invited into our account and not yet removed: those due for removal first, oldest first."""
    # Under two-person removal, a removal nobody else has confirmed yet still counts as access held.
    holders = [c for c in cases if c.invited_at is not None and c.state in OPEN_STATES
               and (c.revoked_at is None or c.state == S.CONFIRMING_REMOVAL)]
    return sorted(holders, key=lambda c: (c.state != S.REVOKING,
                                          c.state_entered_at if c.state == S.REVOKING else c.invited_at))


def overdue(cases: Sequence[Onboarding], now: datetime, *, manual_after: timedelta,
            revoke_after: timedelta) -> list[Onboarding]:
    """Cases waiting on a person for longer than their first reminder, most overdue first."""
    def limit(case: Onboarding) -> timedelta:
        return revoke_after if case.state in (S.REVOKING, S.CONFIRMING_REMOVAL) else manual_after

    late = [c for c in cases if c.state in _HUMAN_STEPS and now - c.state_entered_at >= limit(c)]
    return sorted(late, key=lambda c: c.state_entered_at + limit(c))


def _sections(lines: list[str], total: int, cap: int, more: str) -> list[Block]:
    """At most `cap` lines (in about one section per LINES_PER_SECTION of them), the rest counted."""
    return line_sections(lines[:cap], total=total, max_blocks=-(-cap // LINES_PER_SECTION) + 1,
                         more=lambda count: f"…and {count} more. {more}")


def home_view(cases: Sequence[Onboarding], now: datetime, *, manual_after: timedelta,
              revoke_after: timedelta, stages: Sequence[Block] = ()) -> View:
    """The Home tab for open `cases`; stays within Slack's 100 blocks however many there are."""
    blocks: list[Block] = [
        HeaderBlock(text="Messenger and Instagram onboardings"),
        actions(button("Refresh", ActionId.HOME_REFRESH, "refresh")),
        section("*:key: Customers who hold access to our Sinch account right now*"),
    ]
    holders = access_holders(cases)
    lines = [f"{':rotating_light: *remove now* · ' if c.state == S.REVOKING else ''}"
             f"*{escape(c.contact_email)}* ({escape(clip(c.customer_name, 60))}, {c.reference}, "
             f"{channels_title(c)}) — for "
             f"{age(c.invited_at, now)} · {STATE_LABELS[c.state]} · {thread_link(c)}" for c in holders]
    blocks += _sections(lines, len(holders), MAX_ACCESS_LINES, "See `/onboard list`.") or [
        context("Nobody outside the team has access.")]

    blocks += [DividerBlock(), section("*:alarm_clock: Overdue steps*")]
    late = overdue(cases, now, manual_after=manual_after, revoke_after=revoke_after)
    lines = [f"{STATE_EMOJI[c.state]} {c.reference} {escape(clip(c.customer_name, 60))} — "
             f"{STATE_LABELS[c.state]} for {age(c.state_entered_at, now)} · up to {waiting_on(c.state)} · "
             f"{mention(c.requester_id)} · {thread_link(c)}" for c in late]
    blocks += _sections(lines, len(late), MAX_OVERDUE_LINES, "See `/onboard list`.") or [context("Nothing overdue.")]

    blocks += [DividerBlock(), section(f"*Open onboardings ({sum(c.state in OPEN_STATES for c in cases)})*")]
    for state in _STATE_ORDER:
        in_state = sorted((c for c in cases if c.state == state), key=lambda c: c.state_entered_at)
        if not in_state:
            continue
        lines = [f"{c.reference} {escape(clip(c.customer_name, 60))} ({channels_title(c)}) — "
                 f"{age(c.state_entered_at, now)} · "
                 f"{mention(c.requester_id)} · {thread_link(c)}" for c in in_state]
        blocks.append(section(f"{STATE_EMOJI[state]} *{STATE_LABELS[state]}* ({len(in_state)})"))
        blocks += _sections(lines, len(in_state), MAX_LINES_PER_STATE, "See `/onboard list`.")
    if not any(c.state in OPEN_STATES for c in cases):
        blocks.append(context("No open onboardings. Start one with `/onboard` in the onboarding channel."))
    # The stage times (bot/slack/blocks/stage_report.py, at most 4 blocks) keep their room below the limit.
    kept = blocks[:MAX_HOME_BLOCKS - len(stages) - 2]
    kept += [DividerBlock(), *stages] if stages else []
    kept.append(context(f"Updated {now.strftime('%Y-%m-%d %H:%M UTC')}"))
    return View(type="home", blocks=kept)
