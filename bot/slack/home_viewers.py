"""Who looked at the App Home tab recently, so it can be refreshed after changes (once a minute each)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

__all__ = ["HomeViewers"]


class HomeViewers:
    """Who looked at the Home tab recently, and when each was last sent a fresh view."""

    def __init__(self, *, keep_for: timedelta = timedelta(hours=8), min_interval: timedelta = timedelta(minutes=1)):
        self._published: dict[str, datetime] = {}
        self._keep_for = keep_for
        self._min_interval = min_interval
        self._lock = threading.Lock()

    def seen(self, user: str, now: datetime) -> None:
        with self._lock:
            self._published[user] = now

    def due(self, now: datetime) -> list[str]:
        """Viewers whose tab is older than a minute (and who looked within `keep_for`)."""
        with self._lock:
            for user in [u for u, at in self._published.items() if now - at > self._keep_for]:
                del self._published[user]
            return [u for u, at in self._published.items() if now - at >= self._min_interval]
