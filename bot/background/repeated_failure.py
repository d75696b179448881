"""Logging a recurring task that keeps failing (a database outage): a traceback the first time, then one line each.

A 15 s database outage used to log 25 full tracebacks (the outbox loop every 2 s, the sweeps): the same stack each
time, burying everything else. The first failure still shows where it happened; the next ones say only that the
task failed again and why; the first success after them says the task works again.
"""

from __future__ import annotations

import logging
import threading

__all__ = ["RepeatedFailure"]

MAX_REASON = 200


class RepeatedFailure:
    """The failure state of one recurring task, for its log lines."""

    def __init__(self, logger: logging.Logger, what: str) -> None:
        self._logger = logger
        self._what = what
        self._failures = 0
        self._lock = threading.Lock()

    def failed(self, error: BaseException) -> None:
        with self._lock:
            self._failures += 1
            count = self._failures
        if count == 1:
            self._logger.error("%s failed: %s", self._what, reason(error), exc_info=error)
        else:
            self._logger.error("%s failed again (%d in a row): %s", self._what, count, reason(error))

    def succeeded(self) -> None:
        with self._lock:
            count, self._failures = self._failures, 0
        if count:
            self._logger.info("%s works again after %d failure(s)", self._what, count)


def reason(error: BaseException) -> str:
    """The error's type and the first line of what its driver said (no statement, no parameters)."""
    cause = getattr(error, "orig", None) or error
    first_line = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    text = f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__
    return text[:MAX_REASON]
