"""Sinch's wire formats: the three error bodies and the Conversation app resource."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from sinch.sandbox.state import CONVERSATION_STATUS, App
from sinch.sandbox.wsgi import Response, json_response

__all__ = ["api_of", "conversation_error", "default_error", "oauth_error", "papi_error", "render_app"]

# google.rpc status names, which the Conversation API's error.status uses.
_RPC_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_OAUTH_ERROR = {
    400: "invalid_request",
    401: "invalid_client",
    403: "unauthorized_client",
    429: "too_many_requests",
    503: "temporarily_unavailable",
}


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def conversation_error(
    status: int, message: str, *, rpc_status: str | None = None, headers: list[tuple[str, str]] | None = None
) -> Response:
    """`{"error": {"code", "message", "status", "details"}}`."""
    error = {"code": status, "message": message, "status": rpc_status or _RPC_STATUS.get(status, "UNKNOWN")}
    return json_response(status, {"error": {**error, "details": []}}, headers)


def papi_error(
    status: int,
    error_code: str,
    message: str,
    resolution: str | None = None,
    *,
    headers: list[tuple[str, str]] | None = None,
) -> Response:
    """Provisioning API: `{"errorCode", "message", "resolution"}`."""
    body: dict[str, Any] = {"errorCode": error_code, "message": message}
    if resolution:
        body["resolution"] = resolution
    return json_response(status, body, headers)


def oauth_error(status: int, error: str, description: str, *, headers: list[tuple[str, str]] | None = None) -> Response:
    """OAuth2 token endpoint: `{"error", "error_description"}`."""
    return json_response(status, {"error": error, "error_description": description}, headers)


def api_of(path: str) -> str:
    """Which API a path belongs to: oauth, conversation, provisioning, subprojects, or other."""
    prefixes = (("/oauth2/", "oauth"), ("/conversation/", "conversation"), ("/provisioning/", "provisioning"),
                ("/subprojects/", "subprojects"))
    for prefix, api in prefixes:
        if path.startswith(prefix):
            return api
    return "other"


def default_error(path: str, status: int, message: str, headers: list[tuple[str, str]] | None = None) -> Response:
    """An error in the format of the API the path belongs to."""
    api = api_of(path)
    if api == "oauth":
        code = _OAUTH_ERROR.get(status, "server_error" if status >= 500 else "invalid_request")
        return oauth_error(status, code, message, headers=headers)
    if api == "provisioning":
        code = "internal_error" if status == 500 else _phrase(status).lower().replace(" ", "_").replace("-", "_")
        return papi_error(status, code, message, headers=headers)
    return conversation_error(status, message, headers=headers)


def render_app(app: App, *, status: str | None, instagram_status: str | None = None) -> dict[str, Any]:
    """The full app resource; `status` / `instagram_status`: what this read reports (None: not connected)."""
    credentials: list[dict[str, Any]] = []
    if app.messenger is not None and status is not None:
        shown = CONVERSATION_STATUS.get(status, status)
        credentials.append(
            {
                "channel": "MESSENGER",
                "static_token": {"token": app.messenger.static_token},
                "callback_secret": "",
                "credential_ordinal_number": 0,
                "state": {"status": shown, "description": app.messenger.failure_description(status) or ""},
            }
        )
    if app.instagram is not None and instagram_status is not None:
        credentials.append(
            {
                "channel": "INSTAGRAM",
                "instagram_credentials": {"token": app.instagram.token},
                "callback_secret": "",
                "credential_ordinal_number": 0,
                "state": {
                    "status": CONVERSATION_STATUS.get(instagram_status, instagram_status),
                    "description": app.instagram.failure_description(instagram_status) or "",
                },
            }
        )
    return {
        "id": app.app_id,
        "display_name": app.display_name,
        "channel_credentials": credentials,
        "conversation_metadata_report_view": "NONE",
        "rate_limits": {"inbound": 25, "outbound": 25, "webhooks": 25},
        "retention_policy": {"retention_type": "MESSAGE_EXPIRE_POLICY", "ttl_days": 180},
        "dispatch_retention_policy": {"retention_type": "MESSAGE_EXPIRE_POLICY", "ttl_days": 0},
        "processing_mode": "CONVERSATION",
        "smart_conversation": {"enabled": False},
        "queue_stats": {"outbound_size": 0, "outbound_limit": 500000},
        "persist_message_status": {"enabled": False},
        "message_search": {"enabled": False},
        "callback_settings": {"secret_for_overridden_callback_urls": ""},
        "delivery_report_based_fallback": {"enabled": False, "delivery_report_waiting_time": 0},
        "message_retry_settings": {"retry_duration": 3600},
    }
