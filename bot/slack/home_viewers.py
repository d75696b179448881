"""Who looked at the App Home tab recently, so it can be refreshed after changes (once a minute each).

Kept in the database (store/leases.py), not in a process's memory: whichever process serves the
`app_home_opened` event, any process's refresh job finds the viewer, and exactly one of them refreshes it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from store import leases
from store.db import session_scope

__all__ = ["HomeViewers"]


class HomeViewers:
    """Who looked at the Home tab recently, and when each was last sent a fresh view."""

    def __init__(self, engine: Engine, *, keep_for: timedelta = timedelta(hours=8),
                 min_interval: timedelta = timedelta(minutes=1)) -> None:
        self._engine = engine
        self._keep_for = keep_for
        self._min_interval = min_interval

    def opened(self, user: str, now: datetime) -> None:
        """The user opened (or asked to refresh) their tab and was just sent a fresh view."""
        with session_scope(self._engine) as session:
            leases.home_opened(session=session, user_id=user, now=now)

    def claim_due(self, now: datetime) -> list[str]:
        """Viewers whose tab is older than a minute (and who looked within `keep_for`), claimed for this
        process: each is marked as published now, so no other process refreshes them as well."""
        with session_scope(self._engine) as session:
            return leases.claim_home_refresh(session=session, now=now, min_interval=self._min_interval,
                                             keep_for=self._keep_for)
