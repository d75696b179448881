"""A small Bolt app driven through the simulator, in-process and over HTTP, against the fake Web API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from slack_bolt import Ack, App, Respond
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from devslack import BackgroundServer, RunningFakeSlack, SlackUserSimulator, render_thread

SECRET = "bolt-flow-secret"


def intake() -> View:
    return View(
        type="modal",
        callback_id="onboard_submit",
        title="Onboard",
        submit="Submit",
        blocks=[InputBlock(block_id="customer", label="Customer", element=PlainTextInputElement(action_id="name"))],
    )


def build_app(client: WebClient) -> App:
    # process_before_response makes dispatch return only after the listener finished: no waiting in tests.
    app = App(client=client, signing_secret=SECRET, process_before_response=True)

    @app.command("/onboard")
    def onboard(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=intake())

    @app.view("onboard_submit")
    def submit(ack: Ack, view: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        name = view["state"]["values"]["customer"]["name"]["value"]
        if not name:
            ack(response_action="errors", errors={"customer": "Enter the customer's name"})
            return
        ack()
        card = client.chat_postMessage(
            channel="C_ONBOARD",
            text=f"{name}: awaiting approval",
            blocks=[
                SectionBlock(text=f"*{name}* awaiting approval", block_id="summary"),
                ActionsBlock(
                    block_id="decide", elements=[ButtonElement(text="Approve", action_id="approve", value=name)]
                ),
            ],
        )
        client.chat_postMessage(channel="C_ONBOARD", thread_ts=card["ts"], text=f"Requested by <@{body['user']['id']}>")

    @app.action("approve")
    def approve(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        user = body["user"]["id"]
        ts = body["message"]["ts"]
        client.chat_update(
            channel=body["channel"]["id"],
            ts=ts,
            text=f"{body['actions'][0]['value']}: approved",
            blocks=[
                SectionBlock(text=f"*{body['actions'][0]['value']}* approved"),
                ContextBlock(elements=[MarkdownTextObject(text=f"Approved by <@{user}>")]),
            ],
        )
        client.chat_postMessage(channel=body["channel"]["id"], thread_ts=ts, text=f"Approved by <@{user}>")
        respond(text="Thanks, recorded.")

    @app.event("app_home_opened")
    def home(event: dict[str, Any], client: WebClient) -> None:
        client.views_publish(user_id=event["user"], view=View(type="home", blocks=[SectionBlock(text="Hi")]))

    return app


@pytest.fixture
def app(client: WebClient) -> App:
    return build_app(client)


def test_full_flow_in_process(app: App, running: RunningFakeSlack) -> None:
    state = running.state
    sim = SlackUserSimulator.for_server(running, signing_secret=SECRET)
    assert state.calls_to("auth.test")  # Bolt verified its token against the fake at start-up

    assert sim.dispatch(app, sim.slash_command("U1")).status == 200
    view = state.last_view_for("U1", open_only=True)
    assert view is not None and view.callback_id == "onboard_submit"

    rejected = sim.dispatch(app, sim.submit_view("U1", view_id=view.view_id, values={}))
    assert rejected.status == 200
    assert view.errors == {"customer": "Enter the customer's name"} and not view.closed

    accepted = sim.dispatch(app, sim.submit_view("U1", view_id=view.view_id, values={"name": "Acme"}))
    assert (accepted.status, view.closed) == (200, True)
    card = state.messages("C_ONBOARD", top_level_only=True)[0]

    assert sim.dispatch(app, sim.click("U2", message=card, action_id="approve")).status == 200
    assert card.text == "Acme: approved" and len(card.edits) == 1
    assert [m.text for m in state.thread("C_ONBOARD", card.ts)[1:]] == ["Requested by <@U1>", "Approved by <@U2>"]
    assert [e.text for e in state.ephemerals_for("U2")] == ["Thanks, recorded."]

    transcript = render_thread(state, "C_ONBOARD", card.ts)
    assert "Approved by @bob" in transcript and "*Acme* approved" in transcript
    assert "[Approve]" not in transcript  # the button was replaced by the record of who clicked


def test_bad_signatures_are_refused_by_bolt(app: App, running: RunningFakeSlack) -> None:
    sim = SlackUserSimulator.for_server(running, signing_secret=SECRET)
    wrong_secret = SlackUserSimulator.for_server(running, signing_secret="not-the-secret")
    assert sim.dispatch(app, sim.slash_command("U1", sign=False)).status == 401
    assert sim.dispatch(app, wrong_secret.slash_command("U1")).status == 401
    assert sim.dispatch(app, sim.slash_command("U1", timestamp_override=1_000_000_000)).status == 401
    assert running.state.calls_to("views.open") == []


@pytest.fixture
def bot_server(app: App) -> Iterator[BackgroundServer]:
    with BackgroundServer(SlackRequestHandler(app), name="bolt-under-test") as server:
        yield server


def test_over_http_with_send(bot_server: BackgroundServer, running: RunningFakeSlack) -> None:
    sim = SlackUserSimulator.for_server(
        running, signing_secret=SECRET, events_url=bot_server.base_url + "/slack/events"
    )
    assert sim.send(sim.event({"type": "app_home_opened", "user": "U1", "tab": "home"})).status_code == 200
    assert running.state.home_views["U1"].view["blocks"][0]["text"]["text"] == "Hi"

    assert sim.send(sim.slash_command("U1")).status_code == 200
    view = running.state.last_view_for("U1")
    assert view is not None
    resp = sim.send(sim.submit_view("U1", view_id=view.view_id, values={"name": "Globex"}))
    assert resp.status_code == 200 and view.closed  # send() applied the plain ack: the modal closed
    assert running.state.messages("C_ONBOARD")[0].text == "Globex: awaiting approval"
    assert sim.send(sim.url_verification("c-123")).json() == {"challenge": "c-123"}
    assert sim.send(sim.slash_command("U1", signature_override="v0=00")).status_code == 401
