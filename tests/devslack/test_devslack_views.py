"""views.open / push / update / publish: triggers, hashes, stacks, validation and submission answers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import InputBlock, PlainTextInputElement, SectionBlock
from slack_sdk.models.views import View

from devslack import FakeSlackState, ManualClock, apply_view_response


def modal(title: str = "Onboard", *, callback_id: str = "onboard_submit", external_id: str | None = None) -> View:
    return View(
        type="modal",
        callback_id=callback_id,
        external_id=external_id,
        title=title,
        submit="Submit",
        private_metadata="req-1",
        blocks=[InputBlock(block_id="customer", label="Customer", element=PlainTextInputElement(action_id="name"))],
    )


def slack_error(call: Callable[[], object]) -> str:
    with pytest.raises(SlackApiError) as err:
        call()
    return str(err.value.response["error"])


def test_views_open_needs_a_fresh_unused_trigger(
    client: WebClient, state: FakeSlackState, slack_clock: ManualClock
) -> None:
    trigger = state.issue_trigger("U1")
    opened = client.views_open(trigger_id=trigger, view=modal())
    view = opened["view"]
    assert view["id"].startswith("V") and view["hash"]
    assert (view["callback_id"], view["private_metadata"], view["root_view_id"]) == (
        "onboard_submit",
        "req-1",
        view["id"],
    )
    stored = state.find_view(view["id"])
    assert stored is not None and (stored.user, stored.trigger_id) == ("U1", trigger)
    assert state.last_view_for("U1") is stored

    assert slack_error(lambda: client.views_open(trigger_id=trigger, view=modal())) == "exchanged_trigger_id"
    assert slack_error(lambda: client.views_open(trigger_id="123.456.abc", view=modal())) == "invalid_trigger_id"
    late = state.issue_trigger("U1")
    slack_clock.advance(3.5)
    assert slack_error(lambda: client.views_open(trigger_id=late, view=modal())) == "expired_trigger_id"


def test_views_update_checks_hash_and_finds_by_external_id(client: WebClient, state: FakeSlackState) -> None:
    opened = client.views_open(trigger_id=state.issue_trigger("U1"), view=modal(external_id="case-1"))["view"]
    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal("Loaded", external_id="case-1"))
    assert updated["view"]["title"]["text"] == "Loaded"
    assert updated["view"]["hash"] != opened["hash"]

    racing = slack_error(lambda: client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal("Racing")))
    assert racing == "hash_conflict"
    by_external = client.views_update(external_id="case-1", view=modal("By external id", external_id="case-1"))
    assert by_external["view"]["id"] == opened["id"]
    stored = state.find_view(opened["id"])
    assert stored is not None
    assert [v["title"]["text"] for v in stored.versions] == ["Onboard", "Loaded"]
    assert slack_error(lambda: client.views_update(view_id="V9999", view=modal())) == "not_found"


def test_views_push_stacks_up_to_three(client: WebClient, state: FakeSlackState) -> None:
    root = client.views_open(trigger_id=state.issue_trigger("U1"), view=modal())["view"]
    second = client.views_push(trigger_id=state.issue_trigger("U1"), view=modal("Second"))["view"]
    client.views_push(trigger_id=state.issue_trigger("U1"), view=modal("Third"))
    assert (second["root_view_id"], second["previous_view_id"]) == (root["id"], root["id"])
    fourth = slack_error(lambda: client.views_push(trigger_id=state.issue_trigger("U1"), view=modal("Fourth")))
    assert fourth == "push_limit_reached"


def test_views_publish_home_tab_per_user(client: WebClient, state: FakeSlackState) -> None:
    home = View(type="home", blocks=[SectionBlock(text="2 open onboardings")])
    first = client.views_publish(user_id="U1", view=home)["view"]
    second = client.views_publish(user_id="U1", view=home, hash=first["hash"])["view"]
    assert first["id"] == second["id"] and first["hash"] != second["hash"]
    stale = slack_error(lambda: client.views_publish(user_id="U1", view=home, hash=first["hash"]))
    assert stale == "hash_conflict"
    assert state.home_views["U1"].view["blocks"][0]["text"]["text"] == "2 open onboardings"
    assert "U2" not in state.home_views


def test_views_are_validated_like_slack(client: WebClient, state: FakeSlackState) -> None:
    no_submit = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Onboard"},
        "blocks": [modal().blocks[0].to_dict()],
    }
    err = None
    try:
        client.views_open(trigger_id=state.issue_trigger("U1"), view=no_submit)
    except SlackApiError as exc:
        err = exc.response
    assert err is not None and err["error"] == "invalid_arguments"
    assert "submit" in err["response_metadata"]["messages"][0]
    home_as_modal = {"type": "home", "blocks": []}
    assert slack_error(lambda: client.views_open(trigger_id=state.issue_trigger("U1"), view=home_as_modal)) == (
        "invalid_arguments"
    )


def test_submission_answers_act_on_the_stack(client: WebClient, state: FakeSlackState) -> None:
    root = client.views_open(trigger_id=state.issue_trigger("U1"), view=modal())["view"]

    with_errors = apply_view_response(
        state, root["id"], '{"response_action": "errors", "errors": {"customer": "Already onboarding"}}'
    )
    assert with_errors is not None and with_errors.errors == {"customer": "Already onboarding"}
    with pytest.raises(ValueError):
        apply_view_response(state, root["id"], {"response_action": "errors", "errors": {"nope": "x"}})

    updated = apply_view_response(state, root["id"], {"response_action": "update", "view": modal("Working").to_dict()})
    assert updated is not None and updated.view["title"]["text"] == "Working" and updated.errors is None

    pushed = apply_view_response(state, root["id"], {"response_action": "push", "view": modal("Confirm").to_dict()})
    assert pushed is not None and pushed.previous_view_id == root["id"]
    assert apply_view_response(state, pushed.view_id, "") is state.find_view(root["id"])  # back to the root
    assert apply_view_response(state, root["id"], {"response_action": "clear"}) is None
    assert slack_error(lambda: client.views_update(view_id=root["id"], view=modal("Too late"))) == "not_found"
