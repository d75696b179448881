"""due_reminder: which reminder (or expiry) is due, as a table of (case, time since, expected answer)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.config import Timers
from bot.workflow.notices import ReminderAbout as About
from bot.workflow.reminders import DueReminder, ExpireNow, due_reminder
from store.models import Onboarding, PageType, Region
from store.states import OnboardingState as S

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
TIMERS = Timers()  # product defaults: manual steps daily; revoke at 1 h, 4 h, 24 h, then daily, escalating at 24 h
H = timedelta(hours=1)
D = timedelta(days=1)


def case(state: S, *, invited: bool = False, reminders_sent: int = 0, customer_reminded: bool = False) -> Onboarding:
    return Onboarding(id=1, customer_name="Acme", customer_key="acme", contact_email="a@acme.example", region=Region.EU,
                      page="p", page_type=PageType.PERSONAL, requester_id="U1", state=state, state_entered_at=T0,
                      invited_at=T0 if invited else None, reminders_sent=reminders_sent,
                      customer_reminded=customer_reminded)


CUSTOMER = DueReminder(About.CUSTOMER, None, waited=3 * D, expires_after=14 * D)

TABLE = [
    # (case, time since it entered its state, expected)
    (case(S.AWAITING_APPROVAL), 23 * H, None),
    (case(S.AWAITING_APPROVAL), 24 * H, DueReminder(About.APPROVAL, 1)),
    (case(S.AWAITING_APPROVAL, reminders_sent=1), 47 * H, None),
    (case(S.AWAITING_APPROVAL, reminders_sent=1), 3 * D, DueReminder(About.APPROVAL, 3)),  # one catch-up, not two
    (case(S.CREATING_PROJECT), D, DueReminder(About.PROJECT, 1)),
    (case(S.INVITING), D, DueReminder(About.INVITE, 1)),
    (case(S.CREATING_APP), 10 * D, None),  # the bot's own step: nobody to nudge
    (case(S.AWAITING_CUSTOMER, invited=True), 3 * D - H, None),
    (case(S.AWAITING_CUSTOMER, invited=True), 3 * D, CUSTOMER),
    (case(S.AWAITING_CUSTOMER, invited=True, customer_reminded=True), 5 * D, None),
    (case(S.ACTIVATING, invited=True), 5 * D, None),  # the customer is doing it
    (case(S.ACTIVATING, invited=True), 14 * D, ExpireNow()),
    (case(S.AWAITING_CUSTOMER, invited=True, customer_reminded=True), 14 * D, ExpireNow()),
    (case(S.FAILING, invited=True), 15 * D, ExpireNow()),
    (case(S.REVOKING), 59 * timedelta(minutes=1), None),
    (case(S.REVOKING), H, DueReminder(About.REVOKE, 1)),
    (case(S.REVOKING, reminders_sent=1), 3 * H, None),
    (case(S.REVOKING, reminders_sent=1), 4 * H, DueReminder(About.REVOKE, 2)),
    (case(S.REVOKING, reminders_sent=2), D, DueReminder(About.REVOKE, 3, escalated=True)),
    (case(S.REVOKING, reminders_sent=3), 2 * D, DueReminder(About.REVOKE, 4, escalated=True)),
    (case(S.COMPLETED), 30 * D, None),
]


@pytest.mark.parametrize(("onboarding", "elapsed", "expected"), TABLE,
                         ids=[f"{row[0].state}+{row[1]}" for row in TABLE])
def test_due_reminder(onboarding: Onboarding, elapsed: timedelta, expected: DueReminder | ExpireNow | None) -> None:
    assert due_reminder(onboarding, T0 + elapsed, TIMERS) == expected


@pytest.mark.parametrize(("due", "requester", "approvers"), [
    (DueReminder(About.APPROVAL, 1), False, True),
    (DueReminder(About.PROJECT, 1), True, False),
    (CUSTOMER, True, False),
    (DueReminder(About.REVOKE, 1), True, False),
    (DueReminder(About.REVOKE, 3, escalated=True), True, True),
])
def test_who_a_reminder_is_for(due: DueReminder, requester: bool, approvers: bool) -> None:
    assert (due.to_requester, due.to_approvers) == (requester, approvers)
