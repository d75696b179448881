"""The shape a request body must have before Bolt sees it.

Bolt parses every body and reads fields such as `actions[0]["action_id"]`, `user["id"]` or `view["type"]`
without checking their types (slack_bolt/request/internals.py, request/payload_utils.py,
listener_matcher/builtins.py). A body Slack never sends (an empty `actions` list, a number for `user`,
JSON that is a list, bytes that are not UTF-8) makes Bolt raise before any listener or error handler can
answer, and the WSGI server turns that into a 500. `problem()` names what is wrong with such a body so the
HTTP layer answers 400 instead. It says nothing about authenticity: Bolt verifies the signature of every
body that passes, before any listener runs.

This runs before the signature check, on anyone's bytes, so it must stay cheap and bounded: the size is
capped by the caller (MAX_BODY_BYTES), and JSON is only handed to `json.loads` (which recurses once per
level and raised RecursionError, a 500, at about 1,000 levels) after a linear scan has shown that it nests
no deeper than MAX_JSON_DEPTH.
"""

from __future__ import annotations

import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["MAX_BODY_BYTES", "MAX_JSON_CONTAINERS", "MAX_JSON_DEPTH", "Reading", "load_json", "nesting_depth_within",
           "parse_body", "parse_form", "payload_problem", "problem", "read"]

# Slack's largest payloads (a modal's full state) stay far below this.
MAX_BODY_BYTES = 1 << 20
# Slack's deepest payloads (rich text inside a message inside block_actions) nest about a dozen levels.
MAX_JSON_DEPTH = 64
# The bot's own modals and messages (the payloads it receives carry them) hold a few hundred at most.
MAX_JSON_CONTAINERS = 20_000

# Fields Bolt or the listeners use as plain strings.
_STRINGS = ("type", "token", "api_app_id", "team_id", "enterprise_id", "user_id", "channel_id", "trigger_id",
            "response_url", "command", "text", "callback_id", "thread_ts", "function_execution_id",
            "bot_access_token", "challenge")
# Fields that are an object with an optional string `id`, or (in some payloads) the id itself, or null.
_OBJECT_OR_ID = ("user", "team", "enterprise", "channel")
# Fields that are objects (or null) when present; Bolt looks inside the nested ones for ids as well.
_OBJECTS = ("view", "message", "previous_message", "item", "assistant_thread", "function_data", "container",
            "state", "workflow_step")
_NESTED = ("event", "message", "previous_message", "item", "assistant_thread")
_MAX_DEPTH = 4
# Where JSON structure can change: a bracket, or the start of a string (whose brackets do not count).
_STRUCTURE = re.compile(r'["\[\]{}]')
# The rest of a string after its opening quote. Possessive, so an unterminated string fails in one pass.
_STRING_REST = re.compile(r'(?:[^"\\]++|\\.)*+"', re.DOTALL)


class TooDeep(ValueError):
    """JSON nested deeper than MAX_JSON_DEPTH."""


