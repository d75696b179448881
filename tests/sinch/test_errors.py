"""Every exception class, produced from the sandbox's real error bodies in each API's format."""

from __future__ import annotations

import dataclasses
import json

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sinch import (
    Region,
    SinchAPIError,
    SinchAuthError,
    SinchBadRequest,
    SinchClient,
    SinchCredentials,
    SinchError,
    SinchForbidden,
    SinchInvalidResponse,
    SinchNotFound,
    SinchRateLimited,
    SinchServerError,
    SinchTransportError,
)
from sinch.errors import parse_retry_after, raise_for_response
from sinch.sandbox import SandboxApp, SandboxControl
from tests.sinch.conftest import SecondsClock

from .conftest import APPS_ROUTE, make_client


@pytest.mark.parametrize(
    ("status", "error_class", "code"),
    [
        (400, SinchBadRequest, "INVALID_ARGUMENT"),
        (403, SinchForbidden, "PERMISSION_DENIED"),
        (404, SinchNotFound, "NOT_FOUND"),
        (409, SinchBadRequest, "ALREADY_EXISTS"),
        (429, SinchRateLimited, "RESOURCE_EXHAUSTED"),
        (500, SinchServerError, "INTERNAL"),
        (503, SinchServerError, "UNAVAILABLE"),
    ],
)
def test_conversation_errors_map_to_their_class(
    transport: httpx.WSGITransport, fake_clock: SecondsClock, sleeps: list[float], creds: SinchCredentials,
    control: SandboxControl, status: int, error_class: type[SinchAPIError], code: str,
) -> None:
    control.add_fault("/apps$", status=status, count=1)
    with make_client(transport, fake_clock, sleeps, max_attempts=1) as client:
        with pytest.raises(error_class) as exc_info:
            client.apps.list(creds)

    error = exc_info.value
    assert (error.status, error.code, error.sinch_status) == (status, code, code)
    assert str(error).startswith(f"{error_class.summary} ({status} {code}): ")


def test_an_unknown_key_is_an_auth_error_in_the_oauth_format(client: SinchClient, creds: SinchCredentials) -> None:
    with pytest.raises(SinchAuthError) as exc_info:
        client.apps.list(dataclasses.replace(creds, key_id="5e0e8a47-0000-4000-8000-000000000000"))

    assert exc_info.value.code == "invalid_client"
    assert str(exc_info.value) == "Sinch rejected the access key (401 invalid_client): Client authentication failed"


def test_a_key_of_another_project_is_forbidden(client: SinchClient, creds: SinchCredentials,
                                               control: SandboxControl) -> None:
    other = control.create_project("Globex")

    with pytest.raises(SinchForbidden) as exc_info:
        client.apps.list(dataclasses.replace(other, project_id=creds.project_id))

    assert exc_info.value.status == 403
    assert creds.project_id in str(exc_info.value)


def test_an_app_from_another_region_is_not_found(client: SinchClient, creds: SinchCredentials) -> None:
    eu = dataclasses.replace(creds, region=Region.EU)
    app = client.apps.create(eu, display_name="Acme EU")

    with pytest.raises(SinchNotFound) as exc_info:
        client.apps.get(creds, app.id)

    assert exc_info.value.code == "NOT_FOUND"
    assert client.apps.get(eu, app.id).id == app.id
    assert client.apps.list(creds) == []


def test_provisioning_errors_keep_error_code_and_resolution(papi_client: SinchClient, creds: SinchCredentials) -> None:
    with pytest.raises(SinchNotFound) as exc_info:
        papi_client.messenger.status(creds, "01JABCDEFGHJKMNPQRSTVWXYZ0")

    error = exc_info.value
    assert (error.code, error.sinch_status) == ("conversation_app_not_found", None)
    assert str(error) == (
        "Sinch could not find it (wrong id or wrong region?) (404 conversation_app_not_found): "
        "Conversation app not found"
    )


def test_a_malformed_app_id_is_a_bad_request_from_provisioning(papi_client: SinchClient,
                                                               creds: SinchCredentials) -> None:
    with pytest.raises(SinchBadRequest) as exc_info:
        papi_client.messenger.status(creds, "not-an-app-id")

    assert exc_info.value.code == "conversation_app_id_invalid"


def test_a_provisioning_server_error_uses_the_papi_format(papi_client: SinchClient, creds: SinchCredentials,
                                                          control: SandboxControl) -> None:
    app = papi_client.apps.create(creds, display_name="Acme")
    control.add_fault("/provisioning/", status=500, count=1)

    with pytest.raises(SinchServerError) as exc_info:
        papi_client.messenger.status(creds, app.id)

    assert exc_info.value.code == "internal_error"


