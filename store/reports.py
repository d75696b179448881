"""What the stage report reads: the state changes of cases active in a period, and the open cases."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from store.models import AuditEvent, Onboarding
from store.states import OPEN_STATES

__all__ = ["open_cases", "trails_since"]


def trails_since(*, session: Session, since: datetime) -> tuple[list[AuditEvent], list[Onboarding]]:
    """The state changes (whole trail) of every case with a state change at or after `since`, with those cases."""
    active = select(AuditEvent.onboarding_id).where(col(AuditEvent.at) >= since).where(
        col(AuditEvent.to_state).is_not(None))
    events = list(session.exec(select(AuditEvent).where(col(AuditEvent.onboarding_id).in_(active))
                               .where(col(AuditEvent.to_state).is_not(None))
                               .order_by(col(AuditEvent.onboarding_id), col(AuditEvent.at), col(AuditEvent.id))))
    cases = list(session.exec(select(Onboarding).where(col(Onboarding.id).in_(active))))
    return events, cases


def open_cases(*, session: Session) -> list[Onboarding]:
    """Every open case."""
    return list(session.exec(select(Onboarding).where(col(Onboarding.state).in_(OPEN_STATES))))
