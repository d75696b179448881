"""Ids and text longer than their columns (or holding a NUL) get a clear answer in Slack; nothing is written.

SQLite would store them anyway; PostgreSQL refuses them (StringDataRightTruncation; no NUL in any text), which
used to reach the person as "Something went wrong". Requests go through the bot's WSGI endpoint, signed as
Slack signs them, on whichever database the suite runs on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from bot.runtime import make_wsgi_app
from bot.slack.ids import ActionId
from bot.workflow import MAX_REASON
from devslack.simulator import SignedRequest
from store.limits import slack_id_length
from store.models import AuditEvent, Onboarding
from store.states import OnboardingState as S
from tests.bot.harness import CHANNEL, LEAD, REQUESTER, VALID_FORM, BotHarness

FORM = "application/x-www-form-urlencoded"
TOO_LONG = "U" + "X" * 40
REFUSAL = "that this bot cannot store"


class Endpoint:
    """The bot behind its WSGI app; requests are re-signed after a test changes them."""

    def __init__(self, bot: BotHarness) -> None:
        self.bot = bot
        self.http = httpx.Client(transport=httpx.WSGITransport(app=make_wsgi_app(bot.app)), base_url="http://bot")

    def post(self, request: SignedRequest, change: Callable[[dict[str, Any]], None] | None = None) -> httpx.Response:
        """Send `request`, after `change` edited its fields (a command) or its payload (an interaction)."""
        fields = dict(parse_qsl(request.body, keep_blank_values=True))
        if change is not None:
            if "payload" in fields:
                payload = json.loads(fields["payload"])
                change(payload)
                fields["payload"] = json.dumps(payload)
            else:
                change(fields)
        body = urlencode(fields)
        response = self.http.post("/slack/events", content=body.encode(),
                                  headers=self.bot.sim.signed_headers(body, FORM))
        self.bot.sim.apply_response(request, response.status_code, response.text)
        self.bot.deliver()
        return response

    def counts(self) -> tuple[int, int]:
        with Session(self.bot.deps.engine) as session:
            cases = session.exec(select(func.count()).select_from(Onboarding)).one()
            events = session.exec(select(func.count()).select_from(AuditEvent)).one()
        return int(cases), int(events)


@pytest.fixture
def endpoint(bot: BotHarness) -> Iterator[Endpoint]:
    running = Endpoint(bot)
    yield running
    running.http.close()


def _set(path: str, value: str) -> Callable[[dict[str, Any]], None]:
    """A change that sets a (dotted) field, e.g. `user.id` or `team_id`."""
    def change(payload: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = payload
        for key in parents:
            target = target[key]
        target[last] = value
    return change


def test_slack_ids_the_columns_can_hold_are_at_least_thirty_two_characters() -> None:
    assert slack_id_length() >= 32


@pytest.mark.parametrize("field", ["user_id", "team_id", "channel_id", "enterprise_id"])
def test_a_command_with_an_over_long_id_gets_an_ephemeral_answer_and_changes_nothing(endpoint: Endpoint,
                                                                                     field: str) -> None:
    before = endpoint.counts()
    response = endpoint.post(endpoint.bot.sim.slash_command(REQUESTER, text="", channel_id=CHANNEL),
                             _set(field, "X" * (slack_id_length() + 1)))
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_type"] == "ephemeral" and REFUSAL in answer["text"]
    assert field.removesuffix("_id") in answer["text"]
    assert endpoint.bot.slack_state.last_view_for(REQUESTER) is None, "no modal opened"
    assert endpoint.counts() == before


@pytest.mark.parametrize("field", ["user.id", "team.id", "view.id", "view.team_id"])
def test_an_intake_submission_with_an_over_long_id_gets_a_field_error_and_stores_nothing(endpoint: Endpoint,
                                                                                         field: str) -> None:
    view_id = endpoint.bot.open_intake()
    before = endpoint.counts()
    response = endpoint.post(endpoint.bot.sim.submit_view(REQUESTER, view_id=view_id, values=VALID_FORM),
                             _set(field, TOO_LONG))
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_action"] == "errors"
    (message,) = answer["errors"].values()
    assert REFUSAL in message
    assert endpoint.counts() == before == (0, 0)


@pytest.mark.parametrize("field", ["user.id", "channel.id", "container.channel_id", "team.id"])
def test_a_click_with_an_over_long_id_is_answered_ephemerally_and_changes_nothing(endpoint: Endpoint,
                                                                                  field: str) -> None:
    bot = endpoint.bot
    bot.submit_intake()
    before = endpoint.counts()
    response = endpoint.post(bot.sim.click(LEAD, message=bot.message_with(ActionId.APPROVE),
                                           action_id=ActionId.APPROVE), _set(field, TOO_LONG))
    assert response.status_code == 200
    assert bot.case().state == S.AWAITING_APPROVAL
    assert endpoint.counts() == before
    answers = [post.body.get("text", "") for post in bot.slack_state.response_posts]
    assert any(REFUSAL in text for text in answers), answers


def test_an_id_exactly_as_long_as_the_column_goes_through_on_every_database(endpoint: Endpoint) -> None:
    """The limit is the column's size, not less: a 32-character user id is stored and read back."""
    longest = "U" + "L" * (slack_id_length() - 1)
    bot = endpoint.bot
    bot.slack_state.add_user(longest, "lucia")
    view_id = bot.open_intake(longest)
    response = endpoint.post(bot.sim.submit_view(longest, view_id=view_id, values=VALID_FORM))
    assert response.status_code == 200 and response.text == ""
    assert (bot.case().requester_id, bot.case().state) == (longest, S.AWAITING_APPROVAL)
    assert [event.actor for event in bot.events()] == [longest]


