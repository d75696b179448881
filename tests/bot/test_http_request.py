"""Reading an HTTP body for Bolt: a slash command that mentions "payload" is still a slash command."""

from __future__ import annotations

import json
from collections.abc import Sequence
from urllib.parse import urlencode

import httpx
from slack_bolt import BoltRequest

from bot.runtime import make_wsgi_app
from bot.slack.http_request import read_request
from tests.bot.harness import CHANNEL, REQUESTER, BotHarness

FORM: dict[str, str | Sequence[str]] = {"content-type": "application/x-www-form-urlencoded"}


def command_body(text: str) -> str:
    return urlencode({"command": "/onboard", "text": text, "user_id": REQUESTER, "team_id": "T0FAKE",
                      "channel_id": CHANNEL})


def test_a_command_whose_text_says_payload_is_read_as_the_form_bolt_alone_would_drop() -> None:
    raw = command_body("status payload-labs")
    assert BoltRequest(body=raw, headers=FORM).body == {}, "Bolt's own reading, which this module mends"
    request = read_request(raw, query="", headers=FORM)
    assert request.body["text"] == "status payload-labs"
    assert (request.context.user_id, request.context.channel_id) == (REQUESTER, CHANNEL)


def test_an_interactive_payload_is_read_as_bolt_reads_it() -> None:
    payload = {"type": "block_actions", "user": {"id": REQUESTER}, "text": "payload"}
    request = read_request(urlencode({"payload": json.dumps(payload)}), query="", headers=FORM)
    assert request.body == payload


def test_a_command_about_a_customer_called_payload_gets_its_answer(bot: BotHarness) -> None:
    """Through the bot's own HTTP entry (make_wsgi_app), as Slack would send it."""
    bot.submit_intake(customer_name="Payload Labs")
    signed = bot.sim.slash_command(REQUESTER, text="status payload labs", channel_id=CHANNEL)
    with httpx.Client(transport=httpx.WSGITransport(app=make_wsgi_app(bot.app)), base_url="http://bot.test") as http:
        response = http.post("/slack/events", content=signed.body.encode(), headers=signed.headers)
    assert response.status_code == 200
    told = [json.dumps(post.body) for post in bot.slack_state.response_posts]
    assert any("Payload Labs" in text for text in told)


def test_a_body_the_http_entry_already_read_is_handed_to_bolt_as_read() -> None:
    """The envelope's reading is the body Bolt's listeners see; the raw bytes stay for the signature check."""
    raw = command_body("status acme")
    parsed = {"command": "/onboard", "text": "status acme", "user_id": REQUESTER, "channel_id": CHANNEL}
    request = read_request(raw, query="", headers=FORM, parsed=parsed)
    assert request.body is parsed
    assert request.raw_body == raw
    assert (request.context.user_id, request.context.channel_id) == (REQUESTER, CHANNEL)
