"""Which onboarding the work on this thread is about, so every log line it causes can carry `onboarding_id`.

`about_case(id)` is set around the work done for one case (an app creation, a poll); `CaseFilter` copies the id
onto each record logged meanwhile (Sinch's client logs its calls without knowing the case) unless the caller
named one already. Context variables, so threads and pools never see each other's case.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["CaseFilter", "about_case", "log_state_change"]

_CASE: ContextVar[int | None] = ContextVar("onboarding_id", default=None)
logger = logging.getLogger("bot.workflow")


@contextmanager
def about_case(onboarding_id: int) -> Iterator[None]:
    token = _CASE.set(onboarding_id)
    try:
        yield
    finally:
        _CASE.reset(token)


class CaseFilter(logging.Filter):
    """Adds `onboarding_id` from `about_case` to records that lack one."""

    def filter(self, record: logging.LogRecord) -> bool:
        case = _CASE.get()
        if case is not None and getattr(record, "onboarding_id", None) is None:
            record.onboarding_id = case
        return True


def log_state_change(onboarding_id: int, *, from_state: str, to_state: str, actor: str, action: str) -> None:
    """One line per state change: from, to, who (a Slack user id, or "bot") and by which action."""
    logger.info("onboarding #%d: %s -> %s by %s (%s)", onboarding_id, from_state, to_state, actor, action,
                extra={"onboarding_id": onboarding_id})
