"""Counting Slack requests by kind and outcome and timing their acks, for /metrics.

MeasuredApp times `dispatch` (the listener included, as `process_before_response=True`). The error handler marks
the request it reports on (`note_outcome`) through a context variable set around each request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse

__all__ = ["ERROR", "OK", "REFUSED", "MeasuredApp", "Observe", "note_outcome"]

OK, REFUSED, ERROR, UNHANDLED = "ok", "refused", "error", "unhandled"
# Label values stay a small fixed set whatever a request carries.
KINDS = frozenset({"block_actions", "view_submission", "view_closed", "block_suggestion", "shortcut",
                   "message_action", "event_callback"})
_outcome: ContextVar[list[str] | None] = ContextVar("slack_request_outcome", default=None)

Observe = Callable[[str, str, float], None]  # (kind, outcome, seconds)


def note_outcome(outcome: str) -> None:
    """Mark the request being handled on this thread as refused or failed (no-op outside a request)."""
    marks = _outcome.get()
    if marks is not None:
        marks.append(outcome)


def request_kind(body: dict[str, Any]) -> str:
    if "command" in body:
        return "command"
    kind = body.get("type")
    return kind if isinstance(kind, str) and kind in KINDS else "other"


class MeasuredApp(App):
    """A Bolt App that reports each request it answers: `observe(kind, outcome, seconds)`.

    Timed around `dispatch`, which with `process_before_response=True` returns once the listener has run: the
    time Slack waits for the ack (Bolt's middlewares cannot see it: their `next()` returns before the listener).
    """

    def __init__(self, *, observe: Observe | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._observe = observe

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        if self._observe is None:
            return super().dispatch(req)
        started = time.perf_counter()
        marks: list[str] = []
        token = _outcome.set(marks)
        status = 500
        try:
            response = super().dispatch(req)
            status = response.status
            return response
        finally:
            _outcome.reset(token)
            if ERROR in marks or status >= 500:
                outcome = ERROR
            elif REFUSED in marks:
                outcome = REFUSED
            else:
                outcome = UNHANDLED if status == 404 else OK
            body = req.body if isinstance(req.body, dict) else {}
            self._observe(request_kind(body), outcome, time.perf_counter() - started)
