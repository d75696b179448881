"""Registering a case's Sinch project: the register-project form's one flow.

In the request (Slack allows 3 s): the typed credentials are checked for shape, the case is read, Sinch is asked
for the project's apps and the ASP's subprojects (`project_check.py`, which also proves the key), the secret is
sealed and `workflow.register_project` decides, in the transaction that stores it, whether the project is fresh.
A refused check still goes in the audit trail. After the commit the app creation starts off the request.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Sequence

from bot import workflow
from bot.background.app_creation import create_app
from bot.deps import Deps
from bot.flows.forms import FormAnswer
from bot.flows.project_check import CHECK_BUDGET, ChecksTimedOut, SinchFacts, gather_sinch_facts
from bot.flows.transaction import actor, attempts
from bot.slack.blocks import refusals
from bot.slack.blocks.guards import project_refusal_errors, project_timeout_error
from bot.slack.payloads import ProjectSubmission
from bot.workflow.freshness import CheckOutcome, CheckRecord
from sinch import SinchCredentials, SinchError
from store import repo
from store.db import session_scope
from store.limits import is_storable
from store.models import Onboarding
from store.states import OnboardingState

__all__ = ["credential_errors", "register_project"]

logger = logging.getLogger(__name__)
_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def credential_errors(project_id: str, key_id: str, key_secret: str) -> dict[str, str]:
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


def register_project(deps: Deps, form: ProjectSubmission) -> FormAnswer:
    """The project id and access key: checked with Sinch (and the project for freshness), sealed, recorded; then
    the bot creates the app."""
    errors = credential_errors(form.project_id, form.key_id, form.key_secret)
    if errors:
        return FormAnswer(errors=errors)
    with session_scope(deps.engine) as session:
        case = repo.get_onboarding(session=session, onboarding_id=form.case_id)
    if case is None or case.state != OnboardingState.CREATING_PROJECT:
        return FormAnswer(errors={"project_id": refusals.NO_LONGER_NEEDS_PROJECT})
    who = actor(deps, form.user_id)
    facts = _check_with_sinch(deps, form, case, who)
    if isinstance(facts, FormAnswer):
        return facts
    sealed = deps.secrets.seal(form.key_secret)
    try:
        for attempt in attempts(deps):
            with attempt as session:
                workflow.register_project(
                    session=session, onboarding_id=form.case_id, actor=who, project_id=form.project_id,
                    key_id=form.key_id, key_secret_sealed=sealed, now=deps.clock(), apps=facts.apps,
                    account_project_id=deps.settings.sinch_account_project_id,
                    subproject_ids=facts.subproject_ids)
    except workflow.ProjectNotFresh as exc:
        _audit_checks(deps, form, who, exc.verdict.records)
        return FormAnswer(errors=project_refusal_errors(exc.verdict, form.project_id, case))
    except workflow.OnboardingError as exc:
        return FormAnswer(errors={"project_id": str(exc)})
    # Off the request: Sinch may take longer than Slack's 3 s. The registration is committed, so if this
    # process dies first, the case's app creation is due and any process's sweep claims it.
    deps.run_later(functools.partial(_create_app, deps, form.case_id))
    return FormAnswer()


def _check_with_sinch(deps: Deps, form: ProjectSubmission, case: Onboarding,
                      who: workflow.Actor) -> SinchFacts | FormAnswer:
    """What Sinch says about the project, or the refusal to show when it did not answer or refused the key."""
    creds = SinchCredentials(project_id=form.project_id, key_id=form.key_id, key_secret=form.key_secret,
                             region=case.region)
    try:
        return gather_sinch_facts(deps, creds)
    except ChecksTimedOut:
        logger.info("onboarding #%s: project check timed out", form.case_id)
        _audit_checks(deps, form, who,
                      [CheckRecord("sinch", CheckOutcome.UNAVAILABLE, f"timeout after {CHECK_BUDGET:g}s")])
        return FormAnswer(errors=project_timeout_error(CHECK_BUDGET))
    except SinchError as exc:
        logger.info("onboarding #%s: key check failed: %s", form.case_id, type(exc).__name__)
        return FormAnswer(errors=refusals.key_check_failed(exc, form.project_id, case.region))


def _audit_checks(deps: Deps, form: ProjectSubmission, who: workflow.Actor, records: Sequence[CheckRecord]) -> None:
    """A refused registration stores no project, but its checks still go in the audit trail."""
    for attempt in attempts(deps):
        with attempt as session:
            workflow.record_project_checks(session=session, onboarding_id=form.case_id, actor=who,
                                           project_id=form.project_id, records=records, now=deps.clock())


def _create_app(deps: Deps, case_id: int) -> None:
    create_app(deps, case_id)
