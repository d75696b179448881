"""A fair (first come, first served) write lock for one process's SQLite transactions.

SQLite lets one writer in at a time. A writer that finds the file locked waits in SQLite's busy handler, which
sleeps in growing steps (1, 2, 5 … 100 ms) and retries: under a burst the order is luck, and a writer that
keeps losing waits hundreds of milliseconds while the lock stands free between its sleeps. Taking this lock
before `BEGIN IMMEDIATE` makes the writers of one process wait in a queue instead, each handed the lock the
moment the previous one commits. Other processes still meet in SQLite's busy handler (store/sqlite.py keeps
the busy timeout for them).

Work that no one waits for (delivering Slack posts, sweeps, anything after an ack) runs inside
`background_writes()`, and its transactions queue behind those of requests, which Slack times: a click that
arrives while the outbox has three transactions queued waits for the one that holds the lock, not for all
four. So that a long burst cannot hold background work back for ever, one that has waited BACKGROUND_PATIENCE_S
goes next.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["BACKGROUND_PATIENCE_S", "FairWriteLock", "WriteLockTimeout", "background_writes", "in_background"]

BACKGROUND_PATIENCE_S = 0.5
_BACKGROUND: ContextVar[bool] = ContextVar("background_writes", default=False)


@contextmanager
def background_writes() -> Iterator[None]:
    """Transactions this thread begins in the block queue for SQLite's write lock behind requests'."""
    token = _BACKGROUND.set(True)
    try:
        yield
    finally:
        _BACKGROUND.reset(token)


def in_background() -> bool:
    """Whether this thread is inside `background_writes()`."""
    return _BACKGROUND.get()


class WriteLockTimeout(Exception):
    """The write lock was not free within the timeout."""


class FairWriteLock:
    """A re-entrant lock granted in the order it was asked for, requests before background work.

    Re-entrant per thread (a thread that holds it and asks again gets it at once, and holds it until it has
    released as often as it acquired). `release(owner=)` lets the code that ends a transaction release on
    behalf of the thread that began it. `acquire(background=True)` queues behind every request waiting, unless
    it has waited `patience` seconds already (by `clock`).
    """

    def __init__(self, *, patience: float = BACKGROUND_PATIENCE_S, clock: Callable[[], float] = time.monotonic) -> None:
        self._mutex = threading.Lock()
        self._owner: int | None = None
        self._depth = 0
        self._waiters: deque[tuple[int, threading.Event]] = deque()
        self._background: deque[tuple[int, threading.Event]] = deque()
        self._background_since: dict[int, float] = {}
        self._patience = patience
        self._clock = clock

    def acquire(self, timeout: float | None = None, *, background: bool = False) -> None:
        """Take the lock, after everyone who asked before (and, in the `background`, after the requests
        waiting); WriteLockTimeout after `timeout` seconds."""
        me = threading.get_ident()
        with self._mutex:
            if self._owner == me:
                self._depth += 1
                return
            if self._owner is None and not self._waiters and not self._background:
                self._owner, self._depth = me, 1
                return
            turn = (me, threading.Event())
            queue = self._background if background else self._waiters
            queue.append(turn)
            if background:
                self._background_since[me] = self._clock()
        turn[1].wait(timeout)
        with self._mutex:
            self._background_since.pop(me, None)
            if self._owner == me:  # handed over, possibly just as the wait timed out
                return
            queue.remove(turn)
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
            queue = self._next_queue()
            if queue:
                ident, turn = queue.popleft()
                self._owner, self._depth = ident, 1
                turn.set()

    def _next_queue(self) -> deque[tuple[int, threading.Event]]:
        if self._background and (not self._waiters or self._clock() - self._background_since[
                self._background[0][0]] >= self._patience):
            return self._background
        return self._waiters

    def held_by(self) -> int | None:
        """The thread that holds the lock (None when free)."""
        with self._mutex:
            return self._owner

    def waiting(self) -> int:
        """How many threads are queued for the lock."""
        with self._mutex:
            return len(self._waiters) + len(self._background)
