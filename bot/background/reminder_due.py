"""Which open cases may owe a reminder or their expiry now, as one SQL condition for the reminder sweep's claim.

`bot.workflow.reminders.due_reminder` decides each case; this condition only keeps the claim from taking
(and writing a lease on) every open case every sweep when none is due. It must hold for every case that
`due_reminder` would act on (a test of that is still to be written); it may also hold for cases that
turn out to owe nothing, such as a manual step between two of its daily reminders.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, false, or_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from bot.config import Timers
from bot.workflow.reminders import REMINDED_STATES, revoke_due_times
from store.models import Onboarding
from store.states import POLLED_STATES, OnboardingState

__all__ = ["may_be_due"]

S = OnboardingState
_REVOKE_STATES = (S.REVOKING, S.CONFIRMING_REMOVAL)


def may_be_due(now: datetime, timers: Timers) -> ColumnElement[bool]:
    """True for every case in REMINDED_STATES that may owe a reminder or its expiry at `now`."""
    polled = [state for state in REMINDED_STATES if state in POLLED_STATES]
    manual = [state for state in REMINDED_STATES if state not in POLLED_STATES and state not in _REVOKE_STATES]
    first_revoke = min(revoke_due_times(timers, 1))
    invited = col(Onboarding.invited_at)
    customer = and_(col(Onboarding.state) == S.AWAITING_CUSTOMER, col(Onboarding.customer_reminded) == false(),
                    invited <= now - timers.customer_reminder_after)
    return or_(
        # The customer's: the one-off reminder, then the expiry.
        and_(col(Onboarding.state).in_(polled), or_(invited <= now - timers.customer_expire_after, customer)),
        # A person's step: due from its first reminder on (the rule then counts the ones already sent).
        and_(col(Onboarding.state).in_(manual),
             col(Onboarding.state_entered_at) <= now - timers.manual_step_reminder_after),
        and_(col(Onboarding.state).in_(list(_REVOKE_STATES)), col(Onboarding.state_entered_at) <= now - first_revoke),
    )