def test_a_body_that_is_not_json_is_an_invalid_response(client: SinchClient, creds: SinchCredentials,
                                                        control: SandboxControl) -> None:
    control.add_fault("/apps$", method="GET", body="{not json", count=1)

    with pytest.raises(SinchInvalidResponse) as exc_info:
        client.apps.list(creds)

    assert "not JSON" in str(exc_info.value)


def test_a_body_of_the_wrong_shape_is_an_invalid_response(client: SinchClient, creds: SinchCredentials,
                                                          control: SandboxControl) -> None:
    control.add_fault("/apps$", method="GET", body={"apps": [{"display_name": "no id"}]}, count=1)

    with pytest.raises(SinchInvalidResponse) as exc_info:
        client.apps.list(creds)

    assert "'id' is missing" in str(exc_info.value)


def test_a_dropped_connection_is_a_transport_error(transport: httpx.WSGITransport, fake_clock: SecondsClock,
                                                   sleeps: list[float], creds: SinchCredentials,
                                                   control: SandboxControl) -> None:
    control.add_fault("/apps$", drop=True, count=1)
    with make_client(transport, fake_clock, sleeps, max_attempts=1) as client:
        with pytest.raises(SinchTransportError) as exc_info:
            client.apps.list(creds)

    assert "Server disconnected without sending a response" in str(exc_info.value)
    assert isinstance(exc_info.value.__cause__, httpx.TransportError)


def test_a_dropped_connection_is_retried_for_a_get(client: SinchClient, creds: SinchCredentials,
                                                   control: SandboxControl, sandbox: SandboxApp,
                                                   sleeps: list[float]) -> None:
    control.add_fault("/apps$", drop=True, count=1)

    assert client.apps.list(creds) == []
    assert sandbox.state.request_count(f"GET {APPS_ROUTE}") == 2
    assert sleeps == [0.5]


def test_a_timeout_is_a_transport_error_naming_the_host(fake_clock: SecondsClock, sleeps: list[float],
                                                        creds: SinchCredentials) -> None:
    def time_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with make_client(httpx.MockTransport(time_out), fake_clock, sleeps, max_attempts=2) as client:
        with pytest.raises(SinchTransportError) as exc_info:
            client.fetch_token(creds)

    assert str(exc_info.value) == "Could not reach Sinch at sandbox.test: timed out (ReadTimeout: timed out)"
    assert sleeps == [0.5]


def test_an_error_body_without_a_known_format_falls_back_to_the_http_reason() -> None:
    response = httpx.Response(502, text="<html>Bad gateway</html>", request=httpx.Request("GET", "https://x/y"))

    with pytest.raises(SinchServerError) as exc_info:
        raise_for_response(response)

    assert (exc_info.value.code, exc_info.value.detail) == ("BAD_GATEWAY", None)
    assert str(exc_info.value) == "Sinch had a server error (502 BAD_GATEWAY)"


def test_a_long_sinch_message_is_shortened_to_one_line() -> None:
    message = "line one\nline two " + "x" * 1000
    response = httpx.Response(400, json={"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}})

    with pytest.raises(SinchBadRequest) as exc_info:
        raise_for_response(response)

    assert "\n" not in str(exc_info.value)
    assert len(exc_info.value.detail or "") == 300


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("7", 7.0), (" 1.5 ", 1.5), ("-3", 0.0), ("Wed, 21 Oct 2026 07:28:00 GMT", None), (None, None), ("nan", None)],
)
def test_retry_after_is_read_as_seconds(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


def test_every_error_is_a_sinch_error() -> None:
    api_errors = [SinchBadRequest, SinchAuthError, SinchForbidden, SinchNotFound, SinchRateLimited, SinchServerError]
    assert all(issubclass(cls, SinchAPIError) for cls in api_errors)
    assert all(issubclass(cls, SinchError) for cls in [*api_errors, SinchTransportError, SinchInvalidResponse])


@given(
    status=st.integers(min_value=300, max_value=599),
    body=st.one_of(
        st.binary(max_size=200),
        st.builds(
            lambda v: json.dumps({"error": v}).encode(), st.one_of(st.text(), st.dictionaries(st.text(), st.text()))
        ),
        st.builds(lambda c, m: json.dumps({"errorCode": c, "message": m}).encode(), st.text(), st.text()),
    ),
    retry_after=st.one_of(st.none(), st.text(max_size=20)),
)
def test_any_error_response_becomes_a_one_line_sinch_api_error(status: int, body: bytes,
                                                               retry_after: str | None) -> None:
    headers: dict[bytes, bytes] = {} if retry_after is None else {b"Retry-After": retry_after.encode()}
    response = httpx.Response(status, content=body, headers=headers)

    with pytest.raises(SinchAPIError) as exc_info:
        raise_for_response(response)

    assert exc_info.value.status == status
    assert "\n" not in str(exc_info.value) and len(str(exc_info.value)) < 800
