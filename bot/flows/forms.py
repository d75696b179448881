"""Modal submissions (the intake forms, the reject and cancel reasons): each flow answers with a `FormAnswer`.

A refusal goes back into the modal (`errors` by block id, or a fresh `view` to show instead); `FormAnswer()`
closes it. The register-project form has a flow of its own (`bot/flows/project.py`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View

from bot import workflow
from bot.deps import Deps
from bot.flows.transaction import actor, attempts
from bot.slack.blocks import cancel_modal, refusals
from bot.slack.blocks.guards import CHOOSE_CUSTOMER
from bot.slack.payloads import FormSubmission, ReasonSubmission, case_number
from store import repo
from store.db import session_scope

__all__ = ["FormAnswer", "cancel", "intake", "intake_existing", "reject"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FormAnswer:
    """How a modal submission is answered: closed (neither set), field errors, or another view in its place;
    `then` is a Slack call to make once the answer has gone (Slack gives the answer 3 s; a post must not delay it)."""

    errors: dict[str, str] | None = None
    view: View | None = None
    then: Callable[[], None] | None = None


def intake(deps: Deps, form: FormSubmission, client: WebClient) -> FormAnswer:
    """The intake form: open a case awaiting approval, or say in the form what to fix."""
    try:
        parsed = workflow.parse_intake(form.values)
        for attempt in attempts(deps):
            with attempt as session:
                workflow.submit_intake(
                    session=session, intake=parsed, requester_id=form.user_id,
                    channel=deps.settings.onboarding_channel, now=deps.clock(),
                    limit_per_hour=deps.settings.intake_limit_per_hour)
    except workflow.IntakeInvalid as exc:
        return FormAnswer(errors=exc.errors)
    except workflow.IntakeLimited as exc:
        return FormAnswer(errors={"customer_name": str(exc)})
    except workflow.DuplicateOnboarding as exc:
        return FormAnswer(errors={exc.field: refusals.duplicate_hint(str(exc), exc.existing_id)},
                          then=functools.partial(_point_to_existing, deps, client, form.user_id, exc.existing_id))
    return FormAnswer()


def intake_existing(deps: Deps, form: FormSubmission, client: WebClient) -> FormAnswer:
    """A further Page for a completed onboarding's customer: its name and region, the rest as in the intake."""
    existing_id = case_number(form.values.get("existing"))
    with session_scope(deps.engine) as session:
        base = repo.get_onboarding(session=session, onboarding_id=existing_id) if existing_id else None
    if base is None:
        return FormAnswer(errors={"existing": CHOOSE_CUSTOMER})
    try:
        parsed = workflow.parse_intake({**form.values, "customer_name": base.customer_name, "region": base.region})
        for attempt in attempts(deps):
            with attempt as session:
                workflow.submit_intake(
                    session=session, intake=parsed, requester_id=form.user_id,
                    channel=deps.settings.onboarding_channel, now=deps.clock(),
                    limit_per_hour=deps.settings.intake_limit_per_hour, existing_of=existing_id)
    except workflow.IntakeInvalid as exc:
        return FormAnswer(errors=exc.errors)
    except workflow.DuplicateOnboarding as exc:
        field = "contact_email" if exc.field == "contact_email" else "existing"
        return FormAnswer(errors={field: refusals.duplicate_hint(str(exc), exc.existing_id)},
                          then=functools.partial(_point_to_existing, deps, client, form.user_id, exc.existing_id))
    except (workflow.IntakeLimited, workflow.OnboardingError) as exc:
        return FormAnswer(errors={"existing": str(exc)})
    return FormAnswer()


def reject(deps: Deps, form: ReasonSubmission) -> FormAnswer:
    """The reject form; a refusal shows under its reason field."""
    who = actor(deps, form.user_id)
    try:
        for attempt in attempts(deps):
            with attempt as session:
                workflow.reject(session=session, onboarding_id=form.case_id, actor=who, reason=form.reason,
                                now=deps.clock(), allow_self_approval=deps.settings.allow_self_approval)
    except workflow.OnboardingError as exc:
        return FormAnswer(errors={"reason": str(exc)})
    return FormAnswer()


def cancel(deps: Deps, form: ReasonSubmission) -> FormAnswer:
    """The cancel form. It applies to the state the person saw; if the case moved on, it re-opens saying so."""
    who = actor(deps, form.user_id)
    try:
        for attempt in attempts(deps):
            with attempt as session:
                workflow.cancel(session=session, onboarding_id=form.case_id, actor=who, reason=form.reason,
                                now=deps.clock(), seen_state=form.seen_state)
    except workflow.StateChanged as exc:
        with session_scope(deps.engine) as session:
            case = repo.get_onboarding(session=session, onboarding_id=form.case_id)
        if case is None:
            return FormAnswer(errors={"reason": str(exc)})
        return FormAnswer(view=cancel_modal(case, note=str(exc), reason=form.reason))
    except workflow.OnboardingError as exc:
        return FormAnswer(errors={"reason": str(exc)})
    return FormAnswer()


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
