"""Retries: only idempotent calls, only transient errors, Retry-After honoured, backoff capped."""

from __future__ import annotations

import pytest

from sinch import (
    SinchAPIError,
    SinchAuthError,
    SinchBadRequest,
    SinchClient,
    SinchCredentials,
    SinchInvalidResponse,
    SinchNotFound,
    SinchRateLimited,
    SinchServerError,
    SinchTransportError,
    should_retry,
    wait_seconds,
)
from sinch.retry import BACKOFF_CAP, MAX_RETRY_AFTER
from sinch.sandbox import SandboxApp, SandboxControl

from .conftest import APP_ROUTE, APPS_ROUTE, TOKEN_ROUTE


def _api(cls: type[SinchAPIError], status: int, retry_after: float | None = None) -> SinchAPIError:
    if cls is SinchRateLimited:
        return cls("limited", status=status, code="RESOURCE_EXHAUSTED", retry_after=retry_after)
    return cls("boom", status=status, code="X")


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (SinchTransportError("down"), True),
        (_api(SinchRateLimited, 429), True),
        (_api(SinchRateLimited, 429, retry_after=7.0), True),
        (_api(SinchRateLimited, 429, retry_after=MAX_RETRY_AFTER + 1), False),
        (_api(SinchServerError, 502), True),
        (_api(SinchServerError, 503), True),
        (_api(SinchServerError, 504), True),
        (_api(SinchServerError, 500), False),
        (_api(SinchServerError, 501), False),
        (_api(SinchAuthError, 401), False),
        (_api(SinchNotFound, 404), False),
        (_api(SinchBadRequest, 400), False),
        (SinchInvalidResponse("garbage"), False),
        (ValueError("a bug"), False),
    ],
)
def test_should_retry_only_transient_errors(exc: Exception, expected: bool) -> None:
    assert should_retry(exc) is expected


def test_wait_seconds_backs_off_exponentially_up_to_a_cap() -> None:
    waits = [wait_seconds(attempt, SinchTransportError("down")) for attempt in range(1, 8)]

    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert max(waits) == BACKOFF_CAP
    assert wait_seconds(10_000, SinchTransportError("down")) == BACKOFF_CAP


def test_wait_seconds_prefers_retry_after() -> None:
    assert wait_seconds(3, _api(SinchRateLimited, 429, retry_after=7.0)) == 7.0
    assert wait_seconds(1, _api(SinchRateLimited, 429)) == 0.5


def test_a_429_with_retry_after_waits_exactly_that_long_then_succeeds(client: SinchClient, creds: SinchCredentials,
                                                                      control: SandboxControl, sandbox: SandboxApp,
                                                                      sleeps: list[float]) -> None:
    control.add_fault("/apps$", method="GET", status=429, retry_after=7, count=1)

    assert client.apps.list(creds) == []

    assert sleeps == [7.0]
    assert sandbox.state.request_count(f"GET {APPS_ROUTE}") == 2


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_get_is_retried_on_gateway_errors_with_backoff(client: SinchClient, creds: SinchCredentials,
                                                         control: SandboxControl, sandbox: SandboxApp,
                                                         sleeps: list[float], status: int) -> None:
    control.add_fault("/apps$", method="GET", status=status, count=2)

    assert client.apps.list(creds) == []

    assert sleeps == [0.5, 1.0]
    assert sandbox.state.request_count(f"GET {APPS_ROUTE}") == 3


def test_a_get_gives_up_after_max_attempts(client: SinchClient, creds: SinchCredentials, control: SandboxControl,
                                           sandbox: SandboxApp, sleeps: list[float]) -> None:
    control.add_fault("/apps$", method="GET", status=503, count=-1)

    with pytest.raises(SinchServerError):
        client.apps.list(creds)

    assert sandbox.state.request_count(f"GET {APPS_ROUTE}") == 4
    assert sleeps == [0.5, 1.0, 2.0]


def test_a_get_is_not_retried_on_a_500(client: SinchClient, creds: SinchCredentials, control: SandboxControl,
                                       sandbox: SandboxApp, sleeps: list[float]) -> None:
    control.add_fault("/apps$", method="GET", status=500, count=1)

    with pytest.raises(SinchServerError):
        client.apps.list(creds)

    assert sandbox.state.request_count(f"GET {APPS_ROUTE}") == 1
    assert sleeps == []


def test_a_create_is_not_retried_on_a_503(client: SinchClient, creds: SinchCredentials, control: SandboxControl,
                                          sandbox: SandboxApp, sleeps: list[float]) -> None:
    control.add_fault("/apps$", method="POST", status=503, count=1)

    with pytest.raises(SinchServerError):
        client.apps.create(creds, display_name="Acme")

    assert sandbox.state.request_count(f"POST {APPS_ROUTE}") == 1
    assert sleeps == []
    assert client.apps.list(creds) == []


def test_a_create_is_not_retried_after_a_dropped_connection(client: SinchClient, creds: SinchCredentials,
                                                            control: SandboxControl, sandbox: SandboxApp) -> None:
    control.add_fault("/apps$", method="POST", drop=True, count=1)

    with pytest.raises(SinchTransportError):
        client.apps.create(creds, display_name="Acme")

    assert sandbox.state.request_count(f"POST {APPS_ROUTE}") == 1


def test_a_delete_is_not_retried_on_a_503(client: SinchClient, creds: SinchCredentials, control: SandboxControl,
                                          sandbox: SandboxApp, sleeps: list[float]) -> None:
    app = client.apps.create(creds, display_name="Acme")
    control.add_fault("/apps/", method="DELETE", status=503, count=1)

    with pytest.raises(SinchServerError):
        client.apps.delete(creds, app.id)

    assert sandbox.state.request_count(f"DELETE {APP_ROUTE}") == 1
    assert sleeps == []


def test_the_token_request_is_retried(client: SinchClient, creds: SinchCredentials, control: SandboxControl,
                                      sandbox: SandboxApp, sleeps: list[float]) -> None:
    control.add_fault("/oauth2/token", status=503, count=1)

    assert client.fetch_token(creds)

    assert sandbox.state.request_count(TOKEN_ROUTE) == 2
    assert sleeps == [0.5]


def test_a_create_survives_a_failed_token_request_without_resending_the_create(client: SinchClient,
                                                                               creds: SinchCredentials,
                                                                               control: SandboxControl,
                                                                               sandbox: SandboxApp) -> None:
    control.add_fault("/oauth2/token", status=503, count=1)

    app = client.apps.create(creds, display_name="Acme")

    assert client.apps.find_by_name(creds, "Acme") == app
    assert sandbox.state.request_count(f"POST {APPS_ROUTE}") == 1


def test_a_retry_after_too_long_to_wait_is_raised_at_once(client: SinchClient, creds: SinchCredentials,
                                                          control: SandboxControl, sleeps: list[float]) -> None:
    control.add_fault("/apps$", method="GET", status=429, retry_after=3600, count=1)

    with pytest.raises(SinchRateLimited) as exc_info:
        client.apps.list(creds)

    assert exc_info.value.retry_after == 3600.0
    assert sleeps == []
