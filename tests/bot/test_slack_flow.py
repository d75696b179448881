"""The Slack surfaces end to end: signed requests in, real WebClient calls out to the fake Slack."""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.background import jobs
from bot.slack.ids import ActionId
from devslack import SignedRequest
from store.states import OnboardingState as S
from tests.bot.harness import CHANNEL, GROUP_LEAD, LEAD, OUTSIDER, REQUESTER, STAFF, VALID_FORM, BotHarness


def register_project(bot: BotHarness, *, region: str = "eu") -> dict[str, str]:
    creds = bot.sandbox.create_project("Acme Bikes", region)
    bot.click(STAFF, ActionId.REGISTER_PROJECT)
    bot.submit_modal(STAFF, {"project_id": creds.project_id, "key_id": creds.key_id,
                             "key_secret": creds.key_secret})
    return {"project_id": creds.project_id, "key_id": creds.key_id, "key_secret": creds.key_secret}


def test_slash_command_opens_the_intake_modal_before_anything_else(bot: BotHarness) -> None:
    response = bot.send(bot.sim.slash_command(REQUESTER, text="", channel_id=CHANNEL))
    assert response.status == 200
    methods = [call.method for call in bot.slack_state.calls]
    # The only Web API call the command makes is views.open (auth.test is Bolt's own start-up check).
    assert [m for m in methods if m != "auth.test"] == ["views.open"]
    view = bot.slack_state.last_view_for(REQUESTER)
    assert view is not None and view.view["callback_id"] == "onboard_intake"
    assert bot.outbox() == []


def test_field_errors_come_back_in_the_modal_and_nothing_is_stored(bot: BotHarness) -> None:
    response = bot.submit_intake(contact_email="nope", prerequisites=["chat_button"])
    body = json.loads(response.body)
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"contact_email", "prerequisites"}
    assert bot.outbox() == []


def test_intake_posts_the_status_card_and_the_approval_request_in_its_thread(bot: BotHarness) -> None:
    assert bot.submit_intake().status == 200
    card, request = bot.thread()
    assert "Acme Bikes" in card.text and card.thread_ts is None
    assert "Approval needed" in json.dumps(request.blocks)
    assert f"<@{LEAD}>" in json.dumps(request.blocks) and "<!subteam^S0LEADS>" in json.dumps(request.blocks)
    assert bot.case().state == S.AWAITING_APPROVAL


def test_a_duplicate_is_refused_with_a_pointer_to_the_open_case(bot: BotHarness) -> None:
    bot.submit_intake()
    response = bot.submit_intake(user=STAFF, customer_name="ACME bikes", contact_email="other@acme.test")
    body = json.loads(response.body)
    assert "#1" in body["errors"]["customer_name"]
    assert any("slack.com/archives" in text for text in bot.ephemerals(STAFF))


def test_only_approvers_approve_and_others_get_an_explanation(bot: BotHarness) -> None:
    bot.submit_intake()
    bot.click(OUTSIDER, ActionId.APPROVE)
    assert bot.case().state == S.AWAITING_APPROVAL
    assert any("APPROVERS" in text for text in bot.ephemerals(OUTSIDER))


def test_a_member_of_an_approver_group_may_approve(bot: BotHarness) -> None:
    bot.submit_intake()
    bot.click(GROUP_LEAD, ActionId.APPROVE)
    assert (bot.case().state, bot.case().approver_id) == (S.CREATING_PROJECT, GROUP_LEAD)


def test_the_requester_cannot_approve_their_own_request(bot: BotHarness) -> None:
    bot.submit_intake(user=LEAD)
    bot.click(LEAD, ActionId.APPROVE)
    assert bot.case().state == S.AWAITING_APPROVAL
    assert any("another approver" in text for text in bot.ephemerals(LEAD))


def test_approving_replaces_the_buttons_with_who_approved_and_posts_the_project_step(bot: BotHarness) -> None:
    bot.submit_intake()
    request = bot.message_with(ActionId.APPROVE)
    bot.click(LEAD, ActionId.APPROVE, message=request)
    updated = bot.slack_state.find_message(CHANNEL, request.ts)
    assert updated is not None
    blocks = json.dumps(updated.blocks)
    assert ActionId.APPROVE.value not in blocks and "Approved" in blocks and f"<@{LEAD}>" in blocks
    assert "not a subproject" in json.dumps(bot.message_with(ActionId.REGISTER_PROJECT).blocks)
    card = bot.thread()[0]
    assert card.edits, "the status card was re-rendered with chat.update"


