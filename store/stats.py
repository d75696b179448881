"""Read-only figures for health checks and metrics: counts and ages, one query each, nothing written."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from store.models import Onboarding as Case
from store.models import OutboxMessage, OutboxStatus
from store.states import AFTER_INVITE, OPEN_STATES, OnboardingState

__all__ = ["OperationalFigures", "database_reachable", "operational_figures", "outbox_oldest_undelivered"]

UNDELIVERED = (OutboxStatus.PENDING, OutboxStatus.SENDING)


@dataclass(frozen=True)
class OperationalFigures:
    """What the metrics endpoint reports from the database at one moment."""

    onboardings_by_state: dict[OnboardingState, int]
    customers_holding_access: int
    oldest_access_since: datetime | None
    overdue_removals: int
    outbox_depth: int
    outbox_oldest: datetime | None
    # Open onboardings by their channels ("messenger", "instagram", "messenger,instagram"); migration 0004.
    open_by_channels: dict[str, int] | None = None


def database_reachable(engine: Engine) -> bool:
    """True when a trivial query succeeds (the engine's pool reconnects as needed)."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return True


def outbox_oldest_undelivered(*, session: Session) -> datetime | None:
    """When the oldest message still waiting for Slack was written (None when nothing waits)."""
    statement = select(func.min(OutboxMessage.created_at)).where(col(OutboxMessage.status).in_(UNDELIVERED))
    oldest: datetime | None = session.exec(statement).one()
    return oldest


def operational_figures(*, session: Session, now: datetime, removal_due_after: timedelta) -> OperationalFigures:
    """Onboardings per state, customers holding access, removals overdue, and the outbox backlog."""
    by_state = {state: 0 for state in OnboardingState}
    for state, count in session.exec(select(Case.state, func.count()).group_by(Case.state)).all():
        by_state[OnboardingState(state)] = int(count)
    holding = select(func.count(), func.min(Case.invited_at)).where(col(Case.state).in_(AFTER_INVITE))
    holding_count, holding_since = session.exec(holding).one()
    overdue = select(func.count()).where(Case.state == OnboardingState.REVOKING,
                                         col(Case.state_entered_at) <= now - removal_due_after)
    depth = select(func.count(), func.min(OutboxMessage.created_at)).where(
        col(OutboxMessage.status).in_(UNDELIVERED))
    depth_count, oldest = session.exec(depth).one()
    by_channels: dict[str, int] = {}
    channels = select(Case.channels, func.count()).where(col(Case.state).in_(OPEN_STATES)).group_by(Case.channels)
    for value, count in session.exec(channels).all():
        key = value or "messenger"  # NULL: a Messenger-only case
        by_channels[key] = by_channels.get(key, 0) + int(count)
    return OperationalFigures(onboardings_by_state=by_state, customers_holding_access=int(holding_count),
                              oldest_access_since=holding_since, overdue_removals=int(session.exec(overdue).one()),
                              outbox_depth=int(depth_count), outbox_oldest=oldest, open_by_channels=by_channels)
