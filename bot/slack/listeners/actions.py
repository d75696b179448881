"""Buttons in onboarding threads and on the status card: one named listener per button."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import workflow
from bot.background.app_creation import create_app
from bot.deps import Deps
from bot.slack.blocks import cancel_modal, refusals, register_project_modal, reject_modal
from bot.slack.error_handler import reports_errors
from bot.slack.ids import ActionId
from bot.slack.listeners.common import actor_for, bind, case_id_from_action, in_transaction, trigger_id
from store import repo
from store.db import session_scope
from store.models import Onboarding
from store.states import OnboardingState

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
    case_id, actor = case_id_from_action(body), actor_for(deps, body)
    in_transaction(deps, lambda session: workflow.approve(
        session=session, onboarding_id=case_id, actor=actor,
        allow_self_approval=deps.settings.allow_self_approval, now=deps.clock()))


def reject(ack: Ack, body: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    """Open the reason form (the rejection itself happens when it is submitted)."""
    ack()
    case = _case(deps, case_id_from_action(body))
    workflow.require_decider(case, actor_for(deps, body), verb="reject",
                             allow_self_approval=deps.settings.allow_self_approval)
    if case.state != OnboardingState.AWAITING_APPROVAL:
        raise workflow.WrongState(refusals.already_decided(case))
    client.views_open(trigger_id=trigger_id(body), view=reject_modal(case))


def register_project(ack: Ack, body: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    """Open the form for the project id and access key."""
    ack()
    case = _case(deps, case_id_from_action(body))
    if case.state != OnboardingState.CREATING_PROJECT:
        raise workflow.WrongState(refusals.already_has_project(case))
    with session_scope(deps.engine) as session:
        existing_project = workflow.base_project(session=session, onboarding=case)
    client.views_open(trigger_id=trigger_id(body),
                      view=register_project_modal(case, existing_project=existing_project))


def retry_app(ack: Ack, body: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    ack()
    case_id, actor = case_id_from_action(body), actor_for(deps, body)
    in_transaction(deps, lambda session: workflow.request_app_retry(
        session=session, onboarding_id=case_id, actor=actor, now=deps.clock()))
    deps.run_later(lambda: _create_app(deps, case_id))  # off the request, like after registering a project


def _create_app(deps: Deps, case_id: int) -> None:
    create_app(deps, case_id)


def _confirm_step(deps: Deps, body: dict[str, Any], step: Callable[..., object]) -> None:
    """A manual step someone confirms with a click: `step(session=, onboarding_id=, actor=, now=)` in one
    transaction (the answer to Slack goes after it commits)."""
    case_id, actor = case_id_from_action(body), actor_for(deps, body)
    in_transaction(deps, lambda session: step(session=session, onboarding_id=case_id, actor=actor, now=deps.clock()))


def invitation_sent(ack: Ack, body: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    """Staff confirm they invited the customer in the dashboard."""
    ack()
    _confirm_step(deps, body, workflow.confirm_invite)


def access_removed(ack: Ack, body: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    """Staff confirm they removed the customer from the project (and, on a Page mismatch, that it is right)."""
    ack()
    case_id, actor = case_id_from_action(body), actor_for(deps, body)
    in_transaction(deps, lambda session: workflow.confirm_revocation(
        session=session, onboarding_id=case_id, actor=actor, now=deps.clock(),
        two_person=deps.settings.two_person_removal))


def wrong_page(ack: Ack, body: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    """The confirmer says the connected Page is the wrong one: the customer keeps access to fix it."""
    ack()
    _confirm_step(deps, body, workflow.keep_access_for_wrong_page)


def wrong_account(ack: Ack, body: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    """The remover says the connected Instagram account is the wrong one: the customer keeps access to fix it."""
    ack()
    _confirm_step(deps, body, workflow.keep_access_for_wrong_account)


def removal_checked(ack: Ack, body: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    """Two-person removal: someone else confirms the customer is gone from User management."""
    ack()
    _confirm_step(deps, body, workflow.confirm_removal_check)


def cancel(ack: Ack, body: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    """Open the cancel form (requester or approver only)."""
    ack()
    case = _case(deps, case_id_from_action(body))
    workflow.require_canceller(case, actor_for(deps, body))
    client.views_open(trigger_id=trigger_id(body), view=cancel_modal(case))


def _case(deps: Deps, case_id: int) -> Onboarding:
    with session_scope(deps.engine) as session:
        case = repo.get_onboarding(session=session, onboarding_id=case_id)
    if case is None:
        raise workflow.OnboardingNotFound(refusals.no_case(case_id))
    return case
