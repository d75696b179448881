"""`SandboxApp`: one WSGI application serving Sinch's APIs and the /_sandbox control routes."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable

import httpx

from sinch.sandbox.api import API_ROUTES
from sinch.sandbox.dashboard import CONTROL_ROUTES, ControlError, error_response
from sinch.sandbox.formats import default_error
from sinch.sandbox.routing import match
from sinch.sandbox.state import Fault, SandboxState
from sinch.sandbox.subprojects_api import SUBPROJECT_ROUTES
from sinch.sandbox.wsgi import Request, Response, StartResponse, WSGIEnviron, json_response

__all__ = ["UNMATCHED", "ConnectionDropped", "SandboxApp", "make_app"]

logger = logging.getLogger(__name__)

UNMATCHED = "unmatched"  # request-count key for paths no route knows


class ConnectionDropped(httpx.RemoteProtocolError):
    """Raised by the app for a `drop` fault.

    In-process (httpx.WSGITransport) it reaches the client as the transport error a real dropped
    connection produces; `serve`/`start_in_thread` turn it into a socket closed without a response.
    """

    def __init__(self) -> None:
        super().__init__("Server disconnected without sending a response.")


class SandboxApp:
    """The sandbox as a WSGI callable; `.state` is thread-safe and can be inspected by tests."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        token_ttl: int = 3600,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.state = SandboxState(clock=clock, token_ttl=token_ttl)
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"<SandboxApp token_ttl={self.state.token_ttl}>"

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        return self.handle(Request.from_environ(environ)).start(start_response)

    def handle(self, request: Request) -> Response:
        """The response to one request (raises ConnectionDropped for a `drop` fault)."""
        if request.path == "/_sandbox" or request.path.startswith("/_sandbox/"):
            return self._control(request)
        return self._api(request)

    def _control(self, request: Request) -> Response:
        found = match(CONTROL_ROUTES, request.method, request.path)
        if found is None:
            return json_response(404, {"error": f"no control route {request.path}", "routes": _listing()})
        if found.handler is None:
            return _not_allowed(found.allowed, json_response(405, {"error": f"use {', '.join(found.allowed)}"}))
        try:
            return found.handler(self.state, request, found.params)
        except ControlError as exc:
            return error_response(exc)

    def _api(self, request: Request) -> Response:
        found = match(API_ROUTES + SUBPROJECT_ROUTES, request.method, request.path)
        faults = self.state.record_request(UNMATCHED if found is None else found.key, request.method, request.path)
        latency_ms = sum(fault.latency_ms for fault in faults)
        if latency_ms:
            # Outside the state lock, so a slow request never holds up the others.
            self._sleep(latency_ms / 1000)
        responding = next((fault for fault in faults if fault.responds), None)
        if responding is not None:
            return _fault_response(responding, request)
        if found is None:
            return default_error(request.path, 404, f"No such endpoint: {request.method} {request.path}")
        if found.handler is None:
            error = default_error(request.path, 405, f"Method {request.method} is not allowed here")
            return _not_allowed(found.allowed, error)
        return found.handler(self.state, request, found.params)


def _fault_response(fault: Fault, request: Request) -> Response:
    if fault.drop:
        logger.info("sandbox dropping %s %s (fault %d)", request.method, request.path, fault.fault_id)
        raise ConnectionDropped()
    status = fault.status or 200
    headers = [] if fault.retry_after is None else [("Retry-After", fault.retry_after)]
    if not fault.has_body:
        return default_error(request.path, status, "Fault injected by the Sinch sandbox", headers)
    # A string body goes out verbatim, so a test can send malformed JSON.
    body = fault.body.encode() if isinstance(fault.body, str) else json.dumps(fault.body).encode()
    return Response(status=status, body=body, headers=[("Content-Type", "application/json"), *headers])


def _not_allowed(allowed: tuple[str, ...], response: Response) -> Response:
    return Response(
        status=response.status, body=response.body, headers=[*response.headers, ("Allow", ", ".join(allowed))]
    )


def _listing() -> list[str]:
    return [f"{method} {route.template}" for route in CONTROL_ROUTES for method in sorted(route.handlers)]


def make_app(
    *,
    clock: Callable[[], float] = time.time,
    token_ttl: int = 3600,
    sleep: Callable[[float], None] = time.sleep,
) -> SandboxApp:
    """A fresh sandbox; inject `clock` to expire tokens and apply Page outcomes without waiting."""
    return SandboxApp(clock=clock, token_ttl=token_ttl, sleep=sleep)
