"""Value objects: parsing at the boundary, forward-compatible statuses, no secrets in reprs."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

import sinch
from sinch import (
    ChannelStatus,
    ConversationApp,
    MessengerStatus,
    Region,
    SinchCredentials,
    SinchEndpoints,
    SinchInvalidResponse,
)
from sinch.models import AccessToken


def test_credentials_repr_hides_the_secret() -> None:
    creds = SinchCredentials(project_id="p", key_id="k", key_secret="hunter2-secret", region=Region.EU)

    assert "hunter2-secret" not in repr(creds)
    assert "hunter2-secret" not in str(creds)


def test_credentials_accept_a_region_string_and_refuse_blanks() -> None:
    assert SinchCredentials(project_id="p", key_id="k", key_secret="s", region="br").region is Region.BR  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        SinchCredentials(project_id="p", key_id=" ", key_secret="s", region=Region.US)
    with pytest.raises(ValueError):
        SinchCredentials(project_id="p", key_id="k", key_secret="s", region="ap")  # type: ignore[arg-type]


def test_models_are_frozen() -> None:
    status = MessengerStatus(status=ChannelStatus.ACTIVE)

    with pytest.raises(dataclasses.FrozenInstanceError):
        status.status = "PENDING"  # type: ignore[misc]


def test_access_token_repr_hides_the_token() -> None:
    token = AccessToken.from_json({"access_token": "eyJ-secret-token", "expires_in": 3599}, now=100.0)

    assert token.expires_at == 3699.0
    assert "eyJ-secret-token" not in repr(token)


@pytest.mark.parametrize(
    "body",
    [[], {"expires_in": 10}, {"access_token": "t", "expires_in": "soon"}, {"access_token": "t", "expires_in": 0}],
)
def test_a_malformed_token_response_is_an_invalid_response(body: Any) -> None:
    with pytest.raises(SinchInvalidResponse):
        AccessToken.from_json(body, now=0.0)


def test_an_app_reads_its_messenger_state_from_channel_credentials() -> None:
    app = ConversationApp.from_json(
        {
            "id": "01J",
            "display_name": "Acme",
            "channel_credentials": [
                {"channel": "SMS", "state": {"status": "ACTIVE"}},
                {"channel": "MESSENGER", "state": {"status": "FAILING", "description": "Bad token"}},
            ],
            "processing_mode": "CONVERSATION",
        }
    )

    assert app == ConversationApp(
        id="01J", display_name="Acme", messenger=MessengerStatus(status="FAILING", description="Bad token")
    )
    assert app.messenger.status is ChannelStatus.FAILING


def test_a_messenger_credential_without_state_is_pending() -> None:
    app = ConversationApp.from_json({"id": "01J", "channel_credentials": [{"channel": "MESSENGER"}]})

    assert app.messenger.status == ChannelStatus.PENDING
    assert app.display_name == ""


def test_an_empty_app_list_may_omit_apps() -> None:
    assert ConversationApp.list_from_json({}) == []


@pytest.mark.parametrize(
    "body",
    [
        "not an object",
        {"display_name": "no id"},
        {"id": 7},
        {"id": "01J", "channel_credentials": {"channel": "MESSENGER"}},
        {"id": "01J", "channel_credentials": ["MESSENGER"]},
    ],
)
def test_a_malformed_app_is_an_invalid_response(body: Any) -> None:
    with pytest.raises(SinchInvalidResponse):
        ConversationApp.from_json(body)


def test_provisioning_status_keeps_unknown_values_and_maps_known_ones() -> None:
    assert MessengerStatus.from_json({"status": "ERROR", "statusDescription": "x"}).status is ChannelStatus.ERROR
    assert MessengerStatus.from_json({"status": "BRAND_NEW"}).status == "BRAND_NEW"
    with pytest.raises(SinchInvalidResponse):
        MessengerStatus.from_json({"id": "1"})


def test_endpoints_fill_the_region_into_a_template_with_a_path() -> None:
    endpoints = SinchEndpoints(
        auth_url="http://127.0.0.1:8765/",
        conversation_url="http://127.0.0.1:8765/conversation/{region}/",
        provisioning_url="http://127.0.0.1:8765/provisioning",
    )

    assert endpoints.token_url == "http://127.0.0.1:8765/oauth2/token"
    assert endpoints.conversation_base(Region.BR) == "http://127.0.0.1:8765/conversation/br"
    assert SinchEndpoints().conversation_base(Region.EU) == "https://eu.conversation.api.sinch.com"


@pytest.mark.parametrize(
    "fields", [{"conversation_url": "https://conversation.example"}, {"auth_url": "auth.sinch.com"}]
)
def test_endpoints_refuse_urls_that_would_misroute(fields: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        SinchEndpoints(**fields)


def test_the_package_exports_its_public_names() -> None:
    for name in sinch.__all__:
        assert hasattr(sinch, name), name
    assert {"SinchClient", "SinchCredentials", "Region", "ChannelStatus", "SinchError"} <= set(sinch.__all__)
