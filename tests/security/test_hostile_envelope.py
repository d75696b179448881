"""Signed but malformed envelopes: fields Slack always sends, left out or junk, and lone surrogates.

Requests start as the real thing (built by the Slack simulator, as Slack would send them) and lose a
generated set of fields, or get a junk `response_url`, before being signed and sent through the HTTP
endpoint. A lone surrogate cannot travel in a UTF-8 form body, but it can in a JSON payload (`"\\ud800"`),
so generated surrogates go into every free-text field of the modals, the key secret included. For each:
never a 5xx, never a traceback in the bot's log (the endpoint fails the example otherwise), and where the
person can be reached they are told what happened.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.slack.ids import ActionId, CallbackId
from bot.workflow.text import clean_block
from tests.bot.harness import CHANNEL, LEAD, REQUESTER, STAFF, VALID_FORM
from tests.hypothesis_profiles import examples
from tests.security.figures import FIGURES
from tests.security.hostile import HYPOTHESIS, Endpoint, assert_safe_slack_output

COMMAND_FIELDS = ("token", "team_id", "team_domain", "channel_id", "channel_name", "user_id", "user_name", "command",
                  "text", "api_app_id", "is_enterprise_install", "response_url", "trigger_id")
JUNK_URLS = ("", "junk", "http://", "https://", "ftp://127.0.0.1/x", "http://127.0.0.1:1/unreachable",
             "http://[::1", "//no-scheme", "javascript:alert(1)", "http://127.0.0.1:1/%00")
# Top-level and nested fields of interaction payloads, as paths.
INTERACTION_FIELDS = (("user",), ("user", "id"), ("trigger_id",), ("team",), ("api_app_id",), ("token",),
                      ("container",), ("channel",), ("message",), ("message", "ts"), ("actions",),
                      ("actions", 0, "value"), ("actions", 0, "block_id"), ("response_urls",), ("view",),
                      ("view", "id"), ("view", "private_metadata"), ("view", "state"), ("view", "state", "values"),
                      ("view", "callback_id"), ("view", "hash"))
# Without any of these a reject submission cannot decide anything.
ESSENTIAL = {("user",), ("user", "id"), ("view",), ("view", "state"), ("view", "state", "values"),
             ("view", "callback_id"), ("view", "private_metadata")}
SURROGATE = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
with_surrogates = st.lists(st.one_of(st.text(max_size=6), SURROGATE), min_size=1, max_size=8).map("".join).filter(
    lambda text: any(0xD800 <= ord(char) < 0xE000 for char in text))


def _drop(payload: Any, path: tuple[Any, ...]) -> None:
    """Remove the field at `path` if it is there."""
    *parents, last = path
    node = payload
    for key in parents:
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and len(node) > key:
            node = node[key]
        else:
            return
    if isinstance(node, dict):
        node.pop(last, None)
    elif isinstance(node, list) and isinstance(last, int) and len(node) > last:
        del node[last]


def _told(endpoint: Endpoint, writes: list[Any], words: str) -> bool:
    return any(words in json.dumps(params, default=str) for _, params in writes)


@settings(max_examples=examples(120), **HYPOTHESIS)  # type: ignore[arg-type]
@given(text=st.sampled_from(["", "list", "help", "status 1", "cancel 1", "bogus"]),
       dropped=st.sets(st.sampled_from(COMMAND_FIELDS), max_size=5), junk_url=st.one_of(st.none(),
                                                                                           st.sampled_from(JUNK_URLS)))
def test_slash_commands_missing_fields_or_with_junk_urls(endpoint: Endpoint, text: str, dropped: set[str],
                                                         junk_url: str | None) -> None:
    request = endpoint.bot.sim.slash_command(REQUESTER, text=text, channel_id=CHANNEL)
    fields = dict(parse_qsl(request.body, keep_blank_values=True))
    if junk_url is not None:
        fields["response_url"] = junk_url
    for name in dropped:
        fields.pop(name, None)

    response = endpoint.post(urlencode(fields))

    assert response.status_code < 500, response.text
    writes = endpoint.new_slack_writes()
    assert_safe_slack_output(writes)
    reachable = "user_id" in fields and "channel_id" in fields
    typed = fields.get("text", "")
    if typed == "" and "trigger_id" not in fields and "command" in fields and reachable:
        assert _told(endpoint, writes, "missing a trigger id"), writes
    if typed == "list" and "command" in fields and reachable:
        assert _told(endpoint, writes, "open onboardings") or _told(endpoint, writes, "usable response URL"), writes
    FIGURES["hostile envelope: commands with missing fields or junk URLs"] += 1


def _interaction(endpoint: Endpoint, kind: str) -> dict[str, Any]:
    """A real click or modal submission for the endpoint's cases, as the simulator (Slack) would send it."""
    bot, sim = endpoint.bot, endpoint.bot.sim
    if kind == "click_reject":
        request = sim.click(LEAD, message=bot.message_with(ActionId.REJECT), action_id=ActionId.REJECT)
    elif kind == "click_register":
        request = sim.click(STAFF, message=bot.message_with(ActionId.REGISTER_PROJECT, case_id=2),
                            action_id=ActionId.REGISTER_PROJECT)
    else:
        view = bot.slack_state.last_view_for(LEAD)
        assert view is not None
        request = sim.submit_view(LEAD, view_id=view.view_id, values={"reason": "not yet"})
    payload: dict[str, Any] = json.loads(dict(parse_qsl(request.body))["payload"])
    return payload


