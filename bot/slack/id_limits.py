"""Refuse, with an answer the person can read, a request whose Slack ids the database cannot store.

Slack's ids are short today, but nothing in its contract fixes their length. An id longer than the columns
that store it made PostgreSQL refuse the insert (SQLite would have kept it), and the person saw "Something
went wrong"; so did an id with a NUL character, which PostgreSQL cannot store in any text. This middleware
runs after the signature check and before any listener, so nothing is written.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from slack_bolt import App, BoltResponse, Respond

from bot.slack.blocks import refusals
from bot.slack.response_url import answer_by_response_url
from store.limits import is_storable, slack_id_length

__all__ = ["register_id_limits", "unstorable_id"]

logger = logging.getLogger(__name__)

# Where Slack puts the ids of who and where: an object with an `id`, or the id itself.
_ID_OBJECTS = {"user": "user id", "team": "team id", "channel": "channel id", "enterprise": "enterprise id"}
_ID_STRINGS = {"user_id": "user id", "team_id": "team id", "channel_id": "channel id",
               "enterprise_id": "enterprise id", "api_app_id": "app id"}


def _ids(payload: Mapping[str, Any]) -> Iterator[tuple[str, object]]:
    for key, name in _ID_OBJECTS.items():
        value = payload.get(key)
        yield name, value.get("id") if isinstance(value, Mapping) else value
    for key, name in _ID_STRINGS.items():
        yield name, payload.get(key)
    view = payload.get("view")
    if isinstance(view, Mapping):
        yield "view id", view.get("id")
        yield "team id", view.get("team_id")
    container = payload.get("container")
    if isinstance(container, Mapping):
        yield "channel id", container.get("channel_id")
        yield "view id", container.get("view_id")
    event = payload.get("event")
    if isinstance(event, Mapping):
        yield "user id", event.get("user")
        yield "channel id", event.get("channel")


def unstorable_id(body: Mapping[str, Any]) -> str | None:
    """What kind of id in `body` the bot cannot store ("user id"…): too long, or holding a NUL or a lone
    surrogate; or None."""
    limit = slack_id_length()
    for name, value in _ids(body):
        if isinstance(value, str) and (len(value) > limit or not is_storable(value)):
            return name
    return None


def _first_input(view: object) -> str | None:
    state = view.get("state") if isinstance(view, Mapping) else None
    values = state.get("values") if isinstance(state, Mapping) else None
    return next(iter(values), None) if isinstance(values, Mapping) else None


def _answer(body: Mapping[str, Any], text: str, respond: Respond | None) -> BoltResponse:
    json_headers: dict[str, str | Sequence[str]] = {"content-type": "application/json;charset=utf-8"}
    if "command" in body:
        # A slash command's answer body is shown to the person who typed it, and to nobody else.
        return BoltResponse(status=200, body=json.dumps({"response_type": "ephemeral", "text": text}),
                            headers=json_headers)
    if body.get("type") == "view_submission":
        field = _first_input(body.get("view"))
        if field is not None:
            return BoltResponse(status=200, body=json.dumps({"response_action": "errors", "errors": {field: text}}),
                                headers=json_headers)
    elif respond is not None and (body.get("response_url") or body.get("response_urls")):
        answer_by_response_url(respond, text=text, replace_original=False)  # a failure is logged there
    return BoltResponse(status=200, body="")


def register_id_limits(app: App) -> None:
    @app.middleware
    def refuse_unstorable_ids(body: dict[str, Any], respond: Respond | None,
                              next: Callable[[], None]) -> BoltResponse | None:  # Bolt passes it by this name
        field = unstorable_id(body)
        if field is None:
            next()
            return None
        logger.warning("refused a %s request: its %s is longer than %d characters or holds a NUL",
                       body.get("type") or body.get("command") or "Slack", field, slack_id_length())
        return _answer(body, refusals.unstorable_id(field), respond)
