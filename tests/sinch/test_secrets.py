"""Key secrets and tokens never reach logs, reprs or exception text."""

from __future__ import annotations

import dataclasses
import logging

import httpx
import pytest

from sinch import SinchClient, SinchCredentials, SinchError
from sinch.sandbox import SandboxApp, SandboxControl, start_in_thread


def _secrets_of(sandbox: SandboxApp, creds: SinchCredentials) -> list[str]:
    tokens = list(sandbox.state.tokens)
    page_tokens = [
        app.messenger.static_token for apps in sandbox.state.apps.values() for app in apps.values() if app.messenger
    ]
    assert tokens, "the flow should have issued tokens"
    return [creds.key_secret, *tokens, *page_tokens]


def _flow(client: SinchClient, control: SandboxControl, creds: SinchCredentials) -> list[SinchError]:
    """Every call the bot makes, including failing ones; returns the errors raised."""
    errors: list[SinchError] = []
    client.verify_credentials(creds)
    app = client.apps.create(creds, display_name="Acme")
    control.connect_page(creds.project_id, app.id, outcome="FAILING")
    client.messenger.status(creds, app.id)
    client.messenger.status(creds, app.id)
    control.add_fault("/apps$", method="GET", status=401, count=1)
    client.apps.list(creds)
    control.add_fault("/apps$", method="GET", status=429, retry_after=1, count=1)
    client.apps.list(creds)
    for bad in (
        dataclasses.replace(creds, key_secret=creds.key_secret[::-1]),
        dataclasses.replace(creds, project_id="0bd2b8c4-0000-4000-8000-000000000000"),
    ):
        try:
            client.verify_credentials(bad)
        except SinchError as exc:
            errors.append(exc)
    return errors


def test_an_in_process_flow_at_debug_level_logs_no_secret(client: SinchClient, control: SandboxControl,
                                                          creds: SinchCredentials, sandbox: SandboxApp,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    errors = _flow(client, control, creds)

    assert len(errors) == 2
    assert "Sinch GET /conversation/us/" in caplog.text  # the flow was logged...
    for secret in _secrets_of(sandbox, creds):  # ...without any secret
        assert secret not in caplog.text
        assert all(secret not in str(exc) and secret not in repr(exc) for exc in errors)
    assert "Authorization" not in caplog.text and "Bearer" not in caplog.text


def test_a_loopback_flow_at_debug_level_logs_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    """Over real HTTP httpcore logs too; it must not print headers either."""
    caplog.set_level(logging.DEBUG)
    with start_in_thread() as running, httpx.Client() as http:
        control = SandboxControl(http, running.url)
        creds = control.create_project("Acme")
        with SinchClient.create(endpoints=running.endpoints, sleep=lambda s: None) as client:
            errors = _flow(client, control, creds)
            assert repr(creds.key_secret) not in repr(client)

        assert "httpcore" in caplog.text
        assert len(errors) == 2
        for secret in _secrets_of(running.app, creds):
            assert secret not in caplog.text


def test_reprs_never_show_the_secret(client: SinchClient, creds: SinchCredentials) -> None:
    client.fetch_token(creds)

    for value in (creds, client, client._session.tokens):
        assert creds.key_secret not in repr(value)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 429, 500, 503])
def test_error_messages_never_show_the_secret(client: SinchClient, creds: SinchCredentials, control: SandboxControl,
                                              status: int) -> None:
    control.add_fault("/apps$", status=status, count=-1)

    with pytest.raises(SinchError) as exc_info:
        client.apps.list(creds)

    assert creds.key_secret not in str(exc_info.value)
    assert creds.key_secret not in repr(exc_info.value)
