"""Buttons in onboarding threads and on the status card."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import workflow
from bot.background.app_creation import create_app
from bot.deps import Deps
from bot.slack.blocks import cancel_modal, register_project_modal, reject_modal
from bot.slack.error_handler import reports_errors
from bot.slack.ids import ActionId
from bot.slack.listeners.common import actor_for, case_id_from_action, in_transaction
from store import repo
from store.db import session_scope
from store.states import OnboardingState

__all__ = ["register"]


def _case(deps: Deps, case_id: int) -> Any:
    with session_scope(deps.engine) as session:
        case = repo.get_onboarding(session=session, onboarding_id=case_id)
    if case is None:
        raise workflow.OnboardingNotFound(f"There is no onboarding #{case_id}.")
    return case


def register(app: App, deps: Deps) -> None:
    guarded = reports_errors(deps.settings)

    @app.action(ActionId.APPROVE)
    @guarded
    def approve(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        case_id, actor = case_id_from_action(body), actor_for(deps, body)
        in_transaction(deps, lambda session: workflow.approve(
            session=session, onboarding_id=case_id, actor=actor,
            allow_self_approval=deps.settings.allow_self_approval, now=deps.clock()))

    @app.action(ActionId.REJECT)
    @guarded
    def reject(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        case = _case(deps, case_id_from_action(body))
        workflow.require_approver(actor_for(deps, body), verb="reject")
        if case.state != OnboardingState.AWAITING_APPROVAL:
            raise workflow.WrongState(f"Onboarding {case.reference} has already been decided.")
        client.views_open(trigger_id=body["trigger_id"], view=reject_modal(case))

    @app.action(ActionId.REGISTER_PROJECT)
    @guarded
    def register_project(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        case = _case(deps, case_id_from_action(body))
        if case.state != OnboardingState.CREATING_PROJECT:
            raise workflow.WrongState(f"Onboarding {case.reference} already has its project.")
        client.views_open(trigger_id=body["trigger_id"], view=register_project_modal(case))

    @app.action(ActionId.RETRY_APP)
    @guarded
    def retry_app(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        case_id, actor = case_id_from_action(body), actor_for(deps, body)
        in_transaction(deps, lambda session: workflow.request_app_retry(
            session=session, onboarding_id=case_id, actor=actor, now=deps.clock()))
        create_app(deps, case_id)

    # One-click confirmations of a dashboard step: the button's value names the case.
    confirmations: dict[ActionId, Callable[..., object]] = {
        ActionId.INVITATION_SENT: workflow.confirm_invite,
        ActionId.ACCESS_REMOVED: workflow.confirm_revocation,
    }
    for action_id, operation in confirmations.items():
        app.action(action_id)(guarded(_confirmation(deps, operation)))

    @app.action(ActionId.CANCEL)
    @guarded
    def cancel(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        case = _case(deps, case_id_from_action(body))
        workflow.require_canceller(case, actor_for(deps, body))
        client.views_open(trigger_id=body["trigger_id"], view=cancel_modal(case))


def _confirmation(deps: Deps, operation: Callable[..., object]) -> Callable[..., None]:
    def confirm(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        case_id, actor = case_id_from_action(body), actor_for(deps, body)
        in_transaction(deps, lambda session: operation(
            session=session, onboarding_id=case_id, actor=actor, now=deps.clock()))

    return confirm
