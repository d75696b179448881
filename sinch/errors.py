"""Errors raised by the Sinch client.

Every message (``str(exc)``) is safe to show a Slack user: it names what went wrong and carries
Sinch's own error code and message, and never a key secret or an access token.

Exception tree::

    * SinchError
      + SinchTransportError       - no HTTP response: connect/read failure, timeout, dropped connection
      + SinchInvalidResponse      - a response that is not JSON or not the documented shape
      + SinchAPIError             - Sinch answered with an error status
        - SinchBadRequest         - 400, any other 4xx not listed below, an unexpected 3xx
        - SinchAuthError          - 401: unknown key, wrong secret, expired or revoked token
        - SinchForbidden          - 403: the key is not associated with the project, or billing block
        - SinchNotFound           - 404: unknown project/app, or the app lives in another region
        - SinchRateLimited        - 429 (``retry_after`` seconds when Sinch sent Retry-After)
        - SinchServerError        - 5xx
        - SinchSubprojectsUnavailable - 403/404 from the Subprojects API: the account is not in its closed beta
"""

from __future__ import annotations

import json
import math
from http import HTTPStatus

import httpx

__all__ = [
    "SinchAPIError",
    "SinchAuthError",
    "SinchBadRequest",
    "SinchError",
    "SinchForbidden",
    "SinchInvalidResponse",
    "SinchNotFound",
    "SinchRateLimited",
    "SinchServerError",
    "SinchSubprojectsUnavailable",
    "SinchTransportError",
    "parse_retry_after",
    "raise_for_response",
    "transport_error",
]

# Sinch's messages are developer-facing prose; cap them so a proxy's HTML error page cannot flood Slack.
_MAX_DETAIL = 300


class SinchError(Exception):
    """Root of every error raised by the `sinch` package."""


class SinchTransportError(SinchError):
    """Sinch could not be reached or the connection broke before a response (wraps httpx.TransportError)."""


class SinchInvalidResponse(SinchError):
    """Sinch answered, but the body is not JSON or not the documented shape."""


class SinchAPIError(SinchError):
    """Sinch answered with an error status; keeps Sinch's own error code and message.

    `status` is the HTTP status, `code` Sinch's machine-readable code (Conversation `error.status`,
    Provisioning `errorCode`, OAuth `error`, or the HTTP reason when the body had none),
    `sinch_status` the Conversation API `error.status`, `resolution` the Provisioning API hint and
    `detail` Sinch's own message.
    """

    summary = "Sinch returned an error"

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str,
        sinch_status: str | None = None,
        resolution: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.sinch_status = sinch_status
        self.resolution = resolution
        self.detail = detail

    def describe(self, lead: str) -> str:
        """`lead` followed by Sinch's status, code, message and resolution, e.g. for a restated error."""
        return _describe(lead, self.status, self.code, self.detail, self.resolution)


class SinchBadRequest(SinchAPIError):
    """400, or another 4xx (or 3xx) without a dedicated class: the request itself was rejected."""

    summary = "Sinch rejected the request"


class SinchAuthError(SinchAPIError):
    """401: the access key or token was not accepted."""

    summary = "Sinch rejected the access key"


class SinchForbidden(SinchAPIError):
    """403: valid key, but not allowed here (usually a key from another project)."""

    summary = "Sinch refused this key access to the project"


class SinchNotFound(SinchAPIError):
    """404: unknown project or app, or an app created in another region."""

    summary = "Sinch could not find it (wrong id or wrong region?)"


class SinchRateLimited(SinchAPIError):
    """429: too many requests; `retry_after` is Sinch's Retry-After in seconds, if it sent one."""

    summary = "Sinch is rate limiting us"

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str,
        sinch_status: str | None = None,
        resolution: str | None = None,
        detail: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message, status=status, code=code, sinch_status=sinch_status, resolution=resolution, detail=detail
        )
        self.retry_after = retry_after


class SinchServerError(SinchAPIError):
    """5xx: a failure on Sinch's side."""

    summary = "Sinch had a server error"


class SinchSubprojectsUnavailable(SinchAPIError):
    """403 or 404 from the Subprojects API: it is in closed beta, and this account (or key) does not have it."""

    summary = "The Sinch Subprojects API is unavailable to this account"


def _describe(lead: str, status: int, code: str, detail: str | None, resolution: str | None) -> str:
    """E.g. "Sinch rejected the access key (401 UNAUTHENTICATED): Invalid credentials"."""
    text = f"{lead} ({status} {code})"
    if detail:
        text += f": {detail}"
    if resolution:
        text += f" ({resolution})"
    return text


def _error_class(status: int) -> type[SinchAPIError]:
    """The exception class for an HTTP error status."""
    if status >= 500:
        return SinchServerError
    return {
        401: SinchAuthError,
        403: SinchForbidden,
        404: SinchNotFound,
        429: SinchRateLimited,
    }.get(status, SinchBadRequest)


def _clean(text: object) -> str | None:
    """Sinch's text as one short line, or None when absent."""
    if not isinstance(text, str) or not text.strip():
        return None
    line = " ".join(text.split())
    return line if len(line) <= _MAX_DETAIL else line[: _MAX_DETAIL - 1] + "…"


def _reason(status: int) -> str:
    """The HTTP reason as an upper-case code, e.g. SERVICE_UNAVAILABLE."""
    try:
        return HTTPStatus(status).name
    except ValueError:
        return f"HTTP_{status}"


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds; None when absent or an HTTP date (Sinch documents neither form)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _parse_body(content: bytes) -> tuple[str | None, str | None, str | None, str | None]:
    """(code, message, sinch_status, resolution) from any of Sinch's three error formats."""
    try:
        body = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None, None, None, None
    if not isinstance(body, dict):
        return None, None, None, None
    error = body.get("error")
    if isinstance(error, dict):  # Conversation API: {"error": {"code", "message", "status", "details"}}
        status = _clean(error.get("status"))
        return status, _clean(error.get("message")), status, None
    if isinstance(error, str):  # OAuth token endpoint: {"error": "invalid_client", "error_description"}
        return _clean(error), _clean(body.get("error_description")), None, None
    if "errorCode" in body:  # Provisioning API: {"errorCode", "message", "resolution"}
        return (
            _clean(body.get("errorCode")),
            _clean(body.get("message")),
            None,
            _clean(body.get("resolution")),
        )
    return None, _clean(body.get("message")), None, None


def raise_for_response(response: httpx.Response) -> None:
    """Raise the matching SinchAPIError for a non-2xx response; do nothing for 2xx."""
    if response.is_success:
        return
    status = response.status_code
    code, detail, sinch_status, resolution = _parse_body(response.content)
    code = code or _reason(status)
    cls = _error_class(status)
    message = _describe(cls.summary, status, code, detail, resolution)
    if cls is SinchRateLimited:
        raise SinchRateLimited(
            message,
            status=status,
            code=code,
            sinch_status=sinch_status,
            resolution=resolution,
            detail=detail,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    raise cls(message, status=status, code=code, sinch_status=sinch_status, resolution=resolution, detail=detail)


def transport_error(exc: httpx.TransportError) -> SinchTransportError:
    """A SinchTransportError naming the host and the failure (URLs never carry secrets here)."""
    try:
        where = f" at {exc.request.url.host}"
    except RuntimeError:  # raised by httpx when the exception has no request attached
        where = ""
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "connection failed"
    reason = _clean(str(exc)) or type(exc).__name__
    return SinchTransportError(f"Could not reach Sinch{where}: {kind} ({type(exc).__name__}: {reason})")
