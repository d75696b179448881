"""The access review's sign-off buttons: *Checked: no access*, *Still has access*, and the one for all the rest."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import workflow
from bot.background.reviews import deliver_reviews
from bot.deps import Deps
from bot.slack.error_handler import reports_errors
from bot.slack.ids import ActionId
from bot.slack.listeners.common import actor_for, bind, case_number, in_transaction
from bot.workflow.reviews import CHECKED, STILL_HAS_ACCESS, sign_off

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


def _ids(body: Mapping[str, Any]) -> tuple[int, int | None]:
    """`<review id>:<line id>` (one line) or `<review id>` (all the rest) from the clicked button."""
    actions = body.get("actions")
    first = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], Mapping) else {}
    review_raw, _, item_raw = str(first.get("value")).partition(":")
    review_id = case_number(review_raw)
    item_id = case_number(item_raw) if item_raw else None
    if review_id is None or (item_raw and item_id is None):
        raise workflow.OnboardingNotFound("That button does not belong to an access review.")
    return review_id, item_id


def _sign(deps: Deps, body: dict[str, Any], client: WebClient, *, outcome: str, every: bool) -> None:
    review_id, item_id = _ids(body)
    actor = actor_for(deps, body)
    in_transaction(deps, lambda session: sign_off(session=session, review_id=review_id,
                                                   item_id=None if every else item_id, outcome=outcome,
                                                   actor=actor, now=deps.clock()))
    # The sign-off is committed; the message shows it once the re-render goes out (or the next sweep sends it).
    deps.run_later(lambda: _deliver(deps, client))


def _deliver(deps: Deps, client: WebClient) -> None:
    deliver_reviews(engine=deps.engine, client=client, approvers=deps.approvers.mentions, now=deps.clock(),
                    owner=deps.worker_id, lease_ttl=deps.settings.lease_ttl)


def checked(ack: Ack, body: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    """An approver checked the customer is gone from User management."""
    ack()
    _sign(deps, body, client, outcome=CHECKED, every=False)


def still_has_access(ack: Ack, body: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    """An approver found the customer still listed: the removal step starts again."""
    ack()
    _sign(deps, body, client, outcome=STILL_HAS_ACCESS, every=False)


def check_all(ack: Ack, body: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    """Sign every removal not yet signed as checked."""
    ack()
    _sign(deps, body, client, outcome=CHECKED, every=True)
