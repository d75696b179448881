"""A second Facebook Page for an existing customer: same project, a new key, a new app, the usual steps."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from bot.slack.ids import ActionId
from sinch import Region, SinchClient, SinchCredentials
from sinch.sandbox import endpoints_for
from store.states import OnboardingState as S
from tests.bot.harness import CHANNEL, LEAD, REQUESTER, SANDBOX, STAFF, VALID_FORM, BotHarness
from tests.bot.test_page_and_removal import PAGE_ID, connect, invited, poll

SECOND_PAGE: dict[str, Any] = {
    "existing": "1",
    "contact_email": "owner@acme.test",
    "page": "https://www.facebook.com/acmebikesshop",
    "page_type": "business",
    "prerequisites": ["business_verified", "page_admin"],
    "notes": "",
}


def completed_first_page(bot: BotHarness) -> dict[str, str]:
    creds = invited(bot)
    connect(bot, creds, page_id=PAGE_ID, page_name="Acme Bikes")
    bot.click(STAFF, ActionId.ACCESS_REMOVED)
    assert bot.case(1).state == S.COMPLETED
    return creds


def start_second_page(bot: BotHarness, argument: str = "#1", **overrides: Any) -> dict[str, Any]:
    bot.send(bot.sim.slash_command(REQUESTER, text=f"existing {argument}", channel_id=CHANNEL))
    view = bot.slack_state.last_view_for(REQUESTER)
    assert view is not None and view.view["callback_id"] == "onboard_intake_existing"
    response = bot.send(bot.sim.submit_view(REQUESTER, view_id=view.view_id, values={**SECOND_PAGE, **overrides}))
    return json.loads(response.body) if response.body else {}


def register_key(bot: BotHarness, creds: SinchCredentials, case_id: int = 2) -> dict[str, str]:
    bot.click(STAFF, ActionId.REGISTER_PROJECT, message=bot.message_with(ActionId.REGISTER_PROJECT, case_id))
    response = bot.submit_modal(STAFF, {"project_id": creds.project_id, "key_id": creds.key_id,
                                        "key_secret": creds.key_secret})
    return json.loads(response.body)["errors"] if response.body else {}


def test_a_second_page_runs_end_to_end_in_the_same_project(bot: BotHarness) -> None:
    first = completed_first_page(bot)
    project = first["project_id"]
    assert start_second_page(bot) == {}
    second = bot.case(2)
    assert (second.state, second.existing_of, second.region, second.customer_name) == (
        S.AWAITING_APPROVAL, 1, "eu", "Acme Bikes")
    assert second.app_name != bot.case(1).app_name
    assert f"existing project `{project}`" in json.dumps(bot.message_with(ActionId.APPROVE, 2).blocks)

    bot.click(LEAD, ActionId.APPROVE, message=bot.message_with(ActionId.APPROVE, 2))
    step = json.dumps(bot.message_with(ActionId.REGISTER_PROJECT, 2).blocks)
    assert "no new project" in step and project in step
    bot.click(STAFF, ActionId.REGISTER_PROJECT, message=bot.message_with(ActionId.REGISTER_PROJECT, 2))
    modal = bot.slack_state.last_view_for(STAFF)
    assert modal is not None and project in json.dumps(modal.view)  # the project id is filled in

    new_key = bot.sandbox.create_key(project, "eu")
    assert register_key(bot, new_key) == {}
    second = bot.case(2)
    assert second.state == S.INVITING and second.app_id not in (None, bot.case(1).app_id)
    apps = bot.sandbox.state()["apps"]["eu"]
    assert {app["id"] for app in apps if app["project_id"] == project} == {bot.case(1).app_id, second.app_id}
    [registered] = [e.detail for e in bot.events(2) if e.action == "register_project"]
    assert "same_project=passed (as=#1)" in registered and "other_onboardings=passed" in registered

    bot.click(STAFF, ActionId.INVITATION_SENT, message=bot.message_with(ActionId.INVITATION_SENT, 2))
    bot.sandbox.connect_page(project, second.app_id, page_id="104500000000002", page_name="Acme Bikes Shop")
    poll(bot)  # PENDING
    poll(bot)  # ACTIVE
    assert bot.case(2).state == S.REVOKING
    bot.click(STAFF, ActionId.ACCESS_REMOVED, message=bot.message_with(ActionId.ACCESS_REMOVED, 2))
    second = bot.case(2)
    assert (second.state, second.key_secret_sealed) == (S.COMPLETED, None)
    assert [e.to_state for e in bot.events(2) if e.to_state] == [
        S.AWAITING_APPROVAL, S.CREATING_PROJECT, S.CREATING_APP, S.INVITING, S.AWAITING_CUSTOMER, S.ACTIVATING,
        S.REVOKING, S.COMPLETED]


def test_a_second_page_must_use_the_customers_project(bot: BotHarness) -> None:
    completed_first_page(bot)
    start_second_page(bot)
    bot.click(LEAD, ActionId.APPROVE, message=bot.message_with(ActionId.APPROVE, 2))
    other = bot.sandbox.create_project("Somewhere else", "eu")
    errors = register_key(bot, other)
    assert "project of onboarding #1" in errors["project_id"]
    assert (bot.case(2).state, bot.case(2).project_id) == (S.CREATING_PROJECT, None)


def test_a_second_page_refuses_apps_the_bot_did_not_create(bot: BotHarness) -> None:
    first = completed_first_page(bot)
    start_second_page(bot)
    bot.click(LEAD, ActionId.APPROVE, message=bot.message_with(ActionId.APPROVE, 2))
    new_key = bot.sandbox.create_key(first["project_id"], "eu")
    with SinchClient.create(endpoints=endpoints_for(SANDBOX), transport=bot.sandbox_transport) as sinch:
        intruder = sinch.apps.create(dataclasses.replace(new_key, region=Region.US), display_name="Intruder")
    errors = register_key(bot, new_key)
    assert "did not create" in errors["project_id"] and intruder.id in errors["project_id"]
    assert str(bot.case(1).app_id) not in errors["project_id"]
    assert bot.case(2).project_id is None


def test_only_completed_onboardings_get_a_second_page(bot: BotHarness) -> None:
    bot.submit_intake()
    bot.send(bot.sim.slash_command(REQUESTER, text="existing", channel_id=CHANNEL))
    assert any("No onboarding has completed" in text for text in bot.ephemerals(REQUESTER))
    bot.send(bot.sim.slash_command(REQUESTER, text="existing #1", channel_id=CHANNEL))
    assert any("has not completed" in text for text in bot.ephemerals(REQUESTER))


def test_a_normal_onboarding_cannot_take_a_finished_customers_project(bot: BotHarness) -> None:
    first = completed_first_page(bot)
    bot.submit_intake(customer_name="New Customer", contact_email="new@customer.test")
    bot.click(LEAD, ActionId.APPROVE, message=bot.message_with(ActionId.APPROVE, 2))
    errors = register_key(bot, bot.sandbox.create_key(first["project_id"], "eu"))
    assert "already registered by onboarding #1" in errors["project_id"]
    assert VALID_FORM["customer_name"] in errors["project_id"]
