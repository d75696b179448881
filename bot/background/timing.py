"""Pure timing rules: the adaptive poll cadence and the reminder due times. No I/O."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.config import Timers

__all__ = ["due_count", "next_poll_at", "revoke_due_times"]


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
