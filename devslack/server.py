"""The fake Slack over HTTP: a WSGI app (Web API + /_fake control routes) and a waitress runner."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

import waitress
from waitress import wasyncore

from devslack.api import call_api, handle_response_post
from devslack.models import ApiResult, Fault, JsonDict
from devslack.socket_mode import SocketModeServer
from devslack.state import FakeSlackState

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
RESPONSE_PREFIX = "/_fake/response/"


def _read_body(environ: WSGIEnvironment) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return environ["wsgi.input"].read(length) if length > 0 else b""


def parse_params(environ: WSGIEnvironment, raw: bytes) -> JsonDict:
    """Query string and body (JSON or form) merged into one dict, body winning."""
    params: JsonDict = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    content_type = str(environ.get("CONTENT_TYPE", "")).lower()
    if not raw:
        return params
    if "json" in content_type:
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError("JSON body must be an object")
        params.update(data)
    elif "x-www-form-urlencoded" in content_type or not content_type:
        params.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    else:
        # Multipart is only used for file uploads, which the fake does not implement.
        raise ValueError(f"unsupported content type {content_type!r}")
    return params


def _bearer(environ: WSGIEnvironment, params: JsonDict) -> str | None:
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    token = params.get("token")
    return str(token) if token else None


class FakeSlackApp:
    """WSGI application serving the Web API under /api/ and control routes under /_fake/."""

    def __init__(self, state: FakeSlackState) -> None:
        self.state = state

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Route one request; every answer is JSON."""
        try:
            result = self._route(environ)
        except (ValueError, UnicodeDecodeError) as exc:
            result = ApiResult({"ok": False, "error": "invalid_request", "detail": str(exc)}, 400)
        except Exception:
            logger.exception("fake Slack failed on %s", environ.get("PATH_INFO"))
            result = ApiResult({"ok": False, "error": "fatal_error"}, 500)
        payload = json.dumps(result.body).encode("utf-8")
        headers = [
            ("Content-Type", "application/json; charset=utf-8"),
            ("Content-Length", str(len(payload))),
            ("X-OAuth-Scopes", ",".join(self.state.scopes)),
            *result.headers.items(),
        ]
        status = HTTPStatus(result.status)
        start_response(f"{status.value} {status.phrase}", headers)
        return [payload]

    def _route(self, environ: WSGIEnvironment) -> ApiResult:
        path = str(environ.get("PATH_INFO", ""))
        verb = str(environ.get("REQUEST_METHOD", "GET")).upper()
        raw = _read_body(environ)
        if path.startswith(API_PREFIX):
            params = parse_params(environ, raw)
            return call_api(self.state, path[len(API_PREFIX) :], params, token=_bearer(environ, params))
        if path.startswith(RESPONSE_PREFIX) and verb == "POST":
            body = json.loads(raw.decode("utf-8")) if raw else {}
            return handle_response_post(self.state, path[len(RESPONSE_PREFIX) :], body)
        if path == "/_fake/state" and verb == "GET":
            return ApiResult({"ok": True, **self.state.dump()})
        if path == "/_fake/faults" and verb == "POST":
            fault = _fault_from(json.loads(raw.decode("utf-8") or "{}"))
            self.state.add_fault(
                fault.method,
                status=fault.status,
                retry_after=fault.retry_after,
                error=fault.error,
                count=fault.count,
                latency_ms=fault.latency_ms,
            )
            return ApiResult({"ok": True})
        if path == "/_fake/config" and verb == "POST":
            self._configure(json.loads(raw.decode("utf-8") or "{}"))
            return ApiResult({"ok": True})
        if path == "/_fake/socket_mode" and verb == "POST":
            return self._socket_mode_control(json.loads(raw.decode("utf-8") or "{}"))
        if path == "/_fake/reset" and verb == "POST":
            self.state.reset()
            return ApiResult({"ok": True})
        return ApiResult({"ok": False, "error": "not_found", "path": path}, 404)

    def _socket_mode_control(self, body: Any) -> ApiResult:
        """Apply one of the Socket Mode stand-in's faults to every open connection (for other processes' tests)."""
        hub = self.state.socket_mode
        if hub is None:
            return ApiResult({"ok": False, "error": "socket_mode_not_running"}, 409)
        action = str(body.get("action", "")) if isinstance(body, dict) else ""
        if action == "refuse":
            hub.refuse_connections(float(body.get("seconds", 5)))
        elif action in ("close", "disconnect", "drop"):
            for conn in hub.open_connections():
                if action == "close":
                    hub.close(conn)
                elif action == "disconnect":
                    hub.send_disconnect(conn, str(body.get("reason", "refresh_requested")))
                else:
                    hub.drop(conn)
        elif action != "state":
            raise ValueError("action must be close, disconnect, drop, refuse or state")
        return ApiResult({"ok": True, **hub.summary()})

    def _configure(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise ValueError("config body must be a JSON object")
        if "latency_ms" in body:
            self.state.latency_ms = int(body["latency_ms"])
        if "post_rate_limit" in body:
            limit = body["post_rate_limit"]
            if limit is None:
                self.state.disable_post_rate_limit()
            else:
                self.state.enable_post_rate_limit(
                    float(limit.get("per_channel_per_second", 1.0)), int(limit.get("burst", 3))
                )


def _fault_from(body: Any) -> Fault:
    if not isinstance(body, dict) or not body.get("method"):
        raise ValueError("fault needs at least a method")
    retry_after = body.get("retry_after", 1)
    return Fault(
        method=str(body["method"]),
        status=int(body.get("status", 429)),
        retry_after=None if retry_after is None else int(retry_after),
        error=str(body.get("error", "ratelimited")),
        count=int(body.get("count", 1)),
        latency_ms=int(body.get("latency_ms", 0)),
    )


class BackgroundServer:
    """Any WSGI app served by waitress (threaded) in a daemon thread on loopback; `stop()` shuts it down."""

    def __init__(
        self, app: WSGIApplication, *, host: str = "127.0.0.1", port: int = 0, threads: int = 8, name: str = "wsgi"
    ) -> None:
        self._server: Any = waitress.create_server(app, host=host, port=port, threads=threads, ident=name)
        self.host = host
        self.port = int(self._server.effective_port)
        self.base_url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._server.run, name=f"{name}-{self.port}", daemon=True)
        self._thread.start()
        self._stopped = False

    def stop(self) -> None:
        """Finish in-flight requests, close every socket and join the serving thread."""
        if self._stopped:
            return
        self._stopped = True
        # Workers first, while the loop still runs to flush their responses.
        self._server.task_dispatcher.shutdown(timeout=5)
        # Sockets must be closed from the loop's own thread; the trigger runs the thunk there.
        server_map = self._server._map
        self._server.trigger.pull_trigger(lambda: wasyncore.close_all(server_map))
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class RunningFakeSlack(BackgroundServer):
    """A fake Slack served on loopback; `url` is the WebClient base_url (ending in /api/).

    With `socket_mode`, a Socket Mode endpoint runs beside it and `apps.connections.open` hands out its URLs.
    """

    def __init__(self, state: FakeSlackState, *, host: str, port: int, threads: int, socket_mode: bool = False) -> None:
        self.socket_mode: SocketModeServer | None = None
        if socket_mode:
            self.socket_mode = SocketModeServer(host=host, app_id=state.app_id)
            state.socket_mode = self.socket_mode
        super().__init__(FakeSlackApp(state), host=host, port=port, threads=threads, name="fake-slack")
        self.state = state
        self.url = f"{self.base_url}{API_PREFIX}"

    def stop(self) -> None:
        """Stop the Web API server and, if it runs, the Socket Mode endpoint."""
        super().stop()
        if self.socket_mode is not None:
            self.socket_mode.stop()
            self.state.socket_mode = None
            self.socket_mode = None

    def response_url(self, token: str) -> str:
        """The loopback response_url for `token`."""
        return f"{self.base_url}{RESPONSE_PREFIX}{token}"


def start_fake_slack(
    *,
    state: FakeSlackState | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    threads: int = 8,
    socket_mode: bool = False,
) -> RunningFakeSlack:
    """Serve a fake Slack (new state unless given) in a daemon thread; port 0 picks a free port."""
    return RunningFakeSlack(state or FakeSlackState(), host=host, port=port, threads=threads, socket_mode=socket_mode)
