"""Hostile input, continued: the register-project, reject and cancel modals, and `/onboard` commands.

Same endpoint and checks as test_hostile_input.py (see tests/security/hostile.py): never a 5xx, field errors
under the form's fields or the values stored as typed, nothing unsafe sent to Slack, no traceback logged.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import httpx
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from bot.runtime import build_runtime, make_wsgi_app
from bot.slack.ids import ActionId, CallbackId
from bot.workflow.text import clean_block
from store.models import Onboarding
from tests.bot.harness import CHANNEL, OUTSIDER, REQUESTER, VALID_FORM, BotHarness
from tests.hypothesis_profiles import examples
from tests.security.figures import FIGURES
from tests.security.hostile import (
    EXAMPLES,
    HYPOTHESIS,
    Endpoint,
    acting_user,
    action_value,
    anything,
    assert_modal_answer,
    assert_not_a_server_error,
    assert_refused_for_its_id,
    assert_safe_slack_output,
    envelope,
    form_element,
    hostile_text,
    unstorable_user,
    weighted,
    wrong_type,
)

# -- the other modals: register project, reject, cancel ---------------------------------------------


MODAL_FIELDS = {CallbackId.REGISTER_PROJECT: ("project_id", "key_id", "key_secret"),
                CallbackId.REJECT: ("reason",), CallbackId.CANCEL: ("reason",)}
known_metadata = st.sampled_from(["1", "2", "3", "1:awaiting_approval", "2:creating_project", "1:completed",
                                  "1:nonsense", "2:", ":", "99999999999999999999:x"])
metadata_value = weighted((3, known_metadata), (1, hostile_text), (1, wrong_type))


@settings(max_examples=examples(EXAMPLES["modals"]), **HYPOTHESIS)  # type: ignore[arg-type]
@given(data=st.data(), callback=st.sampled_from(sorted(MODAL_FIELDS)), metadata=metadata_value)
def test_modal_submissions_get_field_errors_or_are_accepted(endpoint: Endpoint, data: st.DataObject,
                                                          callback: CallbackId, metadata: Any) -> None:
    FIGURES["hostile examples: modals"] += 1
    payload, garbage = data.draw(envelope("view_submission"))
    fields = MODAL_FIELDS[callback]
    values = {field: {field: form_element("plain_text_input", data.draw(anything))} for field in fields
              if data.draw(st.integers(0, 5)) != 3}
    view = {"id": "V0HOSTILE2", "type": "modal", "callback_id": callback, "private_metadata": metadata,
            "state": {"values": values}}
    payload.update({"view": view, "trigger_id": endpoint.bot.slack_state.issue_trigger(REQUESTER),
                    "response_urls": []})

    response = endpoint.interaction(payload)

    garbage = garbage or not isinstance(metadata, str | None)
    assert_not_a_server_error(response, garbage)
    if response.status_code == 200 and unstorable_user(payload):
        outcome, errors = assert_modal_answer(response, set(fields))
        assert_refused_for_its_id(outcome, errors)
        FIGURES["hostile modal submissions: refused for an unstorable user id"] += 1
    elif response.status_code == 200:
        outcome, _ = assert_modal_answer(response, set(fields))
        FIGURES[f"hostile modal submissions: {outcome}"] += 1
        if outcome == "accepted":
            _assert_stored(endpoint, callback, metadata, values)
        elif outcome == "update":
            # Only a cancel whose case moved on since the form opened: the form re-opens, for the new state.
            view = response.json()["view"]
            assert callback == CallbackId.CANCEL and view["callback_id"] == CallbackId.CANCEL
            assert view["private_metadata"] != metadata
    assert_safe_slack_output(endpoint.new_slack_writes())


def _assert_stored(endpoint: Endpoint, callback: CallbackId, metadata: Any, values: dict[str, Any]) -> None:
    """An accepted reject/cancel stored the reason as typed (trimmed, control and format characters dropped as
    intake fields drop them); an accepted project its ids."""
    number = re.fullmatch(r"([1-9][0-9]{0,17})(:.*)?", metadata or "", flags=re.DOTALL)
    assert number, f"accepted a submission for no case: {metadata!r}"
    with Session(endpoint.bot.deps.engine) as session:
        case = session.get(Onboarding, int(number.group(1)))
    assert case is not None
    typed = {field: block[field].get("value") for field, block in values.items()}
    if callback == CallbackId.REGISTER_PROJECT:
        assert (case.project_id, case.key_id) == (typed["project_id"].strip(), typed["key_id"].strip())
    else:
        stored = case.rejection_reason if callback == CallbackId.REJECT else case.cancel_reason
        assert stored == clean_block(typed["reason"])


# -- /onboard -------------------------------------------------------------------------------------


command_text = st.one_of(
    hostile_text,
    st.builds(lambda verb, rest: f"{verb} {rest}", st.sampled_from(["status", "cancel", "list", "help", "STATUS"]),
              st.one_of(hostile_text, action_value.map(str))),
)


@settings(max_examples=examples(EXAMPLES["commands"]), **HYPOTHESIS)  # type: ignore[arg-type]
# Extra form fields Slack does not send, prefixed so they never collide with one it does (a `message=` or
# `user=` field of the wrong type is envelope garbage, refused with 400: the envelope tests cover that).
@given(text=command_text, user=acting_user, extra=st.dictionaries(st.text(min_size=1, max_size=8).map("x_".__add__),
                                                                 st.text(max_size=20), max_size=3))
# Bolt alone took any form mentioning "payload" for an interactive payload and answered 404 (http_request.py).
@example(text="", user=REQUESTER, extra={"x_0": "payload"})
@example(text="status payload-labs", user=REQUESTER, extra={})
def test_onboard_commands_never_crash_or_leak(endpoint: Endpoint, text: str, user: str,
                                              extra: dict[str, str]) -> None:
    FIGURES["hostile examples: commands"] += 1
    sim = endpoint.bot.sim
    fields = dict(extra)
    fields.update({"command": "/onboard", "text": text, "user_id": user, "user_name": "someone", "team_id": "T0FAKE",
                   "channel_id": CHANNEL, "api_app_id": "A0FAKE", "trigger_id": sim.state.issue_trigger(user),
                   "response_url": f"{endpoint.bot.slack.base_url}/_fake/response/hostile{next(endpoint.emails)}"})
    sim.state.register_response_url(fields["response_url"].rsplit("/", 1)[1], user=user, channel=CHANNEL)

    response = endpoint.post(urlencode(fields))

    assert_not_a_server_error(response, garbage=False)
    assert_safe_slack_output(endpoint.new_slack_writes())


def test_the_thorough_profile_tries_at_least_500_payloads() -> None:
    """The acceptance asks for at least 500 generated intake submissions and action payloads: that many under
    HYPOTHESIS_PROFILE=thorough (CI runs it); the "hostile examples" figures say how many each run tried."""
    thorough = {name: examples(full, profile="thorough") for name, full in EXAMPLES.items()}
    assert thorough == EXAMPLES
    assert thorough["intake"] + thorough["actions"] >= 500


# -- the bug behind "a refused click is an error in Slack" ------------------------------------------


def test_a_refused_click_in_http_mode_is_acknowledged(tmp_path: Any, migrated_database_url: str) -> None:
    """Over HTTP the bot runs listeners after the ack (process_before_response=False). A refusal raised
    after ack() used to make Bolt drop the ack: Slack waited 3 s and got 404 (an error on the button)."""
    bot = BotHarness(tmp_path, database_url=migrated_database_url)
    production = build_runtime(bot.settings, clock=bot.clock, post_interval=0)  # the HTTP server's own mode
    try:
        bot.submit_intake()
        button = bot.message_with(ActionId.APPROVE)
        client = httpx.Client(transport=httpx.WSGITransport(app=make_wsgi_app(production.app)),
                              base_url="http://bot")
        request = bot.sim.click(OUTSIDER, message=button, action_id=ActionId.APPROVE)
        response = client.post("/slack/events", content=request.body.encode(), headers=request.headers)
        assert (response.status_code, response.text) == (200, "")
        assert bot.case().approver_id is None
    finally:
        production.app.listener_runner.listener_executor.shutdown(wait=True)
        production.shutdown()
        bot.close()
    assert any("APPROVERS" in text for text in bot.ephemerals(OUTSIDER)), "the refusal was explained"


def test_valid_form_is_still_accepted(endpoint: Endpoint) -> None:
    """Control: the plausible path of the strategies really is accepted (so the properties above bite)."""
    form = {**VALID_FORM, "customer_name": "Control <!channel> Co", "contact_email": "control@hostile.test",
            "notes": "<@U9HOSTILE> *please*"}
    assert endpoint.bot.submit_intake(**form).status == 200
    case = endpoint.latest_case()
    assert (case.customer_name, case.notes) == ("Control <!channel> Co", "<@U9HOSTILE> *please*")
    assert_safe_slack_output(endpoint.new_slack_writes())


def test_a_forged_user_id_never_becomes_a_mention() -> None:
    from bot.slack.mrkdwn import mention

    assert mention("U0REQ") == "<@U0REQ>" and mention("S0LEADS") == "<!subteam^S0LEADS>"
    for forged in ("U1> <!channel", "<!here>", "U1|x", "u0req", "S1> <!everyone", "U" + "A" * 100):
        assert "<" not in mention(forged) and "@" not in mention(forged).replace("&", "")