def test_a_second_click_on_approve_changes_nothing(bot: BotHarness) -> None:
    bot.submit_intake()
    # A second approver still sees the buttons (their client has not refreshed yet).
    stale = copy.deepcopy(bot.message_with(ActionId.APPROVE))
    bot.click(LEAD, ActionId.APPROVE, message=stale)
    bot.click(GROUP_LEAD, ActionId.APPROVE, message=stale)
    assert [e.action for e in bot.events()].count("approve") == 1
    assert any("cannot be approved" in text for text in bot.ephemerals(GROUP_LEAD))


@pytest.mark.parametrize("value", ["2147483648", "9223372036854775808", "0"])
def test_a_button_naming_no_storable_case_is_refused_on_every_database(bot: BotHarness, value: str) -> None:
    bot.submit_intake()
    forged = copy.deepcopy(bot.message_with(ActionId.APPROVE))
    for block in forged.blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == ActionId.APPROVE.value:
                element["value"] = value  # past PostgreSQL's INTEGER: it would refuse the query outright
    response = bot.click(LEAD, ActionId.APPROVE, message=forged)
    assert response.status == 200
    assert any("does not belong to a known onboarding" in text for text in bot.ephemerals(LEAD))
    assert bot.case().state is S.AWAITING_APPROVAL


def test_reject_asks_for_a_reason(bot: BotHarness) -> None:
    bot.submit_intake()
    bot.click(LEAD, ActionId.REJECT)
    response = bot.submit_modal(LEAD, {"reason": "   "})
    assert json.loads(response.body)["response_action"] == "errors"
    bot.submit_modal(LEAD, {"reason": "Not our customer"})
    assert (bot.case().state, bot.case().rejection_reason) == (S.REJECTED, "Not our customer")


def test_a_wrong_key_is_a_field_error_and_stores_nothing(bot: BotHarness) -> None:
    bot.submit_intake()
    bot.click(LEAD, ActionId.APPROVE)
    creds = bot.sandbox.create_project("Acme Bikes", "eu")
    bot.click(STAFF, ActionId.REGISTER_PROJECT)
    response = bot.submit_modal(STAFF, {"project_id": creds.project_id, "key_id": creds.key_id,
                                        "key_secret": "wrong-secret"})
    assert "key_secret" in json.loads(response.body)["errors"]
    other = bot.sandbox.create_project("Someone Else", "eu")
    response = bot.submit_modal(STAFF, {"project_id": creds.project_id, "key_id": other.key_id,
                                        "key_secret": other.key_secret})
    assert "does not belong" in json.loads(response.body)["errors"]["project_id"]
    case = bot.case()
    assert (case.state, case.project_id, case.key_secret_sealed) == (S.CREATING_PROJECT, None, None)


def test_the_whole_onboarding_through_slack(bot: BotHarness) -> None:
    bot.submit_intake(region="br")
    bot.click(LEAD, ActionId.APPROVE)
    creds = register_project(bot, region="br")

    case = bot.case()
    assert case.state == S.INVITING
    assert creds["key_secret"] not in (case.key_secret_sealed or "")
    apps = bot.sandbox.state()["apps"]
    assert [app["id"] for app in apps["br"]] == [case.app_id] and apps["us"] == [] and apps["eu"] == []
    texts = "\n".join(bot.thread_texts())
    assert "Limited member" in texts and "System User access token" in texts

    bot.click(STAFF, ActionId.INVITATION_SENT)
    assert bot.case().state == S.AWAITING_CUSTOMER

    assert case.app_id is not None
    bot.sandbox.connect_page(creds["project_id"], case.app_id, page_name="Acme Bikes Page", delay_seconds=60)
    jobs.poll_sweep(bot.deps)
    bot.deliver()
    assert bot.case().state == S.ACTIVATING
    bot.clock.advance(minutes=2)
    bot.sandbox_time += 120
    jobs.poll_sweep(bot.deps)
    bot.deliver()
    assert bot.case().state == S.REVOKING
    assert "Remove the customer" in json.dumps(bot.message_with(ActionId.ACCESS_REMOVED).blocks)

    bot.click(STAFF, ActionId.ACCESS_REMOVED)
    case = bot.case()
    assert (case.state, case.key_secret_sealed) == (S.COMPLETED, None)
    assert [e.to_state for e in bot.events() if e.to_state] == [
        S.AWAITING_APPROVAL, S.CREATING_PROJECT, S.CREATING_APP, S.INVITING, S.AWAITING_CUSTOMER, S.ACTIVATING,
        S.REVOKING, S.COMPLETED]
    thread = "\n".join(bot.thread_texts())
    assert "PENDING" in thread and "ACTIVE" in thread and "Access removed" in thread
    buttons_left = [m for m in bot.thread()[1:] if '"type": "button"' in json.dumps(m.blocks)]
    assert buttons_left == [], "every used step button was replaced by a record"


