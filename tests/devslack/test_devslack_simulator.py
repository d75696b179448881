"""The user simulator: Slack-exact signatures, payload shapes and view.state.values encoding."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    CheckboxesElement,
    EmailInputElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View
from slack_sdk.signature import Clock, SignatureVerifier

from devslack import FakeSlackState, RunningFakeSlack, SignedRequest, SlackUserSimulator, loopback

SIGNING_SECRET = "test-signing-secret"

REGIONS = [Option(value="us", text="US"), Option(value="eu", text="EU"), Option(value="br", text="BR")]
PREREQS = [Option(value="verified", text="Business verified"), Option(value="admin", text="Page admin")]


def intake_modal() -> View:
    return View(
        type="modal",
        callback_id="onboard_submit",
        private_metadata='{"request": "r-1"}',
        title="Onboard a customer",
        submit="Submit",
        blocks=[
            InputBlock(block_id="customer", label="Customer", element=PlainTextInputElement(action_id="name")),
            InputBlock(block_id="contact", label="E-mail", element=EmailInputElement(action_id="email")),
            InputBlock(
                block_id="region_block",
                label="Region",
                element=StaticSelectElement(action_id="region", placeholder="Pick", options=REGIONS),
            ),
            InputBlock(
                block_id="page_type", label="Page type", element=RadioButtonsElement(action_id="kind", options=REGIONS)
            ),
            InputBlock(
                block_id="prereqs", label="Checks", element=CheckboxesElement(action_id="checks", options=PREREQS)
            ),
            InputBlock(block_id="owner", label="Owner", element=UserSelectElement(action_id="owner_user")),
            InputBlock(
                block_id="notes",
                label="Notes",
                optional=True,
                element=PlainTextInputElement(action_id="notes_text", multiline=True),
            ),
            InputBlock(
                block_id="page",
                label="Page",
                element=PlainTextInputElement(action_id="page_name", initial_value="Acme Page"),
            ),
        ],
    )


def verify(req: SignedRequest, body: str | None = None) -> bool:
    return SignatureVerifier(SIGNING_SECRET).is_valid(
        body=req.body if body is None else body,
        timestamp=req.headers["X-Slack-Request-Timestamp"],
        signature=req.headers["X-Slack-Signature"],
    )


@pytest.fixture
def sim(running: RunningFakeSlack) -> SlackUserSimulator:
    return SlackUserSimulator.for_server(running, signing_secret=SIGNING_SECRET)


@pytest.fixture
def open_modal(client: WebClient, state: FakeSlackState) -> str:
    view_id: str = client.views_open(trigger_id=state.issue_trigger("U1"), view=intake_modal())["view"]["id"]
    return view_id


def test_every_builder_signs_like_slack_and_tampering_breaks_it(
    sim: SlackUserSimulator, client: WebClient, open_modal: str
) -> None:
    card = client.chat_postMessage(
        channel="C1",
        text="card",
        blocks=[ActionsBlock(elements=[ButtonElement(text="Approve", action_id="approve", value="r-1")])],
    )
    message = sim.state.messages("C1")[0]
    assert message.ts == card["ts"]
    requests = [
        sim.slash_command("U1", text="help"),
        sim.click("U2", message=message, action_id="approve"),
        sim.submit_view("U1", view_id=open_modal, values={"name": "Acme"}),
        sim.event({"type": "app_home_opened", "user": "U1", "tab": "home"}),
        sim.url_verification("abc"),
    ]
    for req in requests:
        assert verify(req), req.kind
        assert not verify(req, req.body.replace("U1", "U9").replace("abc", "abd") + " "), req.kind
    assert requests[0].headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert requests[3].headers["Content-Type"] == "application/json"


def test_security_variants(sim: SlackUserSimulator) -> None:
    old = sim.slash_command("U1", timestamp_override=int(time.time()) - 600)
    forged = sim.slash_command("U1", signature_override="v0=" + "0" * 64)
    unsigned = sim.event({"type": "app_home_opened", "user": "U1"}, sign=False)
    retried = sim.event({"type": "app_home_opened", "user": "U1"}, retry_num=1)

    assert not verify(old)  # outside the 5-minute replay window
    # The old request is still correctly signed: only its age makes it invalid.
    assert SignatureVerifier(SIGNING_SECRET, clock=_Frozen(float(old.headers["X-Slack-Request-Timestamp"]))).is_valid(
        old.body, old.headers["X-Slack-Request-Timestamp"], old.headers["X-Slack-Signature"]
    )
    assert not verify(forged)
    assert "X-Slack-Signature" not in unsigned.headers
    assert retried.headers["X-Slack-Retry-Num"] == "1" and verify(retried)


class _Frozen(Clock):
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def test_slash_command_fields_trigger_and_response_url(
    sim: SlackUserSimulator, client: WebClient, running: RunningFakeSlack
) -> None:
    fields = sim.slash_command("U1", text="status acme").payload()
    assert (fields["command"], fields["text"], fields["user_name"], fields["channel_id"]) == (
        "/onboard",
        "status acme",
        "alice",
        "C_ONBOARD",
    )
    assert client.views_open(trigger_id=fields["trigger_id"], view=intake_modal())["ok"]
    assert fields["response_url"].startswith(running.base_url + "/_fake/response/")
    loopback.post(fields["response_url"], json={"text": "Here is the status"})
    assert [e.text for e in running.state.ephemerals_for("U1")] == ["Here is the status"]


def test_submit_view_encodes_each_element_type(sim: SlackUserSimulator, open_modal: str) -> None:
    req = sim.submit_view(
        "U1",
        view_id=open_modal,
        values={
            "name": "Acme",
            "email": "ops@acme.example",
            "region_block": "eu",  # keyed by block_id this time
            "kind": "us",
            "checks": ["verified", "admin"],
            "owner_user": "U2",
        },
    )
    payload = req.payload()
    view = payload["view"]
    values = view["state"]["values"]
    assert payload["type"] == "view_submission" and payload["trigger_id"]
    assert (view["id"], view["callback_id"], view["private_metadata"]) == (
        open_modal,
        "onboard_submit",
        '{"request": "r-1"}',
    )
    assert view["hash"] == sim.state.views[open_modal].hash
    assert values["customer"]["name"] == {"type": "plain_text_input", "value": "Acme"}
    assert values["contact"]["email"] == {"type": "email_text_input", "value": "ops@acme.example"}
    assert values["region_block"]["region"] == {
        "type": "static_select",
        "selected_option": {"text": {"type": "plain_text", "text": "EU", "emoji": True}, "value": "eu"},
    }
    assert values["page_type"]["kind"]["selected_option"]["value"] == "us"
    assert [o["value"] for o in values["prereqs"]["checks"]["selected_options"]] == ["verified", "admin"]
    assert values["owner"]["owner_user"] == {"type": "users_select", "selected_user": "U2"}
    assert values["notes"]["notes_text"] == {"type": "plain_text_input", "value": None}
    assert values["page"]["page_name"]["value"] == "Acme Page"  # untouched field keeps its initial value


def test_submit_view_rejects_unknown_fields_and_options(sim: SlackUserSimulator, open_modal: str) -> None:
    with pytest.raises(KeyError):
        sim.submit_view("U1", view_id=open_modal, values={"nmae": "typo"})
    with pytest.raises(ValueError):
        sim.submit_view("U1", view_id=open_modal, values={"region": "mars"})
    with pytest.raises(LookupError):
        sim.submit_view("U2", view_id=open_modal, values={})  # not U2's modal


def test_click_fills_block_id_value_container_and_response_url(sim: SlackUserSimulator, client: WebClient) -> None:
    blocks = [
        SectionBlock(text="Acme", block_id="summary"),
        ActionsBlock(
            block_id="decide",
            elements=[
                ButtonElement(text="Approve", action_id="approve", value="r-1"),
                ButtonElement(text="Reject", action_id="reject", value="r-1"),
            ],
        ),
    ]
    posted = client.chat_postMessage(channel="C1", text="card", blocks=blocks)
    reply = client.chat_postMessage(channel="C1", text="thread reply", thread_ts=posted["ts"])
    message = sim.state.messages("C1")[0]

    payload = sim.click("U2", message=message, action_id="reject").payload()
    action = payload["actions"][0]
    assert (action["action_id"], action["block_id"], action["value"], action["type"]) == (
        "reject",
        "decide",
        "r-1",
        "button",
    )
    assert action["text"]["text"] == "Reject"
    assert payload["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": "C1",
        "is_ephemeral": False,
    }
    assert (payload["channel"]["id"], payload["message"]["ts"], payload["user"]["id"]) == ("C1", posted["ts"], "U2")
    assert payload["message"]["blocks"][1]["elements"][0]["action_id"] == "approve"
    assert payload["response_url"].startswith(sim.response_base_url)
    with pytest.raises(LookupError):
        sim.click("U2", message=sim.state.messages("C1")[1], action_id="approve")
    forged = sim.click("U2", message=message, action_id="gone", block_id="decide", value="x", allow_missing=True)
    assert forged.payload()["actions"][0]["value"] == "x"
    assert reply["ts"] > posted["ts"]


def test_click_in_view_and_home(sim: SlackUserSimulator, client: WebClient, open_modal: str) -> None:
    home = View(
        type="home",
        blocks=[ActionsBlock(block_id="h", elements=[ButtonElement(text="New", action_id="new_onboarding")])],
    )
    client.views_publish(user_id="U1", view=home)
    home_click = sim.click_home("U1", "new_onboarding").payload()
    assert home_click["container"]["type"] == "view"
    assert home_click["view"]["type"] == "home" and home_click["actions"][0]["action_id"] == "new_onboarding"

    in_modal = sim.click_in_view("U1", view_id=open_modal, action_id="region", value="br", values={"name": "Ac"})
    payload = json.loads(dict(httpx.QueryParams(in_modal.body))["payload"])
    assert payload["actions"][0]["selected_option"]["value"] == "br"
    assert payload["view"]["state"]["values"]["customer"]["name"]["value"] == "Ac"
    assert in_modal.view_id == open_modal


def test_close_view_emits_view_closed_only_with_notify_on_close(sim: SlackUserSimulator, client: WebClient) -> None:
    quiet = client.views_open(trigger_id=sim.state.issue_trigger("U1"), view=intake_modal())["view"]["id"]
    assert sim.close_view("U1", view_id=quiet) is None
    assert sim.state.views[quiet].closed

    loud_view = intake_modal()
    loud_view.notify_on_close = True
    loud = client.views_open(trigger_id=sim.state.issue_trigger("U1"), view=loud_view)["view"]["id"]
    closed = sim.close_view("U1", view_id=loud)
    assert closed is not None and closed.payload()["type"] == "view_closed" and verify(closed)
