"""Messenger status from the app's channel_credentials and from the Provisioning API."""

from __future__ import annotations

import pytest

from sinch import ChannelStatus, ConversationApp, MessengerStatus, SinchClient, SinchCredentials
from sinch.sandbox import SandboxApp, SandboxControl
from tests.sinch.conftest import SecondsClock

from .conftest import MESSENGER_ROUTE


@pytest.fixture
def app(client: SinchClient, creds: SinchCredentials) -> ConversationApp:
    return client.apps.create(creds, display_name="Acme Messenger")


def test_an_app_without_a_page_is_not_connected(client: SinchClient, creds: SinchCredentials,
                                                app: ConversationApp) -> None: 
    status = client.messenger.status(creds, app.id)

    assert status == MessengerStatus(status=ChannelStatus.NOT_CONNECTED)
    assert not status.connected


def test_the_provisioning_no_channel_404_means_not_connected(papi_client: SinchClient, creds: SinchCredentials,
                                                             app: ConversationApp, sandbox: SandboxApp) -> None:
    status = papi_client.messenger.status(creds, app.id)

    assert status.status == ChannelStatus.NOT_CONNECTED
    assert sandbox.state.request_count(MESSENGER_ROUTE) == 1


def test_a_connected_page_reads_pending_then_active(client: SinchClient, creds: SinchCredentials, app: ConversationApp,
                                                    control: SandboxControl) -> None:
    control.connect_page(creds.project_id, app.id, outcome="ACTIVE")

    first = client.messenger.status(creds, app.id)
    second = client.messenger.status(creds, app.id)

    assert (first.status, first.connected) == (ChannelStatus.PENDING, True)
    assert second == MessengerStatus(status=ChannelStatus.ACTIVE)


def test_provisioning_adds_the_page_and_the_failure_description(papi_client: SinchClient, creds: SinchCredentials,
                                                                app: ConversationApp, control: SandboxControl) -> None:
    control.connect_page(
        creds.project_id, app.id, page_id="4242", page_name="Acme Pizza", outcome="FAILING", description="Token revoked"
    )

    pending = papi_client.messenger.status(creds, app.id)
    failing = papi_client.messenger.status(creds, app.id)

    assert pending == MessengerStatus(status="PENDING", page_id="4242", page_name="Acme Pizza")
    assert failing == MessengerStatus(
        status=ChannelStatus.FAILING, description="Token revoked", page_id="4242", page_name="Acme Pizza"
    )


def test_error_exists_only_in_the_provisioning_vocabulary(client: SinchClient, papi_client: SinchClient,
                                                          creds: SinchCredentials, app: ConversationApp,
                                                          control: SandboxControl) -> None:
    control.connect_page(creds.project_id, app.id, outcome="ERROR")
    papi_client.messenger.status(creds, app.id)  # the first read is always PENDING

    assert papi_client.messenger.status(creds, app.id).status == ChannelStatus.ERROR
    assert client.messenger.status(creds, app.id).status == ChannelStatus.FAILING


def test_the_outcome_waits_for_the_delay(client: SinchClient, creds: SinchCredentials, app: ConversationApp,
                                         control: SandboxControl, fake_clock: SecondsClock) -> None:
    control.connect_page(creds.project_id, app.id, outcome="ACTIVE", delay_seconds=30)

    assert client.messenger.status(creds, app.id).status == ChannelStatus.PENDING
    fake_clock.advance(29)
    assert client.messenger.status(creds, app.id).status == ChannelStatus.PENDING
    fake_clock.advance(1)
    assert client.messenger.status(creds, app.id).status == ChannelStatus.ACTIVE


def test_reconnecting_a_failing_page_starts_pending_again(client: SinchClient, creds: SinchCredentials,
                                                          app: ConversationApp, control: SandboxControl) -> None:
    control.connect_page(creds.project_id, app.id, outcome="FAILING")
    client.messenger.status(creds, app.id)
    assert client.messenger.status(creds, app.id).status == ChannelStatus.FAILING

    control.connect_page(creds.project_id, app.id, outcome="ACTIVE")

    assert client.messenger.status(creds, app.id).status == ChannelStatus.PENDING
    assert client.messenger.status(creds, app.id).status == ChannelStatus.ACTIVE


def test_listing_apps_does_not_consume_the_pending_read(client: SinchClient, creds: SinchCredentials,
                                                        app: ConversationApp, control: SandboxControl) -> None:
    control.connect_page(creds.project_id, app.id, outcome="ACTIVE")

    assert client.apps.list(creds)[0].messenger.status == ChannelStatus.PENDING

    assert client.messenger.status(creds, app.id).status == ChannelStatus.PENDING
    assert client.messenger.status(creds, app.id).status == ChannelStatus.ACTIVE


def test_an_unknown_provisioning_status_is_kept_verbatim(papi_client: SinchClient, creds: SinchCredentials,
                                                         app: ConversationApp, control: SandboxControl) -> None:
    control.add_fault("/messenger$", body={"status": "SUSPENDED_BY_META", "id": "1", "name": "Acme"}, count=1)

    status = papi_client.messenger.status(creds, app.id)

    assert status == MessengerStatus(status="SUSPENDED_BY_META", page_id="1", page_name="Acme")
    assert status.connected


def test_an_unknown_conversation_state_is_kept_verbatim(client: SinchClient, creds: SinchCredentials,
                                                        app: ConversationApp, control: SandboxControl) -> None:
    body = {
        "id": app.id,
        "display_name": app.display_name,
        "channel_credentials": [
            {"channel": "WHATSAPP", "state": {"status": "ACTIVE"}},
            {"channel": "MESSENGER", "static_token": {"token": "x"}, "state": {"status": "PAUSED", "description": ""}},
        ],
    }
    control.add_fault(f"/apps/{app.id}$", method="GET", body=body, count=1)

    assert client.messenger.status(creds, app.id) == MessengerStatus(status="PAUSED")
