"""The four-eyes rule: a requester never decides their own request, approve or reject.

An approver who opened an onboarding cannot approve it (the button) nor reject it, not even with a modal
submission crafted by hand and signed (the reject form never opened for them): the workflow refuses, the
case stays awaiting approval, and the refusal shows under the form's field. Cancelling their own request
is a different action and stays allowed. ALLOW_SELF_APPROVAL (for a team with a single approver) lifts
the rule for both decisions. Every request goes through the signed HTTP endpoint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from bot.runtime import make_wsgi_app
from bot.slack.ids import ActionId, CallbackId
from devslack import SignedRequest
from store.states import OnboardingState as S
from tests.bot.harness import LEAD, BotHarness
from tests.security.figures import FIGURES


def post(bot: BotHarness, request: SignedRequest) -> httpx.Response:
    client = httpx.Client(transport=httpx.WSGITransport(app=make_wsgi_app(bot.app)), base_url="http://bot")
    response = client.post("/slack/events", content=request.body.encode(), headers=request.headers)
    bot.deliver()
    return response


def crafted_reject(bot: BotHarness, user: str, case_id: int, reason: str) -> SignedRequest:
    """A reject form submission the user builds themselves: the form never opened for them."""
    payload: dict[str, Any] = {
        "type": "view_submission", "team": {"id": bot.slack_state.team_id}, "api_app_id": bot.slack_state.app_id,
        "user": {"id": user, "team_id": bot.slack_state.team_id}, "trigger_id": bot.slack_state.issue_trigger(user),
        "view": {"id": "V0CRAFTED", "type": "modal", "callback_id": CallbackId.REJECT,
                 "private_metadata": str(case_id),
                 "state": {"values": {"reason": {"reason": {"type": "plain_text_input", "value": reason}}}}},
    }
    body = urlencode({"payload": json.dumps(payload)})
    return SignedRequest(body=body, headers=bot.sim.signed_headers(body, "application/x-www-form-urlencoded"),
                         kind="view_submission")


@pytest.fixture
def own_request(tmp_path: Path, migrated_database_url: str) -> Any:
    bot = BotHarness(tmp_path, database_url=migrated_database_url)
    bot.submit_intake(LEAD)  # an approver asks for an onboarding themselves
    yield bot
    bot.close()


def test_an_approver_cannot_reject_their_own_request_even_by_a_crafted_submission(own_request: BotHarness) -> None:
    bot = own_request
    response = post(bot, crafted_reject(bot, LEAD, 1, "changed my mind"))
    assert response.status_code == 200
    errors = response.json()["errors"]
    assert "another approver has to reject it" in errors["reason"]
    case = bot.case()
    assert (case.state, case.rejection_reason, case.approver_id) == (S.AWAITING_APPROVAL, None, None)
    assert [event.action for event in bot.events()] == ["submit"]
    FIGURES["four eyes: self-decisions refused"] += 1


def test_nor_approve_it_nor_open_the_reject_form(own_request: BotHarness) -> None:
    bot = own_request
    for action in (ActionId.APPROVE, ActionId.REJECT):
        message = bot.message_with(action)
        assert post(bot, bot.sim.click(LEAD, message=message, action_id=action)).status_code == 200
    assert bot.case().state == S.AWAITING_APPROVAL
    refusals = bot.ephemerals(LEAD)
    assert any("another approver has to approve it" in text for text in refusals), refusals
    assert any("another approver has to reject it" in text for text in refusals), refusals
    assert bot.slack_state.last_view_for(LEAD) is None or \
        bot.slack_state.last_view_for(LEAD).view.get("callback_id") != CallbackId.REJECT  # type: ignore[union-attr]
    FIGURES["four eyes: self-decisions refused"] += 2


def test_cancelling_their_own_request_stays_allowed(own_request: BotHarness) -> None:
    bot = own_request
    assert post(bot, bot.sim.slash_command(LEAD, text="cancel 1", channel_id="C0ONBOARD")).status_code == 200
    view = bot.slack_state.last_view_for(LEAD)
    assert view is not None and view.view.get("callback_id") == CallbackId.CANCEL
    response = post(bot, bot.sim.submit_view(LEAD, view_id=view.view_id, values={"reason": "not needed"}))
    assert (response.status_code, response.text) == (200, "")
    assert (bot.case().state, bot.case().cancel_reason) == (S.CANCELLED, "not needed")


def test_allow_self_approval_lifts_the_rule_for_both_decisions(tmp_path: Path, migrated_database_url: str) -> None:
    bot = BotHarness(tmp_path, database_url=migrated_database_url, ALLOW_SELF_APPROVAL="true")
    try:
        bot.submit_intake(LEAD)
        bot.submit_intake(LEAD, customer_name="Beta Bakery", contact_email="b@beta.test")
        assert post(bot, crafted_reject(bot, LEAD, 1, "not a customer")).text == ""
        assert (bot.case(1).state, bot.case(1).approver_id) == (S.REJECTED, LEAD)
        message = bot.message_with(ActionId.APPROVE, case_id=2)
        assert post(bot, bot.sim.click(LEAD, message=message, action_id=ActionId.APPROVE)).status_code == 200
        assert (bot.case(2).state, bot.case(2).approver_id) == (S.CREATING_PROJECT, LEAD)
    finally:
        bot.close()
