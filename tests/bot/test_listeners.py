"""Listeners called directly, as plain functions: Bolt's own Ack, a real WebClient on the fake Slack,
and the bot's collaborators passed explicitly. One test (at least) per listener module."""

from __future__ import annotations

import socket
import threading
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot.listeners import actions, commands, events, views
from bot.slack.client import make_web_client
from bot.slack.response_url import answer_by_response_url
from store.states import OnboardingState
from tests.bot.harness import CHANNEL, LEAD, REQUESTER, STAFF, BotHarness


def client(bot: BotHarness) -> WebClient:
    return make_web_client(bot.settings, background=False)


def button_body(user: str, case_id: int = 1) -> dict[str, Any]:
    return {"type": "block_actions", "user": {"id": user}, "actions": [{"value": str(case_id)}],
            "trigger_id": "unused"}


def view_body(user: str, metadata: str, values: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    view = {"private_metadata": metadata, "state": {"values": values}}
    return {"type": "view_submission", "user": {"id": user}, "view": view}, view


def slash(bot: BotHarness, text: str) -> tuple[dict[str, Any], Respond]:
    """A /onboard payload as Slack sends it, and Bolt's `respond` for its (loopback) response_url."""
    command = bot.sim.slash_command(REQUESTER, text=text, channel_id=CHANNEL).payload()
    return command, Respond(response_url=command["response_url"])


def answers(bot: BotHarness) -> list[dict[str, Any]]:
    """What the bot posted to response_urls."""
    return [post.body for post in bot.slack_state.response_posts]


def test_approve_acknowledges_and_moves_the_case(bot: BotHarness) -> None:
    bot.submit_intake()
    ack = Ack()
    actions.approve(ack=ack, body=button_body(LEAD), client=client(bot), deps=bot.deps)
    assert ack.response is not None and ack.response.status == 200
    assert bot.case().state is OnboardingState.CREATING_PROJECT
    assert bot.case().approver_id == LEAD


def test_invitation_sent_refuses_a_case_in_the_wrong_state(bot: BotHarness) -> None:
    bot.submit_intake()
    ack = Ack()
    try:
        actions.invitation_sent(ack=ack, body=button_body(STAFF), client=client(bot), deps=bot.deps)
    except Exception as exc:  # the refusal is raised to Bolt's error handling, after the ack
        assert "waiting for approval" in str(exc)
    else:
        raise AssertionError("an invitation was recorded for a case awaiting approval")
    assert ack.response is not None
    assert bot.case().state is OnboardingState.AWAITING_APPROVAL


def test_an_unknown_subcommand_is_answered_privately(bot: BotHarness) -> None:
    ack = Ack()
    command, respond = slash(bot, "frobnicate")
    commands.onboard(ack=ack, command=command, client=client(bot), respond=respond, deps=bot.deps)
    assert ack.response is not None
    [answer] = answers(bot)
    assert (answer["text"], answer["response_type"]) == ("I don't know `frobnicate`. Try `/onboard help`.",
                                                         "ephemeral")


def test_status_shows_the_card_without_its_buttons(bot: BotHarness) -> None:
    bot.submit_intake()
    command, respond = slash(bot, "status #1")
    commands.onboard(ack=Ack(), command=command, client=client(bot), respond=respond, deps=bot.deps)
    [said] = answers(bot)
    assert "Acme Bikes" in said["text"] and all(block["type"] != "actions" for block in said["blocks"])


def test_home_refresh_publishes_the_home_tab(bot: BotHarness) -> None:
    ack = Ack()
    events.home_refresh(ack=ack, body={"user": {"id": STAFF}}, client=client(bot), deps=bot.deps)
    assert ack.response is not None
    assert STAFF in bot.slack_state.home_views


def test_a_reject_without_a_reason_is_refused_in_the_form(bot: BotHarness) -> None:
    bot.submit_intake()
    ack = Ack()
    body, view = view_body(LEAD, "1", {"reason": {"reason": {"type": "plain_text_input", "value": "  "}}})
    views.reject(ack=ack, body=body, view=view, client=client(bot), deps=bot.deps)
    assert ack.response is not None and ack.response.body
    assert "Give a reason" in str(ack.response.body)
    assert bot.case().state is OnboardingState.AWAITING_APPROVAL


def test_a_reject_with_a_reason_closes_the_form_and_the_case(bot: BotHarness) -> None:
    bot.submit_intake()
    ack = Ack()
    body, view = view_body(LEAD, "1", {"reason": {"reason": {"type": "plain_text_input", "value": "Wrong page"}}})
    views.reject(ack=ack, body=body, view=view, client=client(bot), deps=bot.deps)
    assert ack.response is not None and ack.response.status == 200 and not ack.response.body
    assert bot.case().state is OnboardingState.REJECTED and bot.case().rejection_reason == "Wrong page"


def test_an_answer_whose_response_url_hangs_up_is_tried_once_then_left_to_the_fallback() -> None:
    """The answer goes out before the ack; a retry after a back-off would spend Slack's 3 s on a sleep."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = 0

    def hang_up() -> None:
        nonlocal accepted
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return  # closed: the test is over
            accepted += 1
            connection.close()  # before any response: "Remote end closed connection"

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    try:
        port = listener.getsockname()[1]
        assert not answer_by_response_url(Respond(response_url=f"http://127.0.0.1:{port}/hook"), text="hi")
    finally:
        listener.close()
        thread.join(timeout=5)
    assert accepted == 1
