"""Helpers shared by listeners: payload parsing and running a workflow operation in a transaction."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot import workflow
from bot.deps import Deps
from bot.slack.blocks import refusals
from bot.slack.error_handler import IncompleteRequest
from bot.workflow import Actor
from store.db import is_contention, session_scope
from store.limits import MAX_ROW_ID
from store.states import OnboardingState

__all__ = [
    "actor_for", "bind", "case_id_from_action", "case_id_from_view", "case_number", "form_values", "in_transaction",
    "seen_state_from_view", "trigger_id", "user_id",
]

logger = logging.getLogger(__name__)
T = TypeVar("T")
MAX_ATTEMPTS = 3
_CASE_NUMBER = re.compile(r"[1-9][0-9]{0,9}")  # positive, and no more digits than MAX_ROW_ID has


def bind(listener: Callable[..., T], deps: Deps) -> Callable[..., T]:
    """`listener` with its collaborators bound. They are keyword-only, so Bolt, which injects a listener's
    positional parameters by name (`ack`, `body`, `client`, …), neither sees nor fills them."""
    bound = functools.partial(listener, deps=deps)
    functools.update_wrapper(bound, listener)  # its name in logs and error reports
    return bound


def in_transaction(deps: Deps, operation: Callable[[Session], T]) -> T:
    """Run `operation` in one transaction, retrying when a concurrent writer got there first.

    A retry re-reads the case, so the operation's own state checks decide: the loser of a race gets a
    WrongState error ("already approved"), never a second transition.
    """
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            with session_scope(deps.engine) as session:
                result = operation(session)
            deps.outbox.wake()
            return result
        except SQLAlchemyError as exc:
            if attempt == MAX_ATTEMPTS or not is_contention(exc):
                raise
            logger.info("concurrent update (%s); retrying", type(exc).__name__)
    raise AssertionError("unreachable")


def user_id(body: Mapping[str, Any]) -> str:
    user = body.get("user")
    if isinstance(user, Mapping) and isinstance(user.get("id"), str):
        return str(user["id"])
    return str(body.get("user_id") or "")


def trigger_id(body: Mapping[str, Any]) -> str:
    """The request's trigger id, needed to open a modal; IncompleteRequest if Slack's request lacks one."""
    value = body.get("trigger_id")
    if not isinstance(value, str) or not value:
        raise IncompleteRequest("a trigger id")
    return value


def actor_for(deps: Deps, body: Mapping[str, Any]) -> Actor:
    uid = user_id(body)
    return Actor(uid, is_approver=deps.approvers.is_approver(uid))


def case_number(raw: object) -> int | None:
    """A case id written as plain ASCII digits (`12`), or None. Anything else (`²`, `1_0`, 30 digits that
    no id column holds) is not a case id, rather than a crash further down."""
    text = str(raw)
    return int(text) if _CASE_NUMBER.fullmatch(text) and int(text) <= MAX_ROW_ID else None


def _parse_case_id(raw: object) -> int:
    value = case_number(raw)
    if value is None:
        raise workflow.OnboardingNotFound(refusals.UNKNOWN_CASE)
    return value


def case_id_from_action(body: Mapping[str, Any]) -> int:
    actions = body.get("actions")
    first = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], Mapping) else {}
    return _parse_case_id(first.get("value"))


def case_id_from_view(view: Mapping[str, Any]) -> int:
    """The case a modal is about: its metadata is `12`, or `12:<state the person saw>`."""
    return _parse_case_id(str(view.get("private_metadata")).partition(":")[0])


def seen_state_from_view(view: Mapping[str, Any]) -> OnboardingState | None:
    """The state the person saw when the modal opened (`12:inviting`), or None if the modal does not say."""
    metadata = view.get("private_metadata")
    if not isinstance(metadata, str):
        return None
    try:
        return OnboardingState(metadata.partition(":")[2])
    except ValueError:
        return None


def form_values(view: Mapping[str, Any]) -> dict[str, object]:
    """A modal's input values by block id: text as str, selects as their value, checkboxes as a list."""
    state = view.get("state")
    blocks = state.get("values") if isinstance(state, Mapping) else None
    values: dict[str, object] = {}
    if not isinstance(blocks, Mapping):
        return values
    for block_id, actions in blocks.items():
        if not isinstance(actions, Mapping):
            continue
        for element in actions.values():
            if isinstance(element, Mapping):
                values[str(block_id)] = _element_value(element)
                break
    return values


def _element_value(element: Mapping[str, Any]) -> object:
    if "selected_options" in element:
        options = element.get("selected_options")
        return [o.get("value") for o in options if isinstance(o, Mapping)] if isinstance(options, list) else []
    if "selected_option" in element:
        option = element.get("selected_option")
        return option.get("value") if isinstance(option, Mapping) else None
    return element.get("value")