def test_cancel_after_the_invite_goes_through_access_removal(bot: BotHarness) -> None:
    bot.submit_intake()
    bot.click(LEAD, ActionId.APPROVE)
    register_project(bot)
    bot.click(STAFF, ActionId.INVITATION_SENT)
    bot.send(bot.sim.slash_command(REQUESTER, text="cancel 1", channel_id=CHANNEL))
    bot.submit_modal(REQUESTER, {"reason": "Customer went elsewhere"})
    assert (bot.case().state, bot.case().revoke_outcome) == (S.REVOKING, S.CANCELLED)
    bot.click(STAFF, ActionId.ACCESS_REMOVED)
    assert bot.case().state == S.CANCELLED


def test_a_customer_name_with_mentions_pings_nobody(bot: BotHarness) -> None:
    bot.submit_intake(customer_name="<!channel> <@U0OTHER> & co", notes="<!here> please")
    bodies = [json.dumps(call.params) for call in bot.slack_state.calls
              if call.method in ("chat.postMessage", "chat.update")]
    assert bodies
    for body in bodies:
        decoded = json.loads(body)
        for text in _mrkdwn_texts(decoded):
            assert "<!channel>" not in text and "<!here>" not in text and "<@U0OTHER>" not in text


def _mrkdwn_texts(params: dict[str, Any]) -> list[str]:
    texts = [str(params.get("text", ""))]
    blocks = params.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                texts.append(node.get("text", ""))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks or [])
    return texts


def test_a_sinch_503_during_app_creation_is_retried_then_offered_as_a_retry_button(bot: BotHarness) -> None:
    bot.submit_intake()
    bot.click(LEAD, ActionId.APPROVE)
    bot.sandbox.add_fault("/apps$", method="POST", status=503, count=3)
    register_project(bot)
    assert (bot.case().state, bot.case().app_attempts) == (S.CREATING_APP, 1)
    for _ in range(2):  # the scheduler retries quietly before asking a person
        bot.clock.advance(minutes=5)
        jobs.poll_sweep(bot.deps)
        bot.deliver()
    case = bot.case()
    assert (case.state, case.app_attempts) == (S.CREATING_APP, 3)
    failure = bot.message_with(ActionId.RETRY_APP)
    assert "503" in json.dumps(failure.blocks)
    bot.click(STAFF, ActionId.RETRY_APP, message=failure)
    assert bot.case().state == S.INVITING
    assert len(bot.sandbox.state()["apps"]["eu"]) == 1
    resolved = bot.slack_state.find_message(CHANNEL, failure.ts)
    assert resolved is not None and "Retry requested" in json.dumps(resolved.blocks)


def _with_value(bot: BotHarness, view_id: str, field: str, value: object) -> SignedRequest:
    """A signed submission of valid values except `field`, set as Slack would send a bad entry (even one the
    form could not produce, like an unknown region: payloads can be forged by anyone holding the secret)."""
    payload = bot.sim.submit_view(REQUESTER, view_id=view_id, values=VALID_FORM).payload()
    element = next(iter(payload["view"]["state"]["values"][field].values()))
    if "selected_options" in element:
        assert isinstance(value, list)
        element["selected_options"] = [{"value": v} for v in value]
    elif "selected_option" in element:
        element["selected_option"] = {"value": value}
    else:
        element["value"] = value
    body = urlencode({"payload": json.dumps(payload)})
    return SignedRequest(body, bot.sim.signed_headers(body, "application/x-www-form-urlencoded"))


@pytest.mark.parametrize(("field", "value"), [
    ("customer_name", ""),
    ("customer_name", "x" * 101),
    ("contact_email", "not an email"),
    ("region", "mars"),
    ("page", "https://evil.example/page"),
    ("page_type", "robot"),
    ("prerequisites", ["chat_button"]),
    ("notes", "n" * 2001),
])
def test_every_intake_field_error_lands_under_its_field(bot: BotHarness, field: str, value: object) -> None:
    view_id = bot.open_intake()
    response = bot.sim.dispatch(bot.app, _with_value(bot, view_id, field, value))
    answer = json.loads(response.body)
    assert answer["response_action"] == "errors" and list(answer["errors"]) == [field], answer
    assert bot.outbox() == []
