"""Shared parts of the hostile-input tests: strategies for hostile values, the signed HTTP endpoint, and checks.

Every payload is a real, correctly signed request to `make_wsgi_app(runtime.app)` (httpx WSGITransport), so
it passes Slack's authenticity check and reaches the listeners. The endpoint also watches the bot's log:
any record carrying a traceback while a hostile request is handled fails that example (and is counted in
the "hostile: tracebacks in the bot's log" figure, which must stay 0).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from itertools import count
from typing import Any
from urllib.parse import urlencode

import httpx
from hypothesis import HealthCheck
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import Session, select

from bot.runtime import make_wsgi_app
from bot.slack.envelope import problem as envelope_problem
from bot.slack.ids import ActionId
from bot.workflow import INTAKE_FIELDS
from store.limits import is_storable, slack_id_length
from store.models import Onboarding
from tests.bot.harness import GROUP_LEAD, LEAD, OUTSIDER, REQUESTER, STAFF, VALID_FORM, BotHarness
from tests.security.figures import FIGURES

FORM = "application/x-www-form-urlencoded"
# Who may legitimately be mentioned: people who act in these tests (Slack gives the bot their ids) and the
# configured approver group. Mentions typed into payloads use other ids (U9HOSTILE…), so any of those live
# in a message came from the input.
ACTORS = (REQUESTER, LEAD, GROUP_LEAD, STAFF, OUTSIDER)
LEGIT_GROUPS = {"S0LEADS"}
SLACK_WRITES = ("chat.postMessage", "chat.update", "chat.postEphemeral", "views.open", "views.update",
                "views.push", "views.publish")
EXAMPLES = {"intake": 300, "actions": 250, "modals": 150, "commands": 100}

# -- strategies ---------------------------------------------------------------------------------

SPICY = [
    "<!channel>", "<!here>", "<!everyone>", "<!channel|channel>", "<@U9HOSTILE>", "<@W9HOSTILE|boss>",
    "<!subteam^S9HOSTILE>", "<!subteam^S9HOSTILE|@leads>", "<#C0ONBOARD>", "<https://evil.test|click me>",
    "<mailto:a@b.test|mail>", "<!date^1^{date}|today>", "*bold* _italic_ ~strike~ `code` ```block```", "> quote",
    "&lt;!channel&gt;", "&amp;", "'; DROP TABLE onboarding; --", "\" OR 1=1 --", "Robert'); DELETE FROM audit_event;--",
    "1; UPDATE onboarding SET state='completed'", "%s %d {0} {{}} ${jndi:ldap://x}", "\u202eevil\u202c", "\x00",
    "\r\n\t\x0b\x0c\x1b[31m", "\ud7ff\ufeff\u200b", "🦄👩‍👩‍👧‍👦", "ᚠᛇᚻ", "مرحبا", "Ⅻ²³", "null", "None", "[]", "{}",
]


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """Draw from one of the strategies with the given weights (st.one_of weighs its branches alike and
    folds repeated ones together)."""
    picks = [index for index, (weight, _) in enumerate(choices) for _ in range(weight)]
    return st.sampled_from(picks).flatmap(lambda index: choices[index][1])


def _long(piece: str) -> str:
    return (piece * (10_000 // max(1, len(piece)) + 1))[:10_000]


hostile_text = st.one_of(
    st.text(max_size=120),
    st.sampled_from(SPICY),
    st.builds(lambda a, b, c: a + b + c, st.text(max_size=40), st.sampled_from(SPICY), st.text(max_size=40)),
    st.lists(st.sampled_from(SPICY), min_size=2, max_size=8).map(" ".join),
    st.sampled_from(["x", "<!channel> ", "é", "\x00"] + SPICY).map(_long),
)
wrong_type = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=True),
    st.lists(st.text(max_size=8), max_size=3),
    st.dictionaries(st.text(max_size=6), st.one_of(st.text(max_size=6), st.integers()), max_size=3),
    st.recursive(st.integers(), lambda inner: st.lists(inner, max_size=2) | st.dictionaries(
        st.text(max_size=3), inner, max_size=2), max_leaves=5),
)
anything = weighted((2, hostile_text), (1, wrong_type))
# Fields Slack does not send (prefixed, so they never collide with one it does).
extra_fields = st.dictionaries(st.text(max_size=12).map(lambda key: f"extra_{key}"), anything, max_size=3)
# A user as Slack would send it (an actor), an id that is not shaped like one, or the field gone.
acting_user = weighted((3, st.sampled_from(ACTORS)), (1, hostile_text))
# Envelope-level garbage: a field Bolt itself reads holding the wrong type. Those requests must get 400.
ENVELOPE_GARBAGE: dict[str, list[Any]] = {"user": [5, ["U1"], {"id": 7}, 3.5], "team": [1, [1]], "channel": [["C1"], 2],
                    "response_url": [1, ["x"]], "type": [7], "trigger_id": [{"a": 1}]}
envelope_garbage = st.sampled_from(sorted(ENVELOPE_GARBAGE)).flatmap(
    lambda key: st.sampled_from(ENVELOPE_GARBAGE[key]).map(lambda value: (key, value)))

VALID = object()  # "put a valid, unique value here" (filled in at send time)


def form_element(kind: str, value: Any) -> dict[str, Any]:
    """An input element as Slack reports it in view.state, holding `value` (whatever its type)."""
    if kind in ("static_select", "radio_buttons"):
        return {"type": kind, "selected_option": {"value": value} if isinstance(value, str) else value}
    if kind == "checkboxes":
        items = value if isinstance(value, list) else [value]
        return {"type": kind, "selected_options": [{"value": v} if isinstance(v, str) else v for v in items]}
    return {"type": kind, "value": value}


INTAKE_KINDS = {"customer_name": "plain_text_input", "contact_email": "email_text_input", "region": "static_select",
                "channels": "radio_buttons", "instagram_username": "plain_text_input", "page": "plain_text_input",
                "page_type": "radio_buttons", "prerequisites": "checkboxes", "notes": "plain_text_input"}
PLAUSIBLE = {
    "customer_name": hostile_text,
    "contact_email": weighted((2, st.just(VALID)), (1, hostile_text)),
    "region": st.one_of(st.sampled_from(["us", "eu", "br"]), hostile_text),
    "channels": st.one_of(st.sampled_from(["messenger", "instagram", "messenger_instagram"]), hostile_text),
    "instagram_username": st.one_of(st.sampled_from(["@acme_bikes", "https://www.instagram.com/acme.bikes/"]),
                                    st.none(), hostile_text),
    "page": st.one_of(st.sampled_from(["Acme Page", "https://www.facebook.com/acme", "facebook.com/x"]), hostile_text),
    "page_type": st.one_of(st.sampled_from(["personal", "business"]), hostile_text),
    "prerequisites": st.one_of(st.just(["business_verified", "page_admin", "chat_button"]),
                               st.lists(st.one_of(st.sampled_from(["business_verified", "page_admin"]), hostile_text),
                                        max_size=4)),
    "notes": hostile_text,
}


UNIQUE = " #"  # a name ending in this gets a unique number appended at send time (so it is no duplicate)
short_hostile = hostile_text.map(lambda text: text[:80])


@st.composite
def intake_values(draw: st.DrawFn) -> dict[str, Any]:
    """view.state.values for the intake form.

    Half the forms are valid apart from hostile free text (name, page name, notes), so that many are
    accepted and their stored values can be compared; the other half may have any field missing, of the
    wrong type, a garbage element or extra keys.
    """
    if draw(st.booleans()):
        name = draw(short_hostile) + (UNIQUE if draw(st.integers(0, 2)) else "")
        page = draw(st.one_of(st.sampled_from(["https://www.facebook.com/acme", "Acme Page"]),
                              short_hostile.map(lambda text: text.replace("://", " "))))
        form = {**VALID_FORM, "customer_name": name, "contact_email": VALID, "page": page,
                "channels": "messenger", "instagram_username": None, "notes": draw(hostile_text)[:1900]}
        return {field: {field: form_element(INTAKE_KINDS[field], form[field])} for field in INTAKE_FIELDS}
    values: dict[str, Any] = {}
    for field in INTAKE_FIELDS:
        shape = draw(st.sampled_from(["plausible"] * 4 + ["wrong_type", "missing", "garbage_element", "extra"]))
        if shape == "missing":
            continue
        if shape == "garbage_element":
            values[field] = {field: draw(anything)} if draw(st.booleans()) else draw(anything)
            continue
        value = draw(PLAUSIBLE[field]) if shape != "wrong_type" else draw(wrong_type)
        element = form_element(INTAKE_KINDS[field], value)
        if shape == "extra":
            element.update(draw(extra_fields))
        values[field] = {field: element}
    values.update({key: {key: {"type": "plain_text_input", "value": v}} for key, v in draw(extra_fields).items()})
    return values


@st.composite
def envelope(draw: st.DrawFn, kind: str) -> tuple[dict[str, Any], bool]:
    """The fields every interaction carries; the flag says whether Bolt-level garbage was put in."""
    payload: dict[str, Any] = {"type": kind, "team": {"id": "T0FAKE", "domain": "fake-workspace"},
                               "api_app_id": "A0FAKE", "token": "fake-verification-token", "enterprise": None}
    user = draw(st.one_of(acting_user, st.none()))
    if user is not None:
        payload["user"] = {"id": user, "username": "someone", "team_id": "T0FAKE"}
    payload.update({key: value for key, value in draw(extra_fields).items() if key not in ("type", "user")})
    garbage = draw(st.integers(0, 7)) == 3  # hypothesis favours 0 and the maximum, so not those
    if garbage:
        key, value = draw(envelope_garbage)
        payload[key] = value
    return payload, garbage


action_value = st.one_of(st.sampled_from(["1", "2", "3", "0", "-1", "2147483648", "99999999999999999999999", "#1",
                                          "1.0", " 1", "²", "١"]), hostile_text, wrong_type)


# -- the harness ----------------------------------------------------------------------------------


class TracebackWatch(logging.Handler):
    """Collects every log record, from any logger, that carries a traceback."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.tracebacks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.stack_info or "Traceback (most recent call last)" in record.getMessage():
            self.tracebacks.append(f"{record.name}: {record.getMessage()}\n{record.exc_text or ''}")