@settings(max_examples=examples(150), **HYPOTHESIS)  # type: ignore[arg-type]
@given(kind=st.sampled_from(["click_reject", "click_register", "submit_reason"]),
       dropped=st.lists(st.sampled_from(INTERACTION_FIELDS), min_size=1, max_size=4, unique=True))
def test_interactions_missing_fields(endpoint: Endpoint, kind: str, dropped: list[tuple[Any, ...]]) -> None:
    if kind == "submit_reason" and endpoint.bot.slack_state.last_view_for(LEAD) is None:
        endpoint.bot.click(LEAD, ActionId.REJECT)  # open the reject form once
    payload = _interaction(endpoint, kind)
    if kind == "submit_reason" and not set(dropped) & ESSENTIAL:
        dropped.append(("view", "state", "values"))  # complete, it would (rightly) reject case 1
    for path in dropped:
        _drop(payload, path)

    response = endpoint.interaction(payload)

    assert response.status_code < 500, response.text
    assert_safe_slack_output(endpoint.new_slack_writes())
    assert endpoint.bot.case(1).state.value == "awaiting_approval", "a malformed request decided the case"
    FIGURES["hostile envelope: interactions with missing fields"] += 1


@settings(max_examples=examples(80), **HYPOTHESIS)  # type: ignore[arg-type]
@given(field=st.sampled_from(["key_secret", "project_id", "key_id"]), typed=with_surrogates,
       prefix=st.sampled_from(["", "secret-", "p-"]))
def test_lone_surrogates_in_the_key_form_are_field_errors(endpoint: Endpoint, field: str, typed: str,
                                                          prefix: str) -> None:
    """A pasted key secret (or id) with a lone surrogate: a field error under that field, no traceback."""
    bot = endpoint.bot
    if bot.slack_state.last_view_for(STAFF) is None:
        bot.click(STAFF, ActionId.REGISTER_PROJECT, message=bot.message_with(ActionId.REGISTER_PROJECT, case_id=2))
    view = bot.slack_state.last_view_for(STAFF)
    assert view is not None and view.view.get("callback_id") == CallbackId.REGISTER_PROJECT
    values = {"project_id": "project-1", "key_id": "key-1", "key_secret": "a-plausible-secret"}
    values[field] = prefix + typed
    payload = json.loads(dict(parse_qsl(bot.sim.submit_view(STAFF, view_id=view.view_id, values={}).body))["payload"])
    for name, value in values.items():
        payload["view"]["state"]["values"][name] = {name: {"type": "plain_text_input", "value": value}}

    response = endpoint.interaction(payload)  # json.dumps writes the surrogate as \\udXXX

    assert response.status_code == 200, response.text
    assert field in response.json()["errors"], response.text
    assert bot.case(2).state.value == "creating_project"
    FIGURES["hostile envelope: surrogates in the key form"] += 1


