"""What a person did in Slack, read once from the raw payload into a frozen, typed value.

Listeners call `parse` on the body (and view) Bolt hands them and pass the value to one flow; nothing further down
picks a `dict[str, Any]` apart. A payload that does not name a case raises `OnboardingNotFound` (a refusal the
person reads); one that lacks a trigger id raises `IncompleteRequest` only when a modal is about to be opened.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot import workflow
from bot.slack.blocks import refusals
from bot.slack.error_handler import IncompleteRequest
from store.limits import MAX_ROW_ID
from store.states import OnboardingState

__all__ = [
    "ButtonPress", "FormSubmission", "ProjectSubmission", "ReasonSubmission", "ReviewPress", "case_number",
    "form_values", "trigger_id", "user_id",
]

_CASE_NUMBER = re.compile(r"[1-9][0-9]{0,9}")  # positive, and no more digits than MAX_ROW_ID has
NOT_A_REVIEW = "That button does not belong to an access review."


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


def case_number(raw: object) -> int | None:
    """A case id written as plain ASCII digits (`12`), or None. Anything else (`²`, `1_0`, 30 digits that
    no id column holds) is not a case id, rather than a crash further down."""
    text = str(raw)
    return int(text) if _CASE_NUMBER.fullmatch(text) and int(text) <= MAX_ROW_ID else None


def _case_id(raw: object) -> int:
    value = case_number(raw)
    if value is None:
        raise workflow.OnboardingNotFound(refusals.UNKNOWN_CASE)
    return value


def _button_value(body: Mapping[str, Any]) -> object:
    actions = body.get("actions")
    first = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], Mapping) else {}
    return first.get("value")


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


def _text(values: Mapping[str, object], name: str) -> str:
    value = values.get(name)
    return value.strip() if isinstance(value, str) else ""


def _view_case_id(view: Mapping[str, Any]) -> int:
    """The case a modal is about: its metadata is `12`, or `12:<state the person saw>`."""
    return _case_id(str(view.get("private_metadata")).partition(":")[0])


def _seen_state(view: Mapping[str, Any]) -> OnboardingState | None:
    """The state the person saw when the modal opened (`12:inviting`), or None if the modal does not say."""
    metadata = view.get("private_metadata")
    if not isinstance(metadata, str):
        return None
    try:
        return OnboardingState(metadata.partition(":")[2])
    except ValueError:
        return None


@dataclass(frozen=True)
class ButtonPress:
    """A button on a case's card or thread (Approve, Reject, Invitation sent, …): its value is the case id."""

    case_id: int
    user_id: str
    trigger_id: str | None  # Slack sends one with every press; it is needed only to open a modal

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> ButtonPress:
        value = body.get("trigger_id")
        return cls(case_id=_case_id(_button_value(body)), user_id=user_id(body),
                   trigger_id=value if isinstance(value, str) and value else None)

    def trigger(self) -> str:
        """The trigger id for opening a modal; IncompleteRequest if Slack's request lacked one."""
        if self.trigger_id is None:
            raise IncompleteRequest("a trigger id")
        return self.trigger_id


@dataclass(frozen=True)
class ReviewPress:
    """An access review's sign-off button: `<review id>:<line id>` (one line) or `<review id>` (all the rest)."""

    review_id: int
    item_id: int | None
    user_id: str

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> ReviewPress:
        review_raw, _, item_raw = str(_button_value(body)).partition(":")
        review_id = case_number(review_raw)
        item_id = case_number(item_raw) if item_raw else None
        if review_id is None or (item_raw and item_id is None):
            raise workflow.OnboardingNotFound(NOT_A_REVIEW)
        return cls(review_id=review_id, item_id=item_id, user_id=user_id(body))


@dataclass(frozen=True)
class FormSubmission:
    """An intake form (new, or a further Page for a completed onboarding): who sent it and its raw values."""

    user_id: str
    values: dict[str, object]

    @classmethod
    def parse(cls, body: Mapping[str, Any], view: Mapping[str, Any]) -> FormSubmission:
        return cls(user_id=user_id(body), values=form_values(view))


@dataclass(frozen=True)
class ProjectSubmission:
    """The register-project form: the case (from the modal's metadata) and the typed-in credentials, stripped."""

    case_id: int
    user_id: str
    project_id: str
    key_id: str
    key_secret: str = field(repr=False)  # never in a log line or a traceback's locals

    @classmethod
    def parse(cls, body: Mapping[str, Any], view: Mapping[str, Any]) -> ProjectSubmission:
        case_id, values = _view_case_id(view), form_values(view)
        return cls(case_id=case_id, user_id=user_id(body), project_id=_text(values, "project_id"),
                   key_id=_text(values, "key_id"), key_secret=_text(values, "key_secret"))


@dataclass(frozen=True)
class ReasonSubmission:
    """The reject or cancel form: its reason, and (cancel) the state the person saw when it opened."""

    case_id: int
    user_id: str
    reason: str
    seen_state: OnboardingState | None

    @classmethod
    def parse(cls, body: Mapping[str, Any], view: Mapping[str, Any]) -> ReasonSubmission:
        return cls(case_id=_view_case_id(view), user_id=user_id(body), reason=_text(form_values(view), "reason"),
                   seen_state=_seen_state(view))
