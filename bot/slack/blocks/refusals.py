"""What the bot says when it turns a request down or corrects it: form errors and private notes.

The flows and listeners decide *that* something is refused; the sentences live here, with the other words. (The
workflow's own refusals, such as "Only the team leads listed in APPROVERS can approve", travel as the
text of its OnboardingError subclasses.)
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.slack.blocks.reports import thread_link
from bot.slack.mrkdwn import escape
from sinch import (
    SinchAuthError,
    SinchError,
    SinchForbidden,
    SinchNotFound,
    SinchRateLimited,
    SinchServerError,
    SinchTransportError,
)
from store.models import Onboarding

__all__ = [
    "BAD_KEY_ID",
    "BAD_KEY_SECRET",
    "BAD_PROJECT_ID",
    "NO_LONGER_NEEDS_PROJECT",
    "SAY_WHICH",
    "SAY_WHICH_NUMBER",
    "UNKNOWN_CASE",
    "already_decided",
    "already_has_project",
    "already_open",
    "duplicate_hint",
    "form_did_not_open",
    "incomplete_request",
    "key_check_failed",
    "many_match",
    "no_case",
    "none_match",
    "open_the_thread",
    "unexpected_error",
    "unknown_subcommand",
    "unstorable_id",
]

UNKNOWN_CASE = "That button or form does not belong to a known onboarding."
SAY_WHICH = "Say which onboarding: `/onboard status <name or #id>`."
SAY_WHICH_NUMBER = "Give the onboarding's number: `/onboard cancel 12`."
NO_LONGER_NEEDS_PROJECT = "This onboarding no longer needs a project."
BAD_PROJECT_ID = "Paste the project id from the dashboard (letters, digits and dashes)."
BAD_KEY_ID = "Paste the access key id (letters, digits and dashes)."
BAD_KEY_SECRET = "Paste the access key secret exactly as the dashboard showed it."


def no_case(case_id: int) -> str:
    return f"There is no onboarding #{case_id}."


def search_too_long(limit: int) -> str:
    return f"That search is too long (over {limit:,} bytes); no customer name is that long. Try a shorter part of it."


def none_match(text: str) -> str:
    return f"No onboarding matches “{text}”."


def many_match(text: str, matches: Sequence[Onboarding]) -> str:
    names = ", ".join(f"{m.reference} {m.customer_name}" for m in matches[:10])
    return f"“{text}” matches several onboardings ({names}); use its #id."


def already_decided(case: Onboarding) -> str:
    return f"Onboarding {case.reference} has already been decided."


def already_has_project(case: Onboarding) -> str:
    return f"Onboarding {case.reference} already has its project."


def unknown_subcommand(name: str) -> str:
    return f"I don't know `{escape(name[:40])}`. Try `/onboard help`."


def open_the_thread(case: Onboarding) -> str:
    return f"Open the {thread_link(case)} to act on it."


def duplicate_hint(message: str, existing_id: int) -> str:
    """Under the intake field that clashes with an open case."""
    return f"{message} See /onboard status {existing_id}"


def already_open(case: Onboarding) -> str:
    """The private note after a duplicate intake, linking the open case."""
    return f"Onboarding {case.reference} for {escape(case.customer_name)} is already open: {thread_link(case)}."


def key_check_failed(exc: SinchError, project_id: str, region: str) -> dict[str, str]:
    """Which register-project field a failed key check points at, and what to tell staff (never the secret)."""
    if isinstance(exc, SinchAuthError):
        return {"key_secret": "Sinch did not accept this key id and secret."}
    if isinstance(exc, SinchForbidden):
        return {"project_id": f"This access key does not belong to project {project_id}. "
                              "Create the key inside the new project."}
    if isinstance(exc, SinchNotFound):
        return {"project_id": f"Sinch does not know project {project_id} in region {region.upper()}."}
    if isinstance(exc, SinchRateLimited | SinchServerError | SinchTransportError):
        return {"project_id": "Sinch could not be reached to check the key just now. Try again in a minute."}
    return {"project_id": f"Sinch refused the check: {exc}"[:300]}


def unstorable_id(field: str) -> str:
    """Why a request carrying a Slack id the bot cannot store (too long, or holding a NUL) was not acted on."""
    return (f"This request could not be handled: Slack sent a {field} that this bot cannot store. "
            "Nothing was changed; please tell whoever runs the bot.")


def unexpected_error(reference: str) -> str:
    return f"Something went wrong on our side (ref {reference}); it has been logged. Please try again."


def incomplete_request(missing: str) -> str:
    return f"Slack's request was missing {missing}, so nothing was done. Please try again."


def form_did_not_open(slack_error: str) -> str:
    return f"The form could not be opened (Slack said `{slack_error}`). Please try again."
