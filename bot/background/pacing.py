"""Each channel's pace, shared by every process: the next free slot to post in lives in the database
(store/outbox.py), so all processes together post about once per SLACK_POST_INTERVAL per channel, and a
429 holds the channel for all of them.

A post takes a slot, waits for it and is sent: the pace is kept at the send, not at Slack's answer. A
slot is taken in the same transaction that renews the outbox row's lease, so a process that lost its row
(it was too slow, and another process took the row over) gives the slot back and does not send.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine

from store import outbox as queue
from store.db import session_scope

__all__ = ["ChannelPacer", "LeaseLost", "retry_after"]

logger = logging.getLogger(__name__)

# Slack counts a channel's posts as they arrive, and a post's trip varies by a few milliseconds: slots sent
# exactly one interval apart would now and then arrive a hair closer, and earn a 429 (a second's wait).
SLOT_MARGIN = 0.005  # fraction of the interval added to every slot
LATE_WAKEUP = 0.25  # fraction of the interval after its slot that a send may still go out
MAX_LATE_WAKEUPS = 3


class LeaseLost(Exception):
    """Our claim on the row ended (we were too slow) and another process may be sending it."""


class ChannelPacer:
    """Slots in each channel for one process's outbox rows, which it owns as `owner`."""

    def __init__(self, *, engine: Engine, owner: str, lease_ttl: timedelta, post_interval: float,
                 clock: Callable[[], datetime], wall: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self._engine = engine
        self._owner = owner
        self._lease_ttl = lease_ttl
        self._interval = post_interval * (1 + SLOT_MARGIN)
        self._clock = clock
        self._wall = wall  # shared by every process: channel slots are stored as epoch seconds
        self._sleep = sleep

    def wait_for_slot(self, channel: str, row_id: int) -> None:
        """Take the channel's next free slot and wait for it; LeaseLost if the row is no longer ours.

        A process that wakes up late (descheduled on a busy machine) would send into the next slot, whose
        owner may be sending too: it takes a new slot instead. So does one whose slot a 429 made void
        (another process's post was refused meanwhile, and Slack's Retry-After covers this slot).
        """
        for _ in range(MAX_LATE_WAKEUPS):
            with session_scope(self._engine) as session:
                # Even with no interval: a channel held after a 429 has its next slot after the hold.
                slot = queue.reserve_post_slot(session=session, channel=channel, now=self._wall(),
                                               interval=self._interval)
                wait = max(0.0, slot - self._wall())
                until = self._clock() + timedelta(seconds=wait) + self._lease_ttl
                if not queue.renew(session=session, row_id=row_id, owner=self._owner, until=until):
                    raise LeaseLost()  # rolls the reservation back: the slot stays free for others
            wait = slot - self._wall()
            if wait > 0:
                self._sleep(wait)
                # The reservation saw every hold until then; only one set while we slept can void the slot.
                with session_scope(self._engine) as session:
                    held_until = queue.channel_held_until(session=session, channel=channel)
                if held_until > slot:  # another process's post got a 429 while we waited: Slack said wait
                    logger.info("outbox row %s: %s is held for %.1fs more; taking another slot", row_id, channel,
                                held_until - self._wall())
                    continue
            if self._interval <= 0 or self._wall() - slot <= self._interval * LATE_WAKEUP:
                return
            logger.info("outbox row %s: woke up %.3fs after its slot; taking another", row_id, self._wall() - slot)

    def hold(self, channel: str, row_id: int, seconds: float) -> None:
        """No process posts to the channel for `seconds` (Slack's Retry-After); the row stays ours until
        after its retry."""
        with session_scope(self._engine) as session:
            queue.hold_channel(session=session, channel=channel, until=self._wall() + seconds,
                               interval=self._interval)
            until = self._clock() + timedelta(seconds=seconds) + self._lease_ttl
            if not queue.renew(session=session, row_id=row_id, owner=self._owner, until=until):
                raise LeaseLost()


def retry_after(exc: SlackApiError) -> float | None:
    """Slack's Retry-After (seconds) if it answered 429, else None."""
    if exc.response.status_code != 429:
        return None
    headers = {str(name).lower(): value for name, value in (exc.response.headers or {}).items()}
    raw = headers.get("retry-after")
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    try:
        return max(0.0, float(raw)) if raw is not None else 1.0
    except ValueError:
        return 1.0
