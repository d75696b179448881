"""Modal submissions: each reads its form once and calls one flow; a refusal goes back into the modal
(`response_action: errors`)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.deps import Deps
from bot.flows import forms, project
from bot.listeners.common import answer_form, bind, parse_form
from bot.slack.error_handler import reports_errors
from bot.slack.ids import CallbackId
from bot.slack.payloads import FormSubmission, ProjectSubmission, ReasonSubmission

__all__ = ["cancel", "intake", "intake_existing", "register", "register_project", "reject"]


def register(app: App, deps: Deps) -> None:
    guarded = reports_errors(deps.settings)
    app.view(CallbackId.INTAKE)(guarded(bind(intake, deps)))
    app.view(CallbackId.INTAKE_EXISTING)(guarded(bind(intake_existing, deps)))
    app.view(CallbackId.REGISTER_PROJECT)(guarded(bind(register_project, deps)))
    app.view(CallbackId.REJECT)(guarded(bind(reject, deps)))
    app.view(CallbackId.CANCEL)(guarded(bind(cancel, deps)))


def intake(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    """The intake form: open a case awaiting approval, or say in the form what to fix."""
    answer_form(ack, forms.intake(deps, FormSubmission.parse(body, view), client))


def intake_existing(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, *,
                    deps: Deps) -> None:
    """A further Page for a completed onboarding's customer."""
    answer_form(ack, forms.intake_existing(deps, FormSubmission.parse(body, view), client))


def register_project(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, *,
                     deps: Deps) -> None:
    """The project id and access key: checked with Sinch, sealed, recorded; then the bot creates the app."""
    submission = parse_form(ack, ProjectSubmission.parse, body, view, field="project_id")
    if submission is not None:
        answer_form(ack, project.register_project(deps, submission))


def reject(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    """The reject form; a refusal shows under its reason field."""
    submission = parse_form(ack, ReasonSubmission.parse, body, view, field="reason")
    if submission is not None:
        answer_form(ack, forms.reject(deps, submission))


def cancel(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    """The cancel form. It applies to the state the person saw; if the case moved on, it re-opens saying so."""
    submission = parse_form(ack, ReasonSubmission.parse, body, view, field="reason")
    if submission is not None:
        answer_form(ack, forms.cancel(deps, submission))