class Endpoint:
    """A running bot behind `make_wsgi_app`, plus what the fake Slack recorded since the last look."""

    def __init__(self, bot: BotHarness) -> None:
        self.bot = bot
        self.http = httpx.Client(transport=httpx.WSGITransport(app=make_wsgi_app(bot.app)), base_url="http://bot")
        self.seen_calls = 0
        self.seen_responses = 0
        self.emails = count()
        self.watch = TracebackWatch()
        logging.getLogger().addHandler(self.watch)

    def close(self) -> None:
        logging.getLogger().removeHandler(self.watch)
        self.bot.close()

    def post(self, body: str, content_type: str = FORM) -> httpx.Response:
        headers = self.bot.sim.signed_headers(body, content_type)
        FIGURES["hostile payloads sent"] += 1
        before = len(self.watch.tracebacks)
        response = self.http.post("/slack/events", content=body.encode(), headers=headers)
        self.bot.deliver()  # whatever the request queued runs now, inside this example
        new = self.watch.tracebacks[before:]
        FIGURES["hostile: tracebacks in the bot's log"] += len(new)
        assert not new, f"the bot logged a traceback for a signed request: {new[0][:2000]}"
        return response

    def interaction(self, payload: dict[str, Any]) -> httpx.Response:
        return self.post(urlencode({"payload": json.dumps(payload)}))

    def case_count(self) -> int:
        with Session(self.bot.deps.engine) as session:
            return int(session.exec(select(func.count()).select_from(Onboarding)).one())

    def latest_case(self) -> Onboarding:
        with Session(self.bot.deps.engine) as session:
            case = session.exec(select(Onboarding).order_by(Onboarding.id.desc())).first()  # type: ignore[union-attr]
        assert case is not None
        return case

    def new_slack_writes(self) -> list[Any]:
        """Bodies the bot sent to Slack since the last call: Web API writes and response_url answers."""
        self.bot.deliver()
        state = self.bot.slack_state
        with state.lock:
            calls, responses = state.calls[self.seen_calls:], state.response_posts[self.seen_responses:]
            self.seen_calls, self.seen_responses = len(state.calls), len(state.response_posts)
        return [(c.method, c.params) for c in calls if c.method in SLACK_WRITES] + \
            [("response_url", r.body) for r in responses]


