"""The sandbox on a real loopback port, served from a thread (what the demo uses)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sinch import ChannelStatus, SinchClient
from sinch.sandbox import RunningSandbox, SandboxControl, start_in_thread


@pytest.fixture
def running() -> Iterator[RunningSandbox]:
    with start_in_thread() as sandbox:
        yield sandbox


def test_it_serves_the_whole_flow_over_http(running: RunningSandbox) -> None:
    with httpx.Client() as http, SinchClient.create(endpoints=running.endpoints, timeout=5.0) as client:
        creds = SandboxControl(http, running.url).create_project("Acme")
        client.verify_credentials(creds)
        app = client.apps.create(creds, display_name="Acme")
        SandboxControl(http, running.url).connect_page(creds.project_id, app.id)

        assert client.messenger.status(creds, app.id).status == ChannelStatus.PENDING
        assert client.messenger.status(creds, app.id).status == ChannelStatus.ACTIVE
    assert running.url.startswith("http://127.0.0.1:")


def test_a_drop_fault_closes_the_socket_without_a_response(running: RunningSandbox) -> None:
    with httpx.Client(base_url=running.url) as http:
        SandboxControl(http, running.url).add_fault("/oauth2/token", drop=True, count=1)

        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            http.post("/oauth2/token")
        assert http.post("/oauth2/token").status_code == 401  # the next request is served normally


def test_stop_frees_the_port(running: RunningSandbox) -> None:
    url = running.url
    running.stop()
    running.stop()  # idempotent

    with httpx.Client() as http, pytest.raises(httpx.ConnectError):
        http.get(f"{url}/_sandbox/state")
