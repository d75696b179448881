"""Modal submissions. Validation errors go back into the modal with `response_action: errors`."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import workflow
from bot.background.app_creation import create_app
from bot.background.project_check import CHECK_BUDGET, ChecksTimedOut, gather_sinch_facts
from bot.deps import Deps
from bot.slack.blocks import cancel_modal, refusals
from bot.slack.blocks.guards import CHOOSE_CUSTOMER, project_refusal_errors, project_timeout_error
from bot.slack.error_handler import reports_errors
from bot.slack.ids import CallbackId
from bot.slack.listeners.common import (
    actor_for,
    bind,
    case_id_from_view,
    case_number,
    form_values,
    in_transaction,
    seen_state_from_view,
    user_id,
)
from bot.workflow.freshness import CheckOutcome, CheckRecord
from sinch import SinchCredentials, SinchError
from store import repo
from store.db import session_scope
from store.limits import is_storable
from store.states import OnboardingState

__all__ = ["cancel", "intake", "intake_existing", "register", "register_project", "reject"]

logger = logging.getLogger(__name__)
_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def _text(values: dict[str, object], field: str) -> str:
    value = values.get(field)
    return value.strip() if isinstance(value, str) else ""


def _credential_errors(project_id: str, key_id: str, key_secret: str) -> dict[str, str]:
    errors = {}
    if not _IDENTIFIER.match(project_id):
        errors["project_id"] = refusals.BAD_PROJECT_ID
    if not _IDENTIFIER.match(key_id):
        errors["key_id"] = refusals.BAD_KEY_ID
    # Sinch secrets are printable ASCII; anything else (a lone surrogate, a zero-width space) was mis-pasted
    # and could not even be encoded for the token request.
    if not key_secret or len(key_secret) > 200 or any(ch.isspace() for ch in key_secret) \
            or not is_storable(key_secret) or not (key_secret.isascii() and key_secret.isprintable()):
        errors["key_secret"] = refusals.BAD_KEY_SECRET
    return errors


def register(app: App, deps: Deps) -> None:
    guarded = reports_errors(deps.settings)
    app.view(CallbackId.INTAKE)(guarded(bind(intake, deps)))
    app.view(CallbackId.INTAKE_EXISTING)(guarded(bind(intake_existing, deps)))
    app.view(CallbackId.REGISTER_PROJECT)(guarded(bind(register_project, deps)))
    app.view(CallbackId.REJECT)(guarded(bind(reject, deps)))
    app.view(CallbackId.CANCEL)(guarded(bind(cancel, deps)))


def intake(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    """The intake form: open a case awaiting approval, or say in the form what to fix."""
    try:
        form = workflow.parse_intake(form_values(view))
    except workflow.IntakeInvalid as exc:
        ack(response_action="errors", errors=exc.errors)
        return
    requester = user_id(body)
    try:
        in_transaction(deps, lambda session: workflow.submit_intake(
            session=session, intake=form, requester_id=requester, channel=deps.settings.onboarding_channel,
            now=deps.clock(), limit_per_hour=deps.settings.intake_limit_per_hour))
    except workflow.IntakeLimited as exc:
        ack(response_action="errors", errors={"customer_name": str(exc)})
        return
    except workflow.DuplicateOnboarding as exc:
        ack(response_action="errors", errors={exc.field: refusals.duplicate_hint(str(exc), exc.existing_id)})
        _point_to_existing(deps, client, requester, exc.existing_id)
        return
    ack()


def intake_existing(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, *,
                    deps: Deps) -> None:
    """A further Page for a completed onboarding's customer: its name and region, the rest as in the intake."""
    values = form_values(view)
    existing_id = case_number(values.get("existing"))
    with session_scope(deps.engine) as session:
        base = repo.get_onboarding(session=session, onboarding_id=existing_id) if existing_id else None
    if base is None:
        ack(response_action="errors", errors={"existing": CHOOSE_CUSTOMER})
        return
    try:
        form = workflow.parse_intake({**values, "customer_name": base.customer_name, "region": base.region})
    except workflow.IntakeInvalid as exc:
        ack(response_action="errors", errors=exc.errors)
        return
    requester = user_id(body)
    try:
        in_transaction(deps, lambda session: workflow.submit_intake(
            session=session, intake=form, requester_id=requester, channel=deps.settings.onboarding_channel,
            now=deps.clock(), limit_per_hour=deps.settings.intake_limit_per_hour, existing_of=existing_id))
    except workflow.IntakeLimited as exc:
        ack(response_action="errors", errors={"existing": str(exc)})
        return
    except workflow.DuplicateOnboarding as exc:
        field = "contact_email" if exc.field == "contact_email" else "existing"
        ack(response_action="errors", errors={field: refusals.duplicate_hint(str(exc), exc.existing_id)})
        _point_to_existing(deps, client, requester, exc.existing_id)
        return
    except workflow.OnboardingError as exc:
        ack(response_action="errors", errors={"existing": str(exc)})
        return
    ack()


