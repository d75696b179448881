"""Which reminder is due: a pure function of the case, the time and the timers. No I/O.

`bot.background.jobs` reads the open cases, asks `due_reminder` about each and applies the answer through
the workflow; the words of each reminder live in `bot/slack/blocks/replies.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config import Timers
from bot.workflow.notices import ReminderAbout
from store.models import Onboarding
from store.states import POLLED_STATES, OnboardingState

__all__ = ["REMINDED_STATES", "DueReminder", "ExpireNow", "due_count", "due_reminder", "repeating",
           "revoke_due_times"]

S = OnboardingState
LOOKAHEAD = 64  # enough due times to cover years of daily reminders
# The states in which somebody can be nudged (CREATING_APP is the bot's own step).
REMINDED_STATES = (S.AWAITING_APPROVAL, S.CREATING_PROJECT, S.INVITING, S.AWAITING_CUSTOMER, S.ACTIVATING,
                   S.FAILING, S.REVOKING, S.CONFIRMING_REMOVAL)
_MANUAL_STEP = {S.AWAITING_APPROVAL: ReminderAbout.APPROVAL, S.CREATING_PROJECT: ReminderAbout.PROJECT,
                S.INVITING: ReminderAbout.INVITE}


@dataclass(frozen=True)
class ExpireNow:
    """The customer has had access for too long without getting the channel live."""


@dataclass(frozen=True)
class DueReminder:
    """A reminder to post now.

    `due_count` is how many of the state's due times have passed (recorded so each fires once); None for
    the one-off customer reminder.
    """

    about: ReminderAbout
    due_count: int | None
    escalated: bool = False
    waited: timedelta | None = None
    expires_after: timedelta | None = None

    @property
    def to_requester(self) -> bool:
        return self.about is not ReminderAbout.APPROVAL

    @property
    def to_approvers(self) -> bool:
        return self.about is ReminderAbout.APPROVAL or self.escalated


def due_reminder(case: Onboarding, now: datetime, timers: Timers) -> DueReminder | ExpireNow | None:
    """What the reminder sweep should do about this case now, if anything."""
    if case.state in POLLED_STATES:
        if case.invited_at is None:
            return None
        waited = now - case.invited_at
        if waited >= timers.customer_expire_after:
            return ExpireNow()
        if (case.state == S.AWAITING_CUSTOMER and not case.customer_reminded
                and waited >= timers.customer_reminder_after):
            return DueReminder(ReminderAbout.CUSTOMER, None, waited=timers.customer_reminder_after,
                               expires_after=timers.customer_expire_after)
        return None
    if case.state in (S.REVOKING, S.CONFIRMING_REMOVAL):
        # Two-person removal: until someone else confirms, the removal is chased on the same schedule.
        due = due_count(since=case.state_entered_at, now=now, offsets=revoke_due_times(timers, LOOKAHEAD))
        if due <= case.reminders_sent:
            return None
        removal = ReminderAbout.REVOKE if case.state == S.REVOKING else ReminderAbout.REMOVAL_CHECK
        return DueReminder(removal, due,
                           escalated=now - case.state_entered_at >= timers.revoke_escalate_after)
    about = _MANUAL_STEP.get(case.state)
    if about is None:
        return None
    due = due_count(since=case.state_entered_at, now=now,
                    offsets=repeating(timers.manual_step_reminder_after, LOOKAHEAD))
    return DueReminder(about, due) if due > case.reminders_sent else None


def revoke_due_times(timers: Timers, count: int) -> list[timedelta]:
    """Offsets from entering REVOKING of the first `count` reminders: the configured ones, then daily."""
    offsets = list(timers.revoke_reminders) or [timedelta(hours=1)]
    while len(offsets) < count:
        offsets.append(offsets[-1] + timedelta(days=1))
    return offsets[:count]


def due_count(*, since: datetime, now: datetime, offsets: list[timedelta]) -> int:
    """How many of these due times (offsets from `since`) have passed."""
    return sum(1 for offset in offsets if since + offset <= now)


def repeating(first: timedelta, count: int) -> list[timedelta]:
    """`first`, `2 * first`, … — for reminders that repeat at a fixed interval."""
    return [first * (index + 1) for index in range(count)]
