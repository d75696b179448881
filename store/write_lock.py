"""A fair (first come, first served) write lock for one process's SQLite transactions.

SQLite lets one writer in at a time. A writer that finds the file locked waits in SQLite's busy handler, which
sleeps in growing steps (1, 2, 5 … 100 ms) and retries: under a burst the order is luck, and a writer that
keeps losing waits hundreds of milliseconds while the lock stands free between its sleeps. Taking this lock
before `BEGIN IMMEDIATE` makes the writers of one process wait in a queue instead, each handed the lock the
moment the previous one commits. Other processes still meet in SQLite's busy handler (store/db.py keeps the
busy timeout for them).
"""

from __future__ import annotations

import threading
from collections import deque

__all__ = ["FairWriteLock", "WriteLockTimeout"]


class WriteLockTimeout(Exception):
    """The write lock was not free within the timeout."""


class FairWriteLock:
    """A re-entrant lock granted in the order it was asked for.

    Re-entrant per thread (a thread that holds it and asks again gets it at once, and holds it until it has
    released as often as it acquired). `release(owner=)` lets the code that ends a transaction release on
    behalf of the thread that began it.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._owner: int | None = None
        self._depth = 0
        self._waiters: deque[tuple[int, threading.Event]] = deque()

    def acquire(self, timeout: float | None = None) -> None:
        """Take the lock, after everyone who asked before; WriteLockTimeout after `timeout` seconds."""
        me = threading.get_ident()
        with self._mutex:
            if self._owner == me:
                self._depth += 1
                return
            if self._owner is None and not self._waiters:
                self._owner, self._depth = me, 1
                return
            turn = (me, threading.Event())
            self._waiters.append(turn)
        turn[1].wait(timeout)
        with self._mutex:
            if self._owner == me:  # handed over, possibly just as the wait timed out
                return
            self._waiters.remove(turn)
        raise WriteLockTimeout(f"the write lock stayed taken for {timeout} s")

    def release(self, *, owner: int | None = None) -> None:
        """Give the lock up once (for `owner`, default the calling thread); the next in line gets it."""
        holder = threading.get_ident() if owner is None else owner
        with self._mutex:
            if self._owner != holder or self._depth <= 0:
                raise RuntimeError("release of a write lock this thread does not hold")
            self._depth -= 1
            if self._depth:
                return
            self._owner = None
            if self._waiters:
                ident, turn = self._waiters.popleft()
                self._owner, self._depth = ident, 1
                turn.set()

    def held_by(self) -> int | None:
        """The thread that holds the lock (None when free)."""
        with self._mutex:
            return self._owner

    def waiting(self) -> int:
        """How many threads are queued for the lock."""
        with self._mutex:
            return len(self._waiters)