def nesting_depth_within(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether `text`, read as JSON, nests at most `limit` arrays/objects deep: one pass, no recursion.

    It stops at the first level past the limit, so a body of 100,000 `[` costs as much as one of 65.
    Malformed JSON may pass (an unterminated string, a stray `]`): `json.loads` refuses it next.
    """
    if text.count("[") + text.count("{") <= limit:
        return True  # the common case for commands and small payloads: no scan at all
    depth = 0
    position = 0
    while (found := _STRUCTURE.search(text, position)) is not None:
        char = found.group()
        if char == '"':
            rest = _STRING_REST.match(text, found.end())
            if rest is None:
                return True  # unterminated: not JSON at all, and json.loads says so without recursing
            position = rest.end()
            continue
        position = found.end()
        if char in "[{":
            depth += 1
            if depth > limit:
                return False
        else:
            depth -= 1
    return True


def load_json(text: str) -> Any:
    """`json.loads`, but only for JSON nested at most MAX_JSON_DEPTH deep (TooDeep otherwise)."""
    if not nesting_depth_within(text):
        raise TooDeep(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return json.loads(text)


def parse_form(text: str) -> dict[str, str]:
    """`dict(parse_qsl(text, keep_blank_values=True))`, Bolt's reading of a form, a few times faster.

    urllib decodes each %XX escape in a Python loop: 0.13 ms for a click's 2.7 KB form, the largest single
    cost in reading a request. A form as Slack sends it (printable ASCII, no spaces, every % followed by two
    hex digits) is decoded here at C speed instead; anything else goes to urllib, which decides as ever.
    """
    if not (text.isascii() and text.isprintable()) or " " in text:
        return dict(parse_qsl(text, keep_blank_values=True))
    fields = {}
    for pair in text.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")  # no "=": a blank value, as parse_qsl keeps it
        decoded_name, decoded_value = _unquote_plus(name), _unquote_plus(value)
        if decoded_name is None or decoded_value is None:
            return dict(parse_qsl(text, keep_blank_values=True))
        fields[decoded_name] = decoded_value
    return fields


def _unquote_plus(part: str) -> str | None:
    """`part` with "+" as a space and %XX as a byte, read as UTF-8 (invalid bytes replaced), as urllib's
    unquote_plus does; None if a % is not followed by two hex digits.

    Quoted-printable decoding (binascii.a2b_qp, in C) turns "=XX" into a byte and leaves any other "=" as it
    is; it is given the part with its own "=" written "=3D", "+" written "=20" and every "%" written "=". Each
    escape it decodes shortens the text by two, so a length that falls short of that shows an escape it left.
    """
    escaped = part.replace("=", "=3D").replace("+", "=20").replace("%", "=")
    decoded = binascii.a2b_qp(escaped)
    if len(decoded) != len(escaped) - 2 * escaped.count("="):
        return None
    return decoded.decode("utf-8", "replace")


def parse_body(text: str, content_type: str | None) -> Any:
    """The body as the HTTP handler reads it: Bolt's `parse_body`, except that a form which only mentions
    "payload" is read as that form (bot/slack/http_request.py says why). Raises ValueError where Bolt would
    fail, TooDeep for JSON nested past MAX_JSON_DEPTH."""
    if not text:
        return {}
    media_type = content_type.split(";")[0].strip() if content_type else None
    if media_type == "application/json" or text.startswith("{"):
        return load_json(text)
    fields = parse_form(text)
    if "payload" in text and "payload" in fields:
        return load_json(fields["payload"])
    return fields


@dataclass(frozen=True)
class Reading:
    """A body as the HTTP handler reads it: the parsed payload, or what makes it unprocessable (then `body` is
    None). Bolt is handed `body` as it is, so the body checked here is the body the listeners see, and a
    click's form (the URL-encoded card, a few KB) is decoded once."""

    body: dict[str, Any] | None
    problem: str | None = None


def read(raw: bytes, content_type: str | None) -> Reading:
    """Read and check this body for Bolt."""
    if _containers_at_most(raw) > MAX_JSON_CONTAINERS:
        return Reading(None, "the body holds too many arrays and objects")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return Reading(None, "the body is not UTF-8")
    try:
        body = parse_body(text, content_type)
    except TooDeep:
        return Reading(None, "the body is nested too deeply")
    except ValueError:  # json.JSONDecodeError is a ValueError
        return Reading(None, "the body is neither JSON nor form data")
    found = payload_problem(body)
    return Reading(None, found) if found else Reading(body)


def problem(raw: bytes, content_type: str | None) -> str | None:
    """What makes this body unprocessable, or None when Bolt can safely read it."""
    return read(raw, content_type).problem


def payload_problem(body: Any) -> str | None:
    """What makes a parsed payload unprocessable, or None: the same check for HTTP bodies and Socket Mode."""
    if not isinstance(body, dict):
        return "the body is not an object"
    return _check(body, depth=0)


def _containers_at_most(raw: bytes) -> int:
    """An upper bound on the arrays and objects in the body, plain or URL-encoded, counted without decoding.

    Byte counts run at C speed, so a body of a million brackets is refused before the form is decoded or
    the depth scan (a Python loop) looks at it: the work an anonymous client can cause stays small.
    """
    return sum(raw.count(opening) for opening in (b"[", b"{", b"%5B", b"%5b", b"%7B", b"%7b"))


def _check(payload: Mapping[str, Any], *, depth: int) -> str | None:
    if depth > _MAX_DEPTH:
        return "the body is nested too deeply"
    for key in _STRINGS:
        value = payload.get(key)
        if value is not None and not isinstance(value, str):
            return f"`{key}` must be a string"
    for key in _OBJECT_OR_ID:
        value = payload.get(key)
        if value is None or isinstance(value, str):
            continue
        if not isinstance(value, dict):
            return f"`{key}` must be an object or an id"
        if value.get("id") is not None and not isinstance(value.get("id"), str):
            return f"`{key}.id` must be a string"
    for key in _OBJECTS:
        value = payload.get(key)
        if value is not None and not isinstance(value, dict):
            return f"`{key}` must be an object"
    if "event" in payload and not isinstance(payload["event"], dict):
        return "`event` must be an object"
    for key in _NESTED:
        nested = payload.get(key)
        if isinstance(nested, dict):
            found = _check(nested, depth=depth + 1)
            if found:
                return found
    return (_check_list(payload, "authorizations", depth) or _check_response_urls(payload)
            or _check_view(payload.get("view")) or _check_actions(payload))


def _check_list(payload: Mapping[str, Any], key: str, depth: int) -> str | None:
    items = payload.get(key)
    if items is None:
        return None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        return f"`{key}` must be a list of objects"
    for item in items[:1]:  # Bolt reads the first one
        found = _check(item, depth=depth + 1)
        if found:
            return found
    return None


def _check_response_urls(payload: Mapping[str, Any]) -> str | None:
    if "response_urls" not in payload:
        return None
    urls = payload["response_urls"]
    if not isinstance(urls, list) or not all(isinstance(item, dict) for item in urls):
        return "`response_urls` must be a list of objects"
    if any(item.get("response_url") is not None and not isinstance(item.get("response_url"), str) for item in urls):
        return "`response_urls[].response_url` must be a string"
    return None


def _check_view(view: Any) -> str | None:
    if not isinstance(view, dict):
        return None
    for key in ("type", "callback_id", "private_metadata", "id"):
        if view.get(key) is not None and not isinstance(view.get(key), str):
            return f"`view.{key}` must be a string"
    if "callback_id" in view and "type" not in view:
        return "`view.type` is missing"
    return None


def _check_actions(payload: Mapping[str, Any]) -> str | None:
    kind = payload.get("type")
    view = payload.get("view")
    workflow_step = kind == "workflow_step_edit" or (isinstance(view, dict) and view.get("type") == "workflow_step")
    if workflow_step and not isinstance(payload.get("workflow_step"), dict):
        return "`workflow_step` is missing"
    if kind == "interactive_message" and "callback_id" in payload:
        actions = payload.get("actions")
        if not isinstance(actions, list) or not actions or not all(isinstance(a, dict) for a in actions):
            return "`actions` must be a non-empty list of objects"
    if kind != "block_actions" or "actions" not in payload:
        return None
    actions = payload["actions"]
    if not isinstance(actions, list) or not actions:
        return "`actions` must be a non-empty list"
    for action in actions:
        if not isinstance(action, dict):
            return "`actions` must be a list of objects"
        if not isinstance(action.get("action_id"), str):
            return "`actions[].action_id` must be a string"
        if action.get("block_id") is not None and not isinstance(action.get("block_id"), str):
            return "`actions[].block_id` must be a string"
    return None
