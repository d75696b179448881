"""OAuth2 tokens: cached per key, refreshed before expiry, refreshed once on a 401."""

from __future__ import annotations

import dataclasses
import logging
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from sinch import Region, SinchAuthError, SinchClient, SinchCredentials
from sinch.auth import TokenCache
from sinch.models import AccessToken
from sinch.sandbox import SandboxApp, SandboxControl, make_app

from .conftest import APPS_ROUTE, TOKEN_ROUTE, SecondsClock, make_client


def test_one_token_request_serves_several_calls(client: SinchClient, creds: SinchCredentials,
                                                sandbox: SandboxApp) -> None:
    app = client.apps.create(creds, display_name="Acme")
    client.apps.list(creds)
    client.apps.get(creds, app.id)
    client.messenger.status(creds, app.id)

    assert sandbox.state.request_count(TOKEN_ROUTE) == 1


def test_the_token_is_refreshed_shortly_before_it_expires(client: SinchClient, creds: SinchCredentials,
                                                          sandbox: SandboxApp, fake_clock: SecondsClock) -> None:
    first = client.fetch_token(creds)
    fake_clock.advance(3600 - 61)
    assert client.fetch_token(creds) == first

    fake_clock.advance(2)  # now inside the 60 s margin

    assert client.fetch_token(creds) != first
    assert sandbox.state.request_count(TOKEN_ROUTE) == 2


def test_a_401_refreshes_the_token_and_resends_exactly_once(client: SinchClient, creds: SinchCredentials,
                                                            control: SandboxControl, sandbox: SandboxApp,
                                                            sleeps: list[float]) -> None:
    client.apps.list(creds)
    control.add_fault("/apps$", method="GET", status=401, count=1)

    client.apps.list(creds)

    assert sandbox.state.request_count(TOKEN_ROUTE) == 2
    assert sandbox.state.request_count(f"GET {APPS_ROUTE}") == 3
    assert sleeps == []


def test_a_second_401_is_an_auth_error_with_no_further_attempt(client: SinchClient, creds: SinchCredentials,
                                                               control: SandboxControl, sandbox: SandboxApp) -> None:
    control.add_fault("/apps$", method="GET", status=401, count=2)

    with pytest.raises(SinchAuthError) as exc_info:
        client.apps.list(creds)

    assert exc_info.value.status == 401
    assert exc_info.value.sinch_status == "UNAUTHENTICATED"
    assert sandbox.state.request_count(f"GET {APPS_ROUTE}") == 2
    assert sandbox.state.request_count(TOKEN_ROUTE) == 2


def test_a_token_the_server_says_expired_is_replaced(transport: httpx.WSGITransport, creds: SinchCredentials,
                                                     sandbox: SandboxApp, fake_clock: SecondsClock,
                                                     sleeps: list[float], caplog: pytest.LogCaptureFixture) -> None:
    """The client's own clock thinks the token is fresh (skew); Sinch's 401 says expired."""
    client_clock = SecondsClock(start=0.0)
    with make_client(transport, client_clock, sleeps) as client:
        client.apps.list(creds)
        fake_clock.advance(3600)  # only the sandbox's clock moves

        with caplog.at_level(logging.INFO, logger="sinch"):
            client.apps.list(creds)

    assert sandbox.state.request_count(TOKEN_ROUTE) == 2
    assert "expired the access token" in caplog.text


def test_tokens_are_cached_per_key(client: SinchClient, control: SandboxControl, sandbox: SandboxApp) -> None:
    acme = control.create_project("Acme")
    globex = control.create_project("Globex")

    for creds in (acme, globex, acme, globex):
        client.apps.list(creds)

    assert sandbox.state.request_count(TOKEN_ROUTE) == 2


def test_a_wrong_secret_is_not_served_from_the_cache_of_the_right_one(client: SinchClient,
                                                                      creds: SinchCredentials) -> None:
    client.apps.list(creds)

    with pytest.raises(SinchAuthError) as exc_info:
        client.apps.list(dataclasses.replace(creds, key_secret="not-the-secret"))

    assert exc_info.value.code == "invalid_client"


def test_concurrent_callers_share_a_single_token_request(client: SinchClient, creds: SinchCredentials,
                                                         sandbox: SandboxApp) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        tokens = set(pool.map(lambda _: client.fetch_token(creds), range(16)))

    assert len(tokens) == 1
    assert sandbox.state.request_count(TOKEN_ROUTE) == 1


def test_a_short_lived_token_is_still_used_for_half_its_life(fake_clock: SecondsClock, sleeps: list[float]) -> None:
    app = make_app(clock=fake_clock, token_ttl=60)
    transport = httpx.WSGITransport(app=app)
    with httpx.Client(transport=transport) as http, make_client(transport, fake_clock, sleeps) as client:
        creds = SandboxControl(http, "http://sandbox.test").create_project("Short")
        first = client.fetch_token(creds)
        fake_clock.advance(29)
        assert client.fetch_token(creds) == first
        fake_clock.advance(1)
        assert client.fetch_token(creds) != first


def test_refresh_reuses_a_token_another_thread_already_replaced(fake_clock: SecondsClock) -> None:
    issued = iter(["t1", "t2", "t3"])
    cache = TokenCache(lambda creds: AccessToken(next(issued), fake_clock() + 3600), clock=fake_clock)
    creds = SinchCredentials(project_id="p", key_id="k", key_secret="s", region=Region.US)
    assert cache.get(creds) == "t1"

    assert cache.refresh(creds, stale="t1") == "t2"  # first thread to see the 401 fetches
    assert cache.refresh(creds, stale="t1") == "t2"  # a second thread with the same stale token reuses it
