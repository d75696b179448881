"""The access review's sign-off buttons: *Checked: no access*, *Still has access*, and the one for all the rest."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.deps import Deps
from bot.flows.reviews import sign
from bot.listeners.common import bind
from bot.slack.error_handler import reports_errors
from bot.slack.ids import ActionId
from bot.slack.payloads import ReviewPress
from bot.workflow.reviews import CHECKED, STILL_HAS_ACCESS

__all__ = ["register"]


def register(app: App, deps: Deps) -> None:
    guarded = reports_errors(deps.settings)
    listeners: dict[ActionId, Callable[..., None]] = {
        ActionId.REVIEW_CHECKED: checked,
        ActionId.REVIEW_STILL_HAS_ACCESS: still_has_access,
        ActionId.REVIEW_CHECK_ALL: check_all,
    }
    for action_id, listener in listeners.items():
        app.action(action_id.value)(guarded(bind(listener, deps)))


def checked(ack: Ack, body: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    """An approver checked the customer is gone from User management."""
    ack()
    sign(deps, ReviewPress.parse(body), client, outcome=CHECKED, every=False)


def still_has_access(ack: Ack, body: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    """An approver found the customer still listed: the removal step starts again."""
    ack()
    sign(deps, ReviewPress.parse(body), client, outcome=STILL_HAS_ACCESS, every=False)


def check_all(ack: Ack, body: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    """Sign every removal not yet signed as checked."""
    ack()
    sign(deps, ReviewPress.parse(body), client, outcome=CHECKED, every=True)