def hostile_endpoint(bot: BotHarness) -> Endpoint:
    """The endpoint, with a few cases in different states so that clicks and modals reach real branches."""
    bot.submit_intake()
    bot.submit_intake(customer_name="Beta Bakery", contact_email="b@beta.test")
    bot.click(LEAD, ActionId.APPROVE, message=bot.message_with(ActionId.APPROVE, case_id=2))
    bot.deliver()
    return Endpoint(bot)


# -- checks ---------------------------------------------------------------------------------------

_LIVE = re.compile(r"<!(channel|here|everyone)\b|<!subteam\^([^|>]*)|<@([^|>]*)")


def _mrkdwn_texts(method: str, params: Any) -> Iterator[str]:
    """Every string Slack would render as mrkdwn in this body."""
    if isinstance(params, dict) and method != "views.open" and isinstance(params.get("text"), str):
        yield params["text"]  # chat.* fallback text and response_url answers are mrkdwn

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, str) and node[:1] in "[{":
            try:
                node = json.loads(node)
            except ValueError:
                return
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
                yield node["text"]
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    if isinstance(params, dict):
        for key in ("blocks", "view", "attachments"):
            yield from walk(params.get(key))


def assert_safe_slack_output(writes: list[Any]) -> None:
    for method, params in writes:
        raw = json.dumps(params, default=str)
        assert "Traceback" not in raw and 'File "' not in raw, f"stack trace sent to Slack via {method}"
        assert "went wrong on our side" not in raw, f"an unexpected error surfaced via {method}: {raw[:500]}"
        for text in _mrkdwn_texts(method, params):
            for match in _LIVE.finditer(text):
                everyone, group, user = match.groups()
                assert everyone is None, f"live <!{everyone}> in {method}: {text[:300]!r}"
                assert group is None or group in LEGIT_GROUPS, f"live group mention in {method}: {text[:300]!r}"
                assert user is None or user in ACTORS, f"live user mention in {method}: {text[:300]!r}"


