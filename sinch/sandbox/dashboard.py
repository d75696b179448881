"""Control routes under /_sandbox: the dashboard stand-in (projects, Page connects) and fault injection."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from sinch.sandbox.routing import Route
from sinch.sandbox.state import App, SandboxState, SubprojectRefused
from sinch.sandbox.wsgi import BadRequestBody, Request, Response, json_response

__all__ = ["CONTROL_ROUTES", "OUTCOMES", "ControlError"]

OUTCOMES = ("ACTIVE", "FAILING", "ERROR")
_FAULT_FIELDS = {"method", "path_regex", "count", "status", "retry_after", "latency_ms", "body", "drop"}
_MAX_LATENCY_MS = 60_000


class ControlError(ValueError):
    """Invalid input to a control route; becomes a 400 (or the given status) with a JSON error."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def error_response(exc: ControlError) -> Response:
    """The JSON error for invalid control input."""
    return json_response(exc.status, {"error": str(exc)})


def _body(request: Request, allowed: set[str]) -> dict[str, Any]:
    try:
        body = request.json()
    except BadRequestBody as exc:
        raise ControlError(str(exc)) from exc
    if not isinstance(body, dict):
        raise ControlError("request body must be a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ControlError(f"unknown field(s): {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    return body


def _text(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ControlError(f"'{name}' must be a non-empty string")
    return value


def _optional_text(body: Mapping[str, Any], name: str) -> str | None:
    return None if body.get(name) is None else _text(body, name)


def _number(body: Mapping[str, Any], name: str, *, minimum: float, maximum: float = math.inf) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not minimum <= value <= maximum:
        raise ControlError(f"'{name}' must be a number from {minimum:g} to {maximum:g}")
    return float(value)


def create_project(state: SandboxState, request: Request, params: dict[str, str]) -> Response:
    """POST /_sandbox/projects {"name"}: a project and one access key (shown once, as in the dashboard)."""
    name = _text(_body(request, {"name"}), "name")
    project, key = state.create_project(name)
    return json_response(201, {"project_id": project.project_id, "key_id": key.key_id, "key_secret": key.secret})


def create_subproject(state: SandboxState, request: Request, params: dict[str, str]) -> Response:
    """POST /_sandbox/projects/{project}/subprojects {"name"}: a subproject and an access key of its own."""
    name = _text(_body(request, {"name"}), "name")
    try:
        project = state.create_subproject(params["project"], name)
    except SubprojectRefused as exc:
        raise ControlError(str(exc), status=404 if exc.not_found else 400) from exc
    key = state.add_key(project.project_id)
    return json_response(201, {"project_id": project.project_id, "parent_project_id": project.parent_project_id,
                               "key_id": key.key_id, "key_secret": key.secret})


def create_key(state: SandboxState, request: Request, params: dict[str, str]) -> Response:
    """POST /_sandbox/projects/{project}/keys: one more access key of a project (shown once)."""
    _body(request, set())
    if not state.has_project(params["project"]):
        raise ControlError(f"no project {params['project']}", status=404)
    key = state.add_key(params["project"])
    return json_response(201, {"project_id": params["project"], "key_id": key.key_id, "key_secret": key.secret})


def connect_messenger(state: SandboxState, request: Request, params: dict[str, str]) -> Response:
    """POST .../apps/{app}/messenger: the customer connects a Page (PENDING first, then the outcome)."""
    body = _body(request, {"page_id", "page_name", "outcome", "description", "delay_seconds"})
    page_id, page_name = _text(body, "page_id"), _text(body, "page_name")
    app, outcome, description, delay = _connection(state, body, params)
    connection = state.connect_messenger(
        app, page_id=page_id, page_name=page_name, outcome=outcome, description=description, delay=delay
    )
    return _connected(app, outcome, connection.connected_at + connection.delay)


def connect_instagram(state: SandboxState, request: Request, params: dict[str, str]) -> Response:
    """POST .../apps/{app}/instagram: the customer connects an Instagram account (PENDING first, then the outcome)."""
    body = _body(request, {"instagram_id", "username", "outcome", "description", "delay_seconds"})
    instagram_id, username = _text(body, "instagram_id"), _text(body, "username")
    app, outcome, description, delay = _connection(state, body, params)
    connection = state.connect_instagram(
        app, instagram_id=instagram_id, username=username, outcome=outcome, description=description, delay=delay
    )
    return _connected(app, outcome, connection.connected_at + connection.delay)


def _connection(state: SandboxState, body: dict[str, Any], params: dict[str, str],
                ) -> tuple[App, str, str | None, float]:
    """What both channels' connect routes take: the app, the outcome, its description and delay."""
    outcome = body.get("outcome", "ACTIVE")
    if outcome not in OUTCOMES:
        raise ControlError(f"'outcome' must be one of {', '.join(OUTCOMES)}")
    description = _optional_text(body, "description")
    delay = _number(body, "delay_seconds", minimum=0) or 0.0
    if not state.has_project(params["project"]):
        raise ControlError(f"no project {params['project']}", status=404)
    app = state.app_anywhere(params["project"], params["app"])
    if app is None:
        raise ControlError(f"no app {params['app']} in project {params['project']}", status=404)
    return app, outcome, description, delay


def _connected(app: App, outcome: str, applies_at: float) -> Response:
    """The 202 a connect answers: PENDING now, the outcome from `applies_at` (after a first read)."""
    return json_response(
        202,
        {
            "app_id": app.app_id,
            "region": app.region.value,
            "status": "PENDING",
            "outcome": outcome,
            "applies_at": applies_at,
        },
    )


def add_fault(state: SandboxState, request: Request, params: dict[str, str]) -> Response:
    """POST /_sandbox/faults: shape the next `count` matching API requests (-1: every one)."""
    body = _body(request, _FAULT_FIELDS)
    pattern = _text(body, "path_regex")
    try:
        path_regex = re.compile(pattern)
    except re.error as exc:
        raise ControlError(f"'path_regex' does not compile: {exc}") from exc
    count = body.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or (count < 1 and count != -1):
        raise ControlError("'count' must be a positive integer, or -1 for every request")
    method = _optional_text(body, "method")
    status = body.get("status")
    if status is not None and (isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599):
        raise ControlError("'status' must be an integer from 200 to 599")
    retry_after = body.get("retry_after")
    if retry_after is not None:
        retry_after = _retry_after(retry_after)
    drop = body.get("drop", False)
    if not isinstance(drop, bool):
        raise ControlError("'drop' must be true or false")
    has_body = "body" in body
    if drop and (status is not None or has_body):
        raise ControlError("a dropped connection has no status or body")
    latency_ms = _number(body, "latency_ms", minimum=0, maximum=_MAX_LATENCY_MS)
    if not (drop or has_body or status is not None or latency_ms):
        raise ControlError("a fault needs at least one of status, body, drop or latency_ms")
    fault = state.add_fault(
        path_regex=path_regex,
        remaining=count,
        method=method.upper() if method else None,
        status=status if status is not None else (200 if has_body else None),
        retry_after=retry_after,
        latency_ms=latency_ms or 0.0,
        body=body.get("body"),
        has_body=has_body,
        drop=drop,
    )
    return json_response(201, fault.describe())


def _retry_after(value: Any) -> str:
    """The Retry-After header value: seconds, or a string sent verbatim (e.g. an HTTP date)."""
    if isinstance(value, str) and value.strip():
        if not (value.isascii() and value.isprintable()):
            raise ControlError("'retry_after' must be printable ASCII (it becomes a header)")
        return value.strip()
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ControlError("'retry_after' must be a number of seconds >= 0, or a string")
    return str(int(value)) if float(value).is_integer() else str(value)


def clear_faults(state: SandboxState, request: Request, params: dict[str, str]) -> Response:
    """DELETE /_sandbox/faults: remove every fault, including global latency."""
    state.clear_faults()
    return json_response(200, {"faults": []})


def reset(state: SandboxState, request: Request, params: dict[str, str]) -> Response:
    """POST /_sandbox/reset: forget everything."""
    state.reset()
    return json_response(200, {"reset": True})


def show_state(state: SandboxState, request: Request, params: dict[str, str]) -> Response:
    """GET /_sandbox/state: projects, apps per region, request counts per route, pending faults."""
    return json_response(200, state.snapshot())


CONTROL_ROUTES = (
    Route("/_sandbox/projects", {"POST": create_project}),
    Route("/_sandbox/projects/{project}/subprojects", {"POST": create_subproject}),
    Route("/_sandbox/projects/{project}/keys", {"POST": create_key}),
    Route("/_sandbox/projects/{project}/apps/{app}/messenger", {"POST": connect_messenger}),
    Route("/_sandbox/projects/{project}/apps/{app}/instagram", {"POST": connect_instagram}),
    Route("/_sandbox/faults", {"POST": add_fault, "DELETE": clear_faults}),
    Route("/_sandbox/reset", {"POST": reset}),
    Route("/_sandbox/state", {"GET": show_state}),
)