@pytest.mark.parametrize("length", [MAX_REASON + 1, 5000])
def test_an_over_long_rejection_reason_is_refused_under_the_field(endpoint: Endpoint, length: int) -> None:
    bot = endpoint.bot
    bot.submit_intake()
    bot.click(LEAD, ActionId.REJECT)
    view = bot.slack_state.last_view_for(LEAD)
    assert view is not None
    before = endpoint.counts()
    response = endpoint.post(bot.sim.submit_view(LEAD, view_id=view.view_id, values={"reason": "x" * length}))
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_action"] == "errors"
    assert f"under {MAX_REASON} characters" in answer["errors"]["reason"]
    assert str(length) in answer["errors"]["reason"]
    assert bot.case().state == S.AWAITING_APPROVAL and endpoint.counts() == before


def test_a_rejection_reason_of_the_longest_allowed_length_is_kept_whole(endpoint: Endpoint) -> None:
    bot = endpoint.bot
    bot.submit_intake()
    bot.click(LEAD, ActionId.REJECT)
    view = bot.slack_state.last_view_for(LEAD)
    assert view is not None
    reason = "why " * (MAX_REASON // 4)
    response = endpoint.post(bot.sim.submit_view(LEAD, view_id=view.view_id, values={"reason": reason}))
    assert response.status_code == 200 and response.text == ""
    assert (bot.case().state, bot.case().rejection_reason) == (S.REJECTED, reason.strip())
    assert bot.events()[-1].detail == reason.strip()


def test_a_user_id_holding_a_nul_is_refused_like_an_over_long_one(endpoint: Endpoint) -> None:
    before = endpoint.counts()
    response = endpoint.post(endpoint.bot.sim.slash_command(REQUESTER, text="", channel_id=CHANNEL),
                             _set("user_id", "U0\x00REQ"))
    assert response.status_code == 200 and REFUSAL in response.json()["text"]
    assert endpoint.counts() == before


@pytest.mark.parametrize("reason", ["bad\x00page", "bad\ud800page"])
def test_a_reason_holding_a_nul_or_a_lone_surrogate_is_refused_under_the_field(endpoint: Endpoint, reason: str) -> None:
    bot = endpoint.bot
    bot.submit_intake()
    bot.click(LEAD, ActionId.REJECT)
    view = bot.slack_state.last_view_for(LEAD)
    assert view is not None
    response = endpoint.post(bot.sim.submit_view(LEAD, view_id=view.view_id, values={"reason": "placeholder"}),
                             _set("view.state.values.reason.reason.value", reason))
    assert "cannot be stored" in response.json()["errors"]["reason"]
    assert bot.case().state == S.AWAITING_APPROVAL and bot.case().rejection_reason is None


def test_a_click_from_a_user_id_with_a_lone_surrogate_is_refused(endpoint: Endpoint) -> None:
    bot = endpoint.bot
    bot.submit_intake()
    before = endpoint.counts()
    response = endpoint.post(bot.sim.click(LEAD, message=bot.message_with(ActionId.APPROVE),
                                           action_id=ActionId.APPROVE), _set("user.id", "U0\udc80LEAD"))
    assert response.status_code == 200
    assert bot.case().state == S.AWAITING_APPROVAL and endpoint.counts() == before


def test_a_status_search_holding_a_nul_searches_without_it_rather_than_failing(endpoint: Endpoint) -> None:
    bot = endpoint.bot
    bot.submit_intake()
    before = len(bot.slack_state.response_posts)
    response = endpoint.post(bot.sim.slash_command(REQUESTER, text="status acme\x00", channel_id=CHANNEL))
    assert response.status_code == 200
    (answer,) = bot.slack_state.response_posts[before:]
    assert "Acme Bikes" in json.dumps(answer.body)  # the NUL is dropped, as intake fields drop it (issue 23, A10)