def assert_not_a_server_error(response: httpx.Response, garbage: bool) -> None:
    assert response.status_code < 500, response.text
    request = response.request
    if envelope_problem(request.content, request.headers.get("content-type")):
        # Past one of the envelope's documented bounds (say, more brackets in its strings than
        # MAX_JSON_CONTAINERS): refused before Bolt, however well-formed the rest is.
        assert response.status_code == 400, f"{response.status_code}: {response.text}"
    elif garbage:
        assert response.status_code in (200, 400), response.text
    else:
        assert response.status_code == 200, f"{response.status_code}: {response.text}"


def assert_modal_answer(response: httpx.Response, fields: set[str]) -> tuple[str, dict[str, str]]:
    """How a view submission was answered: ("accepted", {}), ("errors", field errors) or ("update", {})."""
    if not response.text:
        return "accepted", {}
    answer = response.json()
    assert_safe_slack_output([("view_submission answer", answer)])
    assert answer.get("response_action") in ("errors", "update"), answer
    if answer["response_action"] == "update":
        return "update", {}
    errors = answer["errors"]
    assert errors and set(errors) <= fields, f"errors {sorted(errors)} not under the form's fields {sorted(fields)}"
    assert all(isinstance(message, str) and message.strip() for message in errors.values())
    return "errors", dict(errors)


HYPOTHESIS = {"deadline": None, "suppress_health_check": list(HealthCheck), "database": None}


UNSTORABLE_ID = "that this bot cannot store"


def unstorable_user(payload: dict[str, Any]) -> bool:
    """The payload's user id is one no database column can keep (too long, or with a NUL): the bot refuses
    the request with an answer, whatever else it holds."""
    user = payload.get("user")
    user_id = user.get("id") if isinstance(user, dict) else None
    return isinstance(user_id, str) and (len(user_id) > slack_id_length() or not is_storable(user_id))


def assert_refused_for_its_id(outcome: str, errors: dict[str, str]) -> None:
    """A modal refused for its user id: the reason under a field (or, with no field to put it under, the
    modal just closes); either way nothing was stored (checked by the caller)."""
    assert outcome in ("errors", "accepted"), outcome
    assert all(UNSTORABLE_ID in message for message in errors.values()), errors
