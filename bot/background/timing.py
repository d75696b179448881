"""Pure timing rules for polling: the adaptive cadence and the back-off. No I/O.

(Which reminder is due is decided in `bot.workflow.reminders`.)
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.config import Timers

__all__ = ["next_poll_at", "poll_backoff"]


def next_poll_at(*, invited_at: datetime | None, now: datetime, timers: Timers) -> datetime:
    """Every minute for the first hour after the invite, every 5 minutes for a day, then every 30 minutes."""
    since = now - (invited_at or now)
    if since < timers.poll_fast_window:
        return now + timers.poll_fast_interval
    if since < timers.poll_medium_window:
        return now + timers.poll_medium_interval
    return now + timers.poll_slow_interval


def poll_backoff(*, failures: int, retry_after: float | None, timers: Timers) -> timedelta:
    """After a failed poll: Sinch's Retry-After if given, else doubling from the fast interval, capped."""
    if retry_after:
        return timedelta(seconds=retry_after)
    doubled: timedelta = timers.poll_fast_interval * 2 ** min(failures, 10)
    return min(timers.poll_slow_interval, doubled)