@settings(max_examples=examples(40), **HYPOTHESIS)  # type: ignore[arg-type]
@given(reason=with_surrogates, name=with_surrogates)
@example(reason="\x00\ud800\udc00", name="\ud800")  # a NUL beside a valid pair: refused, not dropped
def test_lone_surrogates_in_names_and_reasons_are_never_stored(endpoint: Endpoint, reason: str, name: str) -> None:
    """Surrogates in a customer name (dropped with the other control characters) and in a cancel reason
    (a string no database column can hold, as with a NUL: refused under the field, nothing changed). Never a
    crash."""
    bot = endpoint.bot
    number = next(endpoint.emails)
    view_id = bot.open_intake(REQUESTER)
    payload = json.loads(dict(parse_qsl(bot.sim.submit_view(REQUESTER, view_id=view_id, values={
        **VALID_FORM, "contact_email": f"surrogate{number}@hostile.test"}).body))["payload"])
    payload["view"]["state"]["values"]["customer_name"]["customer_name"]["value"] = f"{name} {number}"
    assert endpoint.interaction(payload).status_code == 200
    case = endpoint.latest_case()
    assert case.contact_email == f"surrogate{number}@hostile.test"
    assert not any(0xD800 <= ord(char) < 0xE000 for char in case.customer_name)

    cancel = {"type": "view_submission", "team": {"id": "T0FAKE"}, "api_app_id": "A0FAKE", "user": {"id": REQUESTER},
              "trigger_id": "t", "view": {"id": "V0SURROGATE", "type": "modal", "callback_id": CallbackId.CANCEL,
                                          "private_metadata": f"{case.id}:awaiting_approval", "state": {"values": {
                                              "reason": {"reason": {"type": "plain_text_input", "value": reason}}}}}}
    response = endpoint.interaction(cancel)

    assert response.status_code == 200, response.text
    stored = bot.case(case.id or 0)
    arrived = json.loads(json.dumps(reason))  # as Slack's JSON decodes it: a high and a low surrogate make one
    kept = clean_block(arrived)  # typed text keeps no control, format or bidi character (bot/workflow/text.py)
    # A NUL or a lone surrogate is refused under the field, like any text no column can hold
    # (tests/bot/test_oversized_input.py); other control characters are dropped.
    if re.search("[\x00\ud800-\udfff]", arrived) or not kept:
        assert "reason" in response.json()["errors"] and stored.state.value == "awaiting_approval"
    else:
        assert (stored.state.value, stored.cancel_reason) == ("cancelled", kept)
    assert_safe_slack_output(endpoint.new_slack_writes())
    FIGURES["hostile envelope: surrogates in names and reasons"] += 1


def test_the_reported_cases_each_get_an_explanation(endpoint: Endpoint) -> None:
    """Issue 11's examples: `/onboard` without trigger_id, a junk response_url, a surrogate key secret."""
    sim = endpoint.bot.sim
    fields = dict(parse_qsl(sim.slash_command(REQUESTER, text="", channel_id=CHANNEL).body))
    del fields["trigger_id"]
    assert endpoint.post(urlencode(fields)).status_code == 200
    assert _told(endpoint, endpoint.new_slack_writes(), "missing a trigger id")

    fields = dict(parse_qsl(sim.slash_command(REQUESTER, text="bogus", channel_id=CHANNEL).body))
    fields["response_url"] = "junk"
    assert endpoint.post(urlencode(fields)).status_code == 200
    writes = endpoint.new_slack_writes()  # the reporter fell back to an ephemeral message
    assert any(method == "chat.postEphemeral" and "usable response URL" in json.dumps(params)
               for method, params in writes), writes
