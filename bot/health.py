"""Liveness (/healthz), readiness (/readyz) and /metrics: what an orchestrator and Prometheus ask.

/healthz says only that the process serves requests. /readyz runs each check and answers 200 when all
pass, 503 otherwise, with a JSON body naming each check. Nothing secret goes in: no URLs, tokens or errors'
messages (which can carry a DSN), only check names, pass/fail and a short reason.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.metrics import CONTENT_TYPE, Metrics
from store.db import current_revision, head_revision, session_scope
from store.stats import database_reachable, outbox_oldest_undelivered

__all__ = ["Check", "Readiness", "health_response"]

logger = logging.getLogger(__name__)

HEALTH_PATHS = ("/healthz", "/readyz", "/metrics")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


class Readiness:
    """The checks behind /readyz."""

    def __init__(self, *, engine: Engine, clock: Callable[[], datetime], outbox_max_age: timedelta,
                 scheduler_running: Callable[[], bool],
                 socket_mode_connected: Callable[[], bool] | None = None,
                 slack: Callable[[], tuple[bool, str]] | None = None) -> None:
        self._engine = engine
        self._clock = clock
        self._outbox_max_age = outbox_max_age
        self._scheduler_running = scheduler_running
        self._socket_mode_connected = socket_mode_connected
        self._slack = slack
        self._head = head_revision()

    def checks(self) -> list[Check]:
        results = self._database_checks()
        results.append(Check("scheduler", self._scheduler_running(),
                             "running" if self._scheduler_running() else "not running"))
        if self._socket_mode_connected is not None:
            connected = self._socket_mode_connected()
            results.append(Check("socket_mode", connected, "connected" if connected else "not connected"))
        if self._slack is not None:
            ok, detail = self._slack()
            results.append(Check("slack", ok, detail))
        return results

    def _database_checks(self) -> list[Check]:
        try:
            database_reachable(self._engine)
        except SQLAlchemyError as exc:
            reason = f"unreachable ({type(exc).__name__})"
            return [Check("database", False, reason), Check("migrations", False, "database unreachable"),
                    Check("outbox", False, "database unreachable")]
        results = [Check("database", True, "reachable")]
        try:
            revision = current_revision(self._engine)
            results.append(Check("migrations", revision == self._head,
                                 "current" if revision == self._head else f"at {revision}, code expects {self._head}"))
            with session_scope(self._engine) as session:
                oldest = outbox_oldest_undelivered(session=session)
        except SQLAlchemyError as exc:
            results.append(Check("outbox", False, f"unreadable ({type(exc).__name__})"))
            return results
        if oldest is None:
            results.append(Check("outbox", True, "empty"))
        else:
            age = self._clock() - oldest
            results.append(Check("outbox", age <= self._outbox_max_age,
                                 f"oldest undelivered message is {int(age.total_seconds())}s old"))
        return results


def health_response(path: str, *, readiness: Readiness | None, metrics: Metrics | None
                    ) -> tuple[str, str, bytes] | None:
    """(status, content type, body) for a health route, or None when `path` is not one."""
    if path == "/healthz":
        return "200 OK", "text/plain; charset=utf-8", b"ok"
    if path == "/readyz" and readiness is not None:
        checks = readiness.checks()
        ready = all(check.ok for check in checks)
        body = {"ready": ready, "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in checks}}
        return ("200 OK" if ready else "503 Service Unavailable", "application/json",
                json.dumps(body).encode())
    if path == "/metrics" and metrics is not None:
        return "200 OK", CONTENT_TYPE, metrics.render()
    return None


def health_wsgi_app(readiness: Readiness | None, metrics: Metrics | None
                    ) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """A WSGI app serving only the health routes (Socket Mode's HEALTH_PORT)."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        answer = None
        if environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            answer = health_response(environ.get("PATH_INFO", ""), readiness=readiness, metrics=metrics)
        status, content_type, body = answer or ("404 Not Found", "text/plain; charset=utf-8", b"not found")
        start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [body]

    return application