def register_project(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, *,
                     deps: Deps) -> None:
    """The project id and access key: checked with Sinch (and the project for freshness), sealed, recorded; then
    the bot creates the app."""
    try:
        case_id = case_id_from_view(view)
    except workflow.OnboardingError as exc:
        ack(response_action="errors", errors={"project_id": str(exc)})
        return
    values = form_values(view)
    project_id, key_id, key_secret = (_text(values, f) for f in ("project_id", "key_id", "key_secret"))
    errors = _credential_errors(project_id, key_id, key_secret)
    if errors:
        ack(response_action="errors", errors=errors)
        return
    with session_scope(deps.engine) as session:
        case = repo.get_onboarding(session=session, onboarding_id=case_id)
    if case is None or case.state != OnboardingState.CREATING_PROJECT:
        ack(response_action="errors", errors={"project_id": refusals.NO_LONGER_NEEDS_PROJECT})
        return
    creds = SinchCredentials(project_id=project_id, key_id=key_id, key_secret=key_secret,
                             region=case.region)
    actor = actor_for(deps, body)
    try:
        facts = gather_sinch_facts(deps, creds)
    except ChecksTimedOut:
        logger.info("onboarding #%s: project check timed out", case_id)
        _audit_checks(deps, case_id, actor, project_id,
                      [CheckRecord("sinch", CheckOutcome.UNAVAILABLE, f"timeout after {CHECK_BUDGET:g}s")])
        ack(response_action="errors", errors=project_timeout_error(CHECK_BUDGET))
        return
    except SinchError as exc:
        logger.info("onboarding #%s: key check failed: %s", case_id, type(exc).__name__)
        ack(response_action="errors", errors=refusals.key_check_failed(exc, project_id, case.region))
        return
    sealed = deps.secrets.seal(key_secret)
    try:
        in_transaction(deps, lambda session: workflow.register_project(
            session=session, onboarding_id=case_id, actor=actor, project_id=project_id, key_id=key_id,
            key_secret_sealed=sealed, now=deps.clock(), apps=facts.apps,
            account_project_id=deps.settings.sinch_account_project_id, subproject_ids=facts.subproject_ids))
    except workflow.ProjectNotFresh as exc:
        _audit_checks(deps, case_id, actor, project_id, exc.verdict.records)
        ack(response_action="errors", errors=project_refusal_errors(exc.verdict, project_id, case))
        return
    except workflow.OnboardingError as exc:
        ack(response_action="errors", errors={"project_id": str(exc)})
        return
    ack()
    # Off the request: Sinch may take longer than Slack's 3 s. The registration is committed, so if this
    # process dies first, the case's app creation is due and any process's sweep claims it.
    deps.run_later(lambda: _create_app(deps, case_id))


def _create_app(deps: Deps, case_id: int) -> None:
    create_app(deps, case_id)


def reject(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    """The reject form; a refusal shows under its reason field."""
    actor, reason = actor_for(deps, body), _text(form_values(view), "reason")
    try:
        case_id = case_id_from_view(view)
        in_transaction(deps, lambda session: workflow.reject(
            session=session, onboarding_id=case_id, actor=actor, reason=reason, now=deps.clock(),
            allow_self_approval=deps.settings.allow_self_approval))
    except workflow.OnboardingError as exc:
        ack(response_action="errors", errors={"reason": str(exc)})
        return
    ack()


def cancel(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    """The cancel form. It applies to the state the person saw; if the case moved on, it re-opens saying so."""
    actor, reason = actor_for(deps, body), _text(form_values(view), "reason")
    try:
        case_id = case_id_from_view(view)
        in_transaction(deps, lambda session: workflow.cancel(
            session=session, onboarding_id=case_id, actor=actor, reason=reason, now=deps.clock(),
            seen_state=seen_state_from_view(view)))
    except workflow.StateChanged as exc:
        with session_scope(deps.engine) as session:
            case = repo.get_onboarding(session=session, onboarding_id=case_id)
        if case is None:
            ack(response_action="errors", errors={"reason": str(exc)})
            return
        ack(response_action="update", view=cancel_modal(case, note=str(exc), reason=reason))
        return
    except workflow.OnboardingError as exc:
        ack(response_action="errors", errors={"reason": str(exc)})
        return
    ack()


def _audit_checks(deps: Deps, case_id: int, actor: workflow.Actor, project_id: str,
                  records: Sequence[CheckRecord]) -> None:
    """A refused registration stores no project, but its checks still go in the audit trail."""
    in_transaction(deps, lambda session: workflow.record_project_checks(
        session=session, onboarding_id=case_id, actor=actor, project_id=project_id, records=records,
        now=deps.clock()))


def _point_to_existing(deps: Deps, client: WebClient, user: str, existing_id: int) -> None:
    """After refusing a duplicate, give the requester a clickable link to the open case."""
    with session_scope(deps.engine) as session:
        case = repo.get_onboarding(session=session, onboarding_id=existing_id)
    if case is None:
        return
    try:
        client.chat_postEphemeral(channel=deps.settings.onboarding_channel, user=user,
                                  text=refusals.already_open(case))
    except SlackApiError as exc:  # e.g. the person is not in the channel: the modal already said it all
        logger.info("could not point %s to onboarding #%s: %s", user, existing_id, exc.response.get("error"))
