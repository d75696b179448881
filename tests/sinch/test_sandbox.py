"""The sandbox on the wire: Sinch's formats and rules, and the /_sandbox control routes."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from sinch import SinchClient, SinchCredentials, SinchServerError
from sinch.sandbox import SandboxApp, SandboxControl
from sinch.sandbox.ids import ULID_PATTERN
from tests.sinch.conftest import SecondsClock

from .conftest import APPS_ROUTE, TOKEN_ROUTE

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def _token(raw: httpx.Client, creds: SinchCredentials) -> str:
    response = raw.post(
        "/oauth2/token", data={"grant_type": "client_credentials"}, auth=(creds.key_id, creds.key_secret)
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("bearer", 3600, "")
    return str(body["access_token"])


def _apps_url(creds: SinchCredentials, region: str = "us") -> str:
    return f"/conversation/{region}/v1/projects/{creds.project_id}/apps"


def _create(raw: httpx.Client, creds: SinchCredentials, name: str = "Acme", region: str = "us") -> dict[str, Any]:
    response = raw.post(
        _apps_url(creds, region),
        json={"display_name": name, "channel_credentials": []},
        headers={"Authorization": f"Bearer {_token(raw, creds)}"},
    )
    assert response.status_code == 200
    created: dict[str, Any] = response.json()
    return created


# -- Sinch's API ---------------------------------------------------------------------------


def test_ids_look_like_sinchs(raw: httpx.Client, creds: SinchCredentials) -> None:
    app = _create(raw, creds)

    assert UUID.fullmatch(creds.project_id) and UUID.fullmatch(creds.key_id)
    assert ULID_PATTERN.fullmatch(app["id"])
    assert uuid.UUID(creds.project_id).version == 4


def test_get_app_returns_the_full_resource(raw: httpx.Client, creds: SinchCredentials, control: SandboxControl) -> None:
    app = _create(raw, creds)
    auth = (creds.key_id, creds.key_secret)  # Basic auth works on API routes too

    before = raw.get(f"{_apps_url(creds)}/{app['id']}", auth=auth).json()
    control.connect_page(creds.project_id, app["id"], outcome="ACTIVE")
    after = raw.get(f"{_apps_url(creds)}/{app['id']}", auth=auth).json()

    assert {
        "id",
        "display_name",
        "channel_credentials",
        "rate_limits",
        "processing_mode",
        "retention_policy",
        "conversation_metadata_report_view",
        "queue_stats",
        "message_retry_settings",
    } <= set(before)
    assert before["channel_credentials"] == []
    (messenger,) = after["channel_credentials"]
    assert messenger["channel"] == "MESSENGER"
    assert messenger["static_token"]["token"].startswith("EAA")
    assert messenger["state"] == {"status": "PENDING", "description": ""}


def test_list_apps_has_the_documented_envelope(raw: httpx.Client, creds: SinchCredentials) -> None:
    app = _create(raw, creds)

    body = raw.get(_apps_url(creds), auth=(creds.key_id, creds.key_secret)).json()

    assert [item["id"] for item in body["apps"]] == [app["id"]]


def test_an_expired_token_gets_401_saying_expired(raw: httpx.Client, creds: SinchCredentials,
                                                  fake_clock: SecondsClock) -> None:
    token = _token(raw, creds)
    fake_clock.advance(3600)

    response = raw.get(_apps_url(creds), headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401
    assert "expired" in response.headers["WWW-Authenticate"]
    assert response.json()["error"]["status"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Basic bm9wZTpub3Bl", "Basic !!!"])
def test_missing_or_bad_credentials_get_401_in_conversation_format(raw: httpx.Client, creds: SinchCredentials,
                                                                   header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}

    response = raw.get(_apps_url(creds), headers=headers)

    assert response.status_code == 401
    assert set(response.json()["error"]) == {"code", "message", "status", "details"}
    assert "expired" not in response.headers["WWW-Authenticate"]


def test_a_key_works_only_for_its_own_project(raw: httpx.Client, creds: SinchCredentials,
                                              control: SandboxControl) -> None:
    other = control.create_project("Globex")

    response = raw.get(_apps_url(creds), auth=(other.key_id, other.key_secret))

    assert response.status_code == 403
    assert response.json()["error"]["status"] == "PERMISSION_DENIED"


def test_an_app_exists_only_in_its_region(raw: httpx.Client, creds: SinchCredentials) -> None:
    app = _create(raw, creds, region="eu")
    auth = (creds.key_id, creds.key_secret)

    assert raw.get(f"{_apps_url(creds, 'eu')}/{app['id']}", auth=auth).status_code == 200
    response = raw.get(f"{_apps_url(creds, 'us')}/{app['id']}", auth=auth)
    assert response.status_code == 404
    assert response.json()["error"]["status"] == "NOT_FOUND"
    assert raw.get(f"{_apps_url(creds, 'ap')}", auth=auth).status_code == 404


@pytest.mark.parametrize(
    "body",
    [{"channel_credentials": []}, {"display_name": "Acme"}, {"display_name": "", "channel_credentials": []}, []],
)
def test_create_app_validates_its_body(raw: httpx.Client, creds: SinchCredentials, body: Any) -> None:
    response = raw.post(_apps_url(creds), json=body, auth=(creds.key_id, creds.key_secret))

    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"


@pytest.mark.parametrize(
    ("data", "auth", "status", "error"),
    [
        ({"grant_type": "client_credentials"}, ("nope", "nope"), 401, "invalid_client"),
        ({"grant_type": "password"}, None, 400, "unsupported_grant_type"),
    ],
)
def test_token_errors_use_the_oauth_format(raw: httpx.Client, creds: SinchCredentials, data: dict[str, str],
                                           auth: tuple[str, str] | None, status: int, error: str) -> None:
    response = raw.post("/oauth2/token", data=data, auth=auth or (creds.key_id, creds.key_secret))

    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["error_description"]


def test_provisioning_messenger_before_and_after_a_page_is_connected(raw: httpx.Client, creds: SinchCredentials,
                                                                     control: SandboxControl) -> None:
    app = _create(raw, creds)
    url = f"/provisioning/v1/projects/{creds.project_id}/conversation/apps/{app['id']}/messenger"
    auth = (creds.key_id, creds.key_secret)

    before = raw.get(url, auth=auth)
    control.connect_page(creds.project_id, app["id"], page_id="77", page_name="Acme", outcome="ACTIVE")
    pending = raw.get(url, auth=auth).json()
    active = raw.get(url, auth=auth).json()

    assert before.status_code == 404
    assert before.json()["errorCode"] == "conversation_app_no_messenger_channel"
    assert pending == {"status": "PENDING", "id": "77", "name": "Acme"}
    assert active == {"status": "ACTIVE", "id": "77", "name": "Acme"}


def test_an_unknown_path_or_method_answers_in_the_apis_format(raw: httpx.Client, creds: SinchCredentials) -> None:
    auth = (creds.key_id, creds.key_secret)

    assert raw.get("/conversation/us/v1/nothing", auth=auth).json()["error"]["status"] == "NOT_FOUND"
    response = raw.put(_apps_url(creds), auth=auth)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST"


# -- control routes ------------------------------------------------------------------------


def test_create_project_returns_credentials_once(raw: httpx.Client) -> None:
    response = raw.post("/_sandbox/projects", json={"name": "Acme"})

    assert response.status_code == 201
    created = response.json()
    assert set(created) == {"project_id", "key_id", "key_secret"}
    state = raw.get("/_sandbox/state").text
    assert created["project_id"] in state and created["key_secret"] not in state


def test_faults_count_down_and_then_disappear(client: SinchClient, creds: SinchCredentials, control: SandboxControl,
                                              sandbox: SandboxApp) -> None:
    control.add_fault("/apps$", method="GET", status=500, count=2)

    for remaining in (1, 0):
        with pytest.raises(SinchServerError):
            client.apps.list(creds)
        assert [f["remaining"] for f in control.state()["faults"]] == ([remaining] if remaining else [])

    assert client.apps.list(creds) == []
    assert sandbox.state.request_count(f"GET {APPS_ROUTE}") == 3


def test_a_fault_only_hits_its_method_and_path(client: SinchClient, creds: SinchCredentials,
                                               control: SandboxControl) -> None:
    control.add_fault("/apps$", method="POST", status=500, count=1)

    assert client.apps.list(creds) == []
    assert len(control.state()["faults"]) == 1


def test_a_permanent_latency_fault_slows_every_request(client: SinchClient, creds: SinchCredentials,
                                                       control: SandboxControl, sandbox_sleeps: list[float]) -> None:
    control.add_fault(".", count=-1, latency_ms=50)
    control.add_fault("/apps$", method="GET", status=503, latency_ms=25, count=1)

    client.apps.list(creds)

    assert sandbox_sleeps == [0.05, 0.075, 0.05]  # token, faulted GET (latencies add up), retried GET
    assert control.state()["faults"][0]["remaining"] == -1
    control.clear_faults()
    assert control.state()["faults"] == []


def test_a_fault_status_without_body_uses_the_apis_format(raw: httpx.Client, control: SandboxControl) -> None:
    control.add_fault("/oauth2/", status=503, retry_after=7, count=1)
    control.add_fault("/provisioning/", status=429, count=1)

    token = raw.post("/oauth2/token")
    papi = raw.get("/provisioning/v1/projects/p/conversation/apps/a/messenger")

    assert token.status_code == 503 and token.headers["Retry-After"] == "7"
    assert token.json()["error"] == "temporarily_unavailable"
    assert papi.status_code == 429 and papi.json()["errorCode"] == "too_many_requests"


def test_state_counts_requests_per_route(client: SinchClient, creds: SinchCredentials, control: SandboxControl) -> None:
    client.apps.create(creds, display_name="Acme")
    client.apps.list(creds)
    client.apps.list(creds)

    counts = control.state()["request_counts"]

    assert counts == {TOKEN_ROUTE: 1, f"POST {APPS_ROUTE}": 1, f"GET {APPS_ROUTE}": 2}


def test_state_shows_apps_per_region(client: SinchClient, creds: SinchCredentials, control: SandboxControl) -> None:
    app = client.apps.create(creds, display_name="Acme")

    apps = control.state()["apps"]

    assert [a["id"] for a in apps["us"]] == [app.id]
    assert apps["eu"] == apps["br"] == []


def test_reset_forgets_everything(client: SinchClient, creds: SinchCredentials, control: SandboxControl) -> None:
    client.apps.create(creds, display_name="Acme")
    control.add_fault("/apps", status=500, count=5)

    control.reset()

    state = control.state()
    assert (state["projects"], state["faults"], state["request_counts"]) == ([], [], {})
    assert all(apps == [] for apps in state["apps"].values())


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/_sandbox/projects", {}),
        ("/_sandbox/projects", {"name": "Acme", "region": "us"}),
        ("/_sandbox/faults", {"count": 1, "status": 500}),
        ("/_sandbox/faults", {"path_regex": "(", "count": 1, "status": 500}),
        ("/_sandbox/faults", {"path_regex": "x", "count": 0, "status": 500}),
        ("/_sandbox/faults", {"path_regex": "x", "count": True, "status": 500}),
        ("/_sandbox/faults", {"path_regex": "x", "count": 1, "status": 99}),
        ("/_sandbox/faults", {"path_regex": "x", "count": 1}),
        ("/_sandbox/faults", {"path_regex": "x", "count": 1, "drop": True, "status": 500}),
        ("/_sandbox/faults", {"path_regex": "x", "count": 1, "latency_ms": -5}),
        ("/_sandbox/faults", {"path_regex": "x", "count": 1, "status": 429, "retry_after": -1}),
        ("/_sandbox/faults", {"path_regex": "x", "count": 1, "status": 500, "colour": "red"}),
    ],
)
def test_invalid_control_input_is_a_clear_400(raw: httpx.Client, path: str, body: Any) -> None:
    response = raw.post(path, json=body)

    assert response.status_code == 400
    assert response.json()["error"]


def test_a_control_body_that_is_not_json_is_a_400(raw: httpx.Client) -> None:
    response = raw.post("/_sandbox/faults", content=b"{oops", headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]


@pytest.mark.parametrize(
    "body",
    [
        {"page_id": "1", "page_name": "P", "outcome": "MAYBE"},
        {"page_name": "P"},
        {"page_id": "1", "page_name": "P", "delay_seconds": -1},
    ],
)
def test_connect_validates_its_input(raw: httpx.Client, client: SinchClient, creds: SinchCredentials,
                                     body: Any) -> None:
    app = client.apps.create(creds, display_name="Acme")

    response = raw.post(f"/_sandbox/projects/{creds.project_id}/apps/{app.id}/messenger", json=body)

    assert response.status_code == 400


def test_connect_to_an_unknown_project_or_app_is_a_404(raw: httpx.Client, creds: SinchCredentials) -> None:
    unknown_project = raw.post("/_sandbox/projects/nope/apps/x/messenger", json={"page_id": "1", "page_name": "P"})
    unknown_app = raw.post(
        f"/_sandbox/projects/{creds.project_id}/apps/01JABCDEFGHJKMNPQRSTVWXYZ0/messenger",
        json={"page_id": "1", "page_name": "P"},
    )

    assert (unknown_project.status_code, unknown_app.status_code) == (404, 404)


def test_connect_answers_202_pending(raw: httpx.Client, client: SinchClient, creds: SinchCredentials,
                                     fake_clock: SecondsClock) -> None:
    app = client.apps.create(creds, display_name="Acme")

    response = raw.post(
        f"/_sandbox/projects/{creds.project_id}/apps/{app.id}/messenger",
        json={"page_id": "1", "page_name": "P", "outcome": "FAILING", "delay_seconds": 5},
    )

    assert response.status_code == 202
    assert response.json() == {
        "app_id": app.id,
        "region": "us",
        "status": "PENDING",
        "outcome": "FAILING",
        "applies_at": fake_clock() + 5,
    }


def test_unknown_control_routes_and_methods_are_refused(raw: httpx.Client) -> None:
    assert raw.get("/_sandbox/nothing").status_code == 404
    assert raw.get("/_sandbox/reset").status_code == 405
