"""Sinch's Subprojects API (closed beta) as the sandbox speaks it: create, list and get subprojects.

Served under `/subprojects` (Sinch's host is subproject.api.sinch.com). Errors use the Conversation-style
`{"error": {"code", "message", "status", "details"}}` body, as the Subprojects API does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sinch.sandbox.api import authenticate, authorize, json_object
from sinch.sandbox.formats import conversation_error
from sinch.sandbox.routing import Route
from sinch.sandbox.state import Project, SandboxState, SubprojectRefused
from sinch.sandbox.wsgi import Request, Response, json_response

__all__ = ["SUBPROJECT_ROUTES", "render_subproject"]

_MAX_PAGE_SIZE = 1000
_DEFAULT_PAGE_SIZE = 100


def _timestamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def render_subproject(project: Project) -> dict[str, Any]:
    """The Subproject resource."""
    return {
        "subprojectId": project.project_id,
        "displayName": project.name,
        "parentProjectId": project.parent_project_id,
        "labels": dict(project.labels),
        "createTime": _timestamp(project.created_at),
        "updateTime": _timestamp(project.created_at),
        "deleted": False,
    }


def create_subproject(state: SandboxState, request: Request, params: dict[str, str]) -> Response:
    """POST /v1/projects/{parent}/subprojects `{"displayName", "labels"}`."""
    key = authorize(state, request, params["parent"])
    if isinstance(key, Response):
        return key
    body = json_object(request)
    if isinstance(body, Response):
        return body
    name = body.get("displayName")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 255:
        return conversation_error(400, "displayName is required (1 to 255 characters)")
    labels = body.get("labels") or {}
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        return conversation_error(400, "labels must be an object of strings")
    try:
        project = state.create_subproject(params["parent"], name, {str(k): v for k, v in labels.items()})
    except SubprojectRefused as exc:
        if exc.not_found:
            return conversation_error(404, str(exc))
        return conversation_error(400, str(exc), rpc_status="FAILED_PRECONDITION")
    return json_response(200, render_subproject(project))


def list_subprojects(state: SandboxState, request: Request, params: dict[str, str]) -> Response:
    """GET /v1/projects/{parent}/subprojects?pageSize&pageToken: `{"subprojects", "nextPageToken"}`."""
    key = authorize(state, request, params["parent"])
    if isinstance(key, Response):
        return key
    try:
        size = int(request.query.get("pageSize", _DEFAULT_PAGE_SIZE))
        start = int(request.query.get("pageToken") or 0)
    except ValueError:
        return conversation_error(400, "pageSize and pageToken must be numbers")
    if not 1 <= size <= _MAX_PAGE_SIZE or start < 0:
        return conversation_error(400, f"pageSize must be from 1 to {_MAX_PAGE_SIZE}")
    found = state.subprojects_of(params["parent"])
    page = found[start:start + size]
    following = start + size
    return json_response(200, {
        "subprojects": [render_subproject(project) for project in page],
        "nextPageToken": str(following) if following < len(found) else "",
    })


def get_subproject(state: SandboxState, request: Request, params: dict[str, str]) -> Response:
    """GET /v1/subprojects/{subproject}: only a key of the subproject or of its parent may read it."""
    project = state.project(params["subproject"])
    if project is None or project.parent_project_id is None:
        key = authenticate(state, request)
        if isinstance(key, Response):
            return key
        return conversation_error(404, f"Subproject {params['subproject']} not found")
    key = authorize(state, request, project.project_id)
    if isinstance(key, Response):
        return key
    return json_response(200, render_subproject(project))


SUBPROJECT_ROUTES = (
    Route("/subprojects/v1/projects/{parent}/subprojects", {"GET": list_subprojects, "POST": create_subproject}),
    Route("/subprojects/v1/subprojects/{subproject}", {"GET": get_subproject}),
)
