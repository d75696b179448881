"""The single request path shared by every Sinch API surface: token, retries, errors, logging."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from sinch.auth import TokenCache
from sinch.errors import SinchInvalidResponse, raise_for_response, transport_error
from sinch.models import AccessToken, SinchCredentials, SinchEndpoints
from sinch.retry import should_retry, wait_seconds

__all__ = ["ApiSession"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


# Told of every HTTP call: method, path, status (None: no answer) and seconds taken; for metrics.
CallObserver = Callable[[str, str, "int | None", float], None]


class ApiSession:
    """Sends authenticated requests over one shared httpx.Client.

    Idempotent calls (GET, the token POST) are retried per `sinch.retry`; a create or delete goes
    out once, because a blind resend after a timeout could create a second app. Never logs headers.
    """

    def __init__(
        self,
        http: httpx.Client,
        *,
        endpoints: SinchEndpoints,
        max_attempts: int,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        observer: CallObserver | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.http = http
        self.endpoints = endpoints
        self._max_attempts = max_attempts
        self._sleep = sleep
        self._clock = clock
        self._observer = observer
        self.tokens = TokenCache(self._request_token, clock=clock)

    def fetch_token(self, creds: SinchCredentials) -> str:
        """A valid access token for the key (cached; the token request is retried)."""
        return self._retrying(lambda: self.tokens.get(creds))

    def get_json(self, creds: SinchCredentials, url: str) -> object:
        """GET with retries; the parsed JSON body."""
        return _json(self._retrying(lambda: self._authorized(creds, "GET", url)))

    def post_json(self, creds: SinchCredentials, url: str, body: dict[str, Any]) -> object:
        """POST once (not idempotent); the parsed JSON body."""
        # Getting the token is idempotent, so it may be retried even though the POST itself is not.
        self.fetch_token(creds)
        return _json(self._authorized(creds, "POST", url, body))

    def delete(self, creds: SinchCredentials, url: str) -> None:
        """DELETE once; a lost response is left to the caller, who can GET to see where things stand."""
        self.fetch_token(creds)
        self._authorized(creds, "DELETE", url)

    def _retrying(self, call: Callable[[], T]) -> T:
        attempt = 1
        while True:
            try:
                return call()
            except Exception as exc:
                if attempt >= self._max_attempts or not should_retry(exc):
                    raise
                delay = wait_seconds(attempt, exc)
                logger.info(
                    "retrying Sinch call in %.2f s (attempt %d of %d failed: %s)",
                    delay,
                    attempt,
                    self._max_attempts,
                    exc,
                )
                self._sleep(delay)
                attempt += 1

    def _authorized(
        self, creds: SinchCredentials, method: str, url: str, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        token = self.tokens.get(creds)
        response = self._send(method, url, headers={"Authorization": f"Bearer {token}"}, json=body)
        if response.status_code == 401:
            # The token expired early (clock skew) or was revoked: like Sinch's own SDK, refresh it
            # once and resend once. A 401 tells us the request was not processed, so a POST may resend.
            reason = "expired" if "expired" in response.headers.get("WWW-Authenticate", "") else "rejected"
            logger.info("Sinch %s the access token for key %s; refreshing once", reason, creds.key_id)
            token = self.tokens.refresh(creds, stale=token)
            response = self._send(method, url, headers={"Authorization": f"Bearer {token}"}, json=body)
        raise_for_response(response)
        return response

    def _request_token(self, creds: SinchCredentials) -> AccessToken:
        response = self._send(
            "POST",
            self.endpoints.token_url,
            data={"grant_type": "client_credentials"},
            auth=httpx.BasicAuth(creds.key_id, creds.key_secret),
        )
        raise_for_response(response)
        return AccessToken.from_json(_json(response), now=self._clock())

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        path = httpx.URL(url).path
        started = time.perf_counter()
        try:
            response = self.http.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            elapsed = (time.perf_counter() - started) * 1000
            logger.warning("Sinch %s %s failed after %.0f ms: %s", method, path, elapsed, type(exc).__name__)
            if self._observer is not None:
                self._observer(method, path, None, elapsed / 1000)
            raise transport_error(exc) from exc
        elapsed = (time.perf_counter() - started) * 1000
        if self._observer is not None:
            self._observer(method, path, response.status_code, elapsed / 1000)
        level = logging.DEBUG if response.is_success else logging.INFO
        logger.log(level, "Sinch %s %s -> %d in %.0f ms", method, path, response.status_code, elapsed)
        return response


def _json(response: httpx.Response) -> object:
    """The parsed body, or SinchInvalidResponse naming the request (never its headers)."""
    try:
        return response.json()
    except ValueError as exc:  # json.JSONDecodeError and UnicodeDecodeError are both ValueErrors
        request = response.request
        where = f"{response.status_code} to {request.method} {request.url.path}"
        raise SinchInvalidResponse(f"Sinch sent a response that is not JSON ({where})") from exc
