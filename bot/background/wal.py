"""SQLite's WAL, copied into the database file by a thread of its own rather than by whichever commit finds it
long (store/sqlite.py: the commit that does it holds the write lock for tens of milliseconds)."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.engine import Engine

from bot.background.repeated_failure import RepeatedFailure
from store.sqlite import checkpoint_wal

__all__ = ["CHECKPOINT_EVERY_S", "keep_wal_short"]

logger = logging.getLogger(__name__)
# Often enough that a checkpoint has little to copy (a few milliseconds, beside the writers, not in front of
# them); an idle database costs one cheap PRAGMA a second.
CHECKPOINT_EVERY_S = 1.0


def keep_wal_short(engine: Engine, stop: threading.Event, *, every: float = CHECKPOINT_EVERY_S) -> None:
    """Checkpoint the WAL every `every` seconds until `stop` is set; failures are logged and tried again."""
    failures = RepeatedFailure(logger, "the WAL checkpoint")
    while not stop.wait(every):
        try:
            checkpoint_wal(engine)
        except Exception as exc:  # noqa: BLE001 - a checkpoint that failed is retried by the next one
            failures.failed(exc)
        else:
            failures.succeeded()
