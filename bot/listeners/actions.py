"""Buttons in onboarding threads and on the status card: one named listener per button.

Each answers Slack first (`ack()`), reads the press once (`ButtonPress`) and calls its flow in
`bot/flows/buttons.py`; a button that asks for more opens its form.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.deps import Deps
from bot.flows import buttons
from bot.listeners.common import bind, open_form
from bot.slack.blocks import cancel_modal, register_project_modal, reject_modal
from bot.slack.error_handler import reports_errors
from bot.slack.ids import ActionId
from bot.slack.payloads import ButtonPress

__all__ = ["access_removed", "approve", "cancel", "invitation_sent", "register", "register_project", "reject",
           "removal_checked", "retry_app", "wrong_account", "wrong_page"]


def register(app: App, deps: Deps) -> None:
    guarded = reports_errors(deps.settings)
    listeners: dict[ActionId, Callable[..., None]] = {
        ActionId.APPROVE: approve,
        ActionId.REJECT: reject,
        ActionId.REGISTER_PROJECT: register_project,
        ActionId.RETRY_APP: retry_app,
        ActionId.INVITATION_SENT: invitation_sent,
        ActionId.ACCESS_REMOVED: access_removed,
        ActionId.WRONG_PAGE: wrong_page,
        ActionId.WRONG_ACCOUNT: wrong_account,
        ActionId.REMOVAL_CHECKED: removal_checked,
        ActionId.CANCEL: cancel,
    }
    for action_id, listener in listeners.items():
        app.action(action_id)(guarded(bind(listener, deps)))


def approve(ack: Ack, body: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    ack()
    buttons.approve(deps, ButtonPress.parse(body))


def reject(ack: Ack, body: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    """Open the reason form (the rejection itself happens when it is submitted)."""
    ack()
    press = ButtonPress.parse(body)
    case = buttons.case_to_reject(deps, press)
    open_form(deps, client, trigger=press.trigger(), view=reject_modal(case), body=body)


def register_project(ack: Ack, body: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    """Open the form for the project id and access key."""
    ack()
    press = ButtonPress.parse(body)
    case, existing_project = buttons.case_to_register(deps, press)
    form = register_project_modal(case, existing_project=existing_project)
    open_form(deps, client, trigger=press.trigger(), view=form, body=body)


def retry_app(ack: Ack, body: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    ack()
    buttons.retry_app(deps, ButtonPress.parse(body))


def invitation_sent(ack: Ack, body: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    ack()
    buttons.invitation_sent(deps, ButtonPress.parse(body))


def access_removed(ack: Ack, body: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    ack()
    buttons.access_removed(deps, ButtonPress.parse(body))


def wrong_page(ack: Ack, body: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    ack()
    buttons.wrong_page(deps, ButtonPress.parse(body))


def wrong_account(ack: Ack, body: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    ack()
    buttons.wrong_account(deps, ButtonPress.parse(body))


def removal_checked(ack: Ack, body: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    ack()
    buttons.removal_checked(deps, ButtonPress.parse(body))


def cancel(ack: Ack, body: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    """Open the cancel form (requester or approver only)."""
    ack()
    press = ButtonPress.parse(body)
    open_form(deps, client, trigger=press.trigger(), view=cancel_modal(buttons.case_to_cancel(deps, press)), body=body)
