"""Instagram status from the app's channel_credentials and from the Provisioning API; the sandbox route."""

from __future__ import annotations

import httpx
import pytest

from sinch import ChannelStatus, ConversationApp, InstagramStatus, SinchClient, SinchCredentials
from sinch.sandbox import SandboxApp, SandboxControl

from .conftest import APP_ROUTE, BASE_URL

INSTAGRAM_ROUTE = "GET /provisioning/v1/projects/{project}/conversation/apps/{app}/instagram"


@pytest.fixture
def app(client: SinchClient, creds: SinchCredentials) -> ConversationApp:
    return client.apps.create(creds, display_name="Acme Messenger and Instagram")


def test_an_app_without_an_account_is_not_connected(client: SinchClient, creds: SinchCredentials,
                                                   app: ConversationApp) -> None:
    status = client.instagram.status(creds, app.id)

    assert status == InstagramStatus(status=ChannelStatus.NOT_CONNECTED)
    assert not status.connected


def test_provisioning_answers_404_in_papi_format_before_a_connect(creds: SinchCredentials, app: ConversationApp,
                                                                  papi_client: SinchClient, sandbox: SandboxApp,
                                                                  client: SinchClient) -> None:
    token = client.fetch_token(creds)
    with httpx.Client(transport=httpx.WSGITransport(app=sandbox)) as http:
        response = http.get(f"{BASE_URL}/provisioning/v1/projects/{creds.project_id}/conversation/apps/{app.id}"
                            "/instagram", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 404
    assert response.json()["errorCode"] == "conversation_app_no_instagram_channel"
    assert papi_client.instagram.status(creds, app.id).status == ChannelStatus.NOT_CONNECTED


def test_a_connected_account_reads_pending_then_its_outcome(client: SinchClient, creds: SinchCredentials,
                                                            app: ConversationApp, control: SandboxControl) -> None:
    answer = control.connect_instagram(creds.project_id, app.id, username="acme.shop", outcome="FAILING")

    first = client.instagram.status(creds, app.id)
    second = client.instagram.status(creds, app.id)

    assert answer["status"] == "PENDING" and answer["outcome"] == "FAILING"
    assert first == InstagramStatus(status=ChannelStatus.PENDING)
    assert second.status == ChannelStatus.FAILING and second.description


def test_provisioning_names_the_connected_account(papi_client: SinchClient, creds: SinchCredentials,
                                                  app: ConversationApp, control: SandboxControl,
                                                  sandbox: SandboxApp) -> None:
    control.connect_instagram(creds.project_id, app.id, instagram_id="1784", username="acme.shop", outcome="ERROR",
                              description="Messages access not allowed")

    papi_client.instagram.status(creds, app.id)
    error = papi_client.instagram.status(creds, app.id)

    assert error == InstagramStatus(status=ChannelStatus.ERROR, description="Messages access not allowed",
                                    account_id="1784", username="acme.shop")
    assert sandbox.state.request_count(INSTAGRAM_ROUTE) == 2


def test_one_get_of_the_app_reads_both_channels(client: SinchClient, creds: SinchCredentials, app: ConversationApp,
                                                control: SandboxControl, sandbox: SandboxApp) -> None:
    control.connect_page(creds.project_id, app.id, outcome="ACTIVE")
    control.connect_instagram(creds.project_id, app.id, outcome="ACTIVE")

    first = client.instagram.channels(creds, app.id, messenger=True, instagram=True)
    second = client.instagram.channels(creds, app.id, messenger=True, instagram=True)

    assert (first.messenger and first.messenger.status, first.instagram and first.instagram.status) == (
        ChannelStatus.PENDING, ChannelStatus.PENDING)
    assert (second.messenger and second.messenger.status, second.instagram and second.instagram.status) == (
        ChannelStatus.ACTIVE, ChannelStatus.ACTIVE)
    assert sandbox.state.request_count(f"GET {APP_ROUTE}") == 2


def test_provisioning_reads_each_requested_channel_once(papi_client: SinchClient, creds: SinchCredentials,
                                                        app: ConversationApp, sandbox: SandboxApp) -> None:
    readings = papi_client.instagram.channels(creds, app.id, messenger=True, instagram=True)

    assert readings.messenger is not None and readings.instagram is not None
    assert sandbox.state.request_count(INSTAGRAM_ROUTE) == 1


@pytest.mark.parametrize(("body", "message"), [
    ({"instagram_id": "1"}, "'username' must be a non-empty string"),
    ({"instagram_id": "1", "username": "a", "outcome": "LIVE"}, "'outcome' must be one of"),
    ({"instagram_id": "1", "username": "a", "colour": "red"}, "unknown field(s): colour"),
])
def test_the_control_route_refuses_bad_input(creds: SinchCredentials, app: ConversationApp, sandbox: SandboxApp,
                                             body: dict[str, str], message: str) -> None:
    with httpx.Client(transport=httpx.WSGITransport(app=sandbox)) as http:
        response = http.post(f"{BASE_URL}/_sandbox/projects/{creds.project_id}/apps/{app.id}/instagram", json=body)

    assert response.status_code == 400
    assert message in response.json()["error"]
