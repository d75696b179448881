"""Minimal WSGI request/response plumbing for the sandbox (no framework needed)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

__all__ = ["BadRequestBody", "Request", "Response", "StartResponse", "WSGIEnviron", "json_response"]

WSGIEnviron = dict[str, Any]
StartResponse = Callable[..., Any]


class BadRequestBody(ValueError):
    """The request body is not the JSON or form data the route expects."""


@dataclass(frozen=True)
class Request:
    """One parsed request: method, decoded path, lower-case headers, body."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    query: dict[str, str] = field(default_factory=dict)  # first value of each query parameter

    @classmethod
    def from_environ(cls, environ: WSGIEnviron) -> Request:
        """Read the request out of a WSGI environ."""
        headers = {
            key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        return cls(
            method=environ.get("REQUEST_METHOD", "GET").upper(),
            path=_decode_path(environ.get("PATH_INFO", "")) or "/",
            headers=headers,
            body=body,
            query={name: values[0] for name, values in parse_qs(environ.get("QUERY_STRING", "")).items()},
        )

    def json(self) -> Any:
        """The body as JSON; an empty body counts as {}."""
        if not self.body.strip():
            return {}
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequestBody(f"request body is not valid JSON: {exc}") from exc

    def form(self) -> dict[str, str]:
        """The body as application/x-www-form-urlencoded fields (first value of each)."""
        try:
            fields = parse_qs(self.body.decode(), keep_blank_values=True)
        except UnicodeDecodeError as exc:
            raise BadRequestBody("request body is not valid form data") from exc
        return {name: values[0] for name, values in fields.items()}


def _decode_path(raw: str) -> str:
    # PEP 3333 hands servers' raw bytes over as latin-1; httpx's WSGITransport passes real text.
    try:
        return raw.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return raw


@dataclass(frozen=True)
class Response:
    """A complete response; the sandbox never streams."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    def start(self, start_response: StartResponse) -> Iterable[bytes]:
        """Send it through WSGI."""
        try:
            phrase = HTTPStatus(self.status).phrase
        except ValueError:
            phrase = "Unknown"
        headers = [*self.headers, ("Content-Length", str(len(self.body)))]
        start_response(f"{self.status} {phrase}", headers)
        return [self.body]


def json_response(status: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> Response:
    """A JSON response with extra headers."""
    return Response(
        status=status,
        body=json.dumps(payload).encode(),
        headers=[("Content-Type", "application/json"), *(headers or [])],
    )
