"""Conversation API apps through the client: the exact requests, and the round trip on the sandbox."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import httpx
import pytest

from sinch import (
    ChannelStatus,
    ConversationApp,
    Region,
    SinchClient,
    SinchCredentials,
    SinchEndpoints,
    SinchForbidden,
    SinchNotFound,
)
from sinch.sandbox import SandboxControl

CREDS = SinchCredentials(project_id="p-1", key_id="k-1", key_secret="s3cret", region=Region.EU)


class Recorder:
    """A MockTransport handler that records requests and answers like Sinch."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path.endswith("/oauth2/token"):
            return httpx.Response(200, json={"access_token": "tok", "expires_in": 3600, "token_type": "bearer"})
        if request.method == "POST":
            body = json.loads(request.content)
            return httpx.Response(200, json={"id": "01JAPP", "display_name": body["display_name"]})
        if request.method == "DELETE":
            return httpx.Response(200, json={})
        return httpx.Response(200, json={"apps": []})


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def mock_client(recorder: Recorder) -> Iterator[SinchClient]:
    endpoints = SinchEndpoints(
        auth_url="http://127.0.0.1:9/",
        conversation_url="http://127.0.0.1:9/conversation/{region}",
        provisioning_url="http://127.0.0.1:9/provisioning",
    )
    with SinchClient.create(endpoints=endpoints, transport=httpx.MockTransport(recorder)) as client:
        yield client


def test_create_posts_a_bare_app_to_the_regional_host(mock_client: SinchClient, recorder: Recorder) -> None:
    mock_client.apps.create(CREDS, display_name="Acme Messenger")

    token, create = recorder.requests
    assert (token.method, str(token.url)) == ("POST", "http://127.0.0.1:9/oauth2/token")
    assert token.content == b"grant_type=client_credentials"
    assert token.headers["Authorization"].startswith("Basic ")
    assert (create.method, str(create.url)) == ("POST", "http://127.0.0.1:9/conversation/eu/v1/projects/p-1/apps")
    assert json.loads(create.content) == {"display_name": "Acme Messenger", "channel_credentials": []}
    assert create.headers["Authorization"] == "Bearer tok"


def test_the_default_endpoints_are_sinchs_production_hosts(recorder: Recorder) -> None:
    with SinchClient.create(endpoints=SinchEndpoints(), transport=httpx.MockTransport(recorder)) as client:
        client.apps.list(CREDS)

    assert [str(r.url) for r in recorder.requests] == [
        "https://auth.sinch.com/oauth2/token",
        "https://eu.conversation.api.sinch.com/v1/projects/p-1/apps",
    ]


def test_ids_cannot_change_the_path(mock_client: SinchClient, recorder: Recorder) -> None:
    mock_client.apps.delete(CREDS, "../../other-project")

    assert recorder.requests[-1].url.raw_path == b"/conversation/eu/v1/projects/p-1/apps/..%2F..%2Fother-project"


def test_every_request_carries_an_explicit_timeout(recorder: Recorder) -> None:
    transport = httpx.MockTransport(recorder)
    with SinchClient.create(endpoints=SinchEndpoints(), transport=transport, timeout=3.0) as client:
        client.apps.list(CREDS)

    assert {r.extensions["timeout"]["read"] for r in recorder.requests} == {3.0}


def test_an_app_goes_through_create_get_list_and_delete(client: SinchClient, creds: SinchCredentials) -> None:
    created = client.apps.create(creds, display_name="Acme Messenger")

    assert created.display_name == "Acme Messenger"
    assert created.messenger.status == ChannelStatus.NOT_CONNECTED
    assert client.apps.get(creds, created.id) == created
    assert client.apps.list(creds) == [created]

    client.apps.delete(creds, created.id)

    assert client.apps.list(creds) == []
    with pytest.raises(SinchNotFound):
        client.apps.get(creds, created.id)


def test_find_by_name_lets_the_caller_create_only_once(client: SinchClient, creds: SinchCredentials) -> None:
    assert client.apps.find_by_name(creds, "Acme Messenger") is None
    created = client.apps.create(creds, display_name="Acme Messenger")
    client.apps.create(creds, display_name="Other")

    found = client.apps.find_by_name(creds, "Acme Messenger")

    assert found == created
    assert isinstance(found, ConversationApp)


def test_find_by_name_looks_only_in_the_credentials_region(client: SinchClient, creds: SinchCredentials) -> None:
    client.apps.create(creds, display_name="Acme Messenger")

    assert client.apps.find_by_name(dataclasses.replace(creds, region=Region.BR), "Acme Messenger") is None


def test_verify_credentials_accepts_a_key_of_the_project(client: SinchClient, creds: SinchCredentials) -> None:
    client.verify_credentials(creds)  # raises if Sinch refuses the key


def test_verify_credentials_names_the_mismatched_key_and_project(client: SinchClient, creds: SinchCredentials,
                                                                 control: SandboxControl) -> None:
    other = control.create_project("Globex")
    mixed = SinchCredentials(
        project_id=creds.project_id, key_id=other.key_id, key_secret=other.key_secret, region=Region.US
    )

    with pytest.raises(SinchForbidden) as exc_info:
        client.verify_credentials(mixed)

    message = str(exc_info.value)
    assert message.startswith(f"Access key {other.key_id} is not a key of project {creds.project_id} (403 ")
    assert other.key_secret not in message
    assert exc_info.value.status == 403


def test_empty_display_name_is_refused_before_any_request(mock_client: SinchClient, recorder: Recorder) -> None:
    with pytest.raises(ValueError):
        mock_client.apps.create(CREDS, display_name="  ")

    assert recorder.requests == []
