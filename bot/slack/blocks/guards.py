"""Words for the guards: the fresh-project check's field errors and card notes, and the second-Page form.

Modal field errors are plain text (no mrkdwn), so links are bare URLs.
"""

from __future__ import annotations

from bot.workflow import STATE_LABELS
from bot.workflow.freshness import Finding, FoundApp, OtherCase, Refusal, SubprojectCheck, Verdict
from store.models import Onboarding

__all__ = [
    "CHOOSE_CUSTOMER", "NOTHING_COMPLETED", "SUBPROJECT_NOTES", "not_completed", "project_refusal_errors",
    "project_timeout_error", "thread_url",
]

MAX_ERROR = 1500
MAX_APPS_LISTED = 5

CHOOSE_CUSTOMER = "Choose the customer from the list."
NOTHING_COMPLETED = "No onboarding has completed yet: start with `/onboard`."


def not_completed(reference: str) -> str:
    return f"Onboarding {reference} has not completed, so it has no customer project to add a Page to yet."


SUBPROJECT_NOTES = {
    SubprojectCheck.UNAVAILABLE: "subproject check unavailable (the Subprojects API is a closed beta)",
}


def thread_url(case: Onboarding | OtherCase) -> str:
    """The case thread's permalink, as a bare URL."""
    if not case.slack_channel or not case.thread_ts:
        return "(its thread is not posted yet)"
    return f"https://slack.com/archives/{case.slack_channel}/p{case.thread_ts.replace('.', '')}"


def _apps(apps: tuple[FoundApp, ...]) -> str:
    listed = ", ".join(f'"{app.display_name or app.app_id}" ({app.region.value.upper()}, {app.app_id})'
                       for app in apps[:MAX_APPS_LISTED])
    more = f" and {len(apps) - MAX_APPS_LISTED} more" if len(apps) > MAX_APPS_LISTED else ""
    return f"{len(apps)} app{'s' if len(apps) != 1 else ''}: {listed}{more}"


def _sentence(refusal: Refusal, project_id: str, case: Onboarding) -> str:
    other = refusal.other
    match refusal.finding:
        case Finding.REGISTERED_ELSEWHERE if other is not None:
            return (f"Project {project_id} is already registered by onboarding {other.reference} "
                    f"({other.customer_name}, {STATE_LABELS[other.state]}): {thread_url(other)} . "
                    "Each customer gets a new project of their own.")
        case Finding.HAS_APPS:
            return (f"Project {project_id} is not fresh: it has {_apps(refusal.apps)}. Use a new project created "
                    "for this customer (not a subproject, not one already in use).")
        case Finding.ASP_PROJECT:
            return (f"Project {project_id} is our own Sinch project. Create a new project for the customer; "
                    "they must never be invited into ours.")
        case Finding.SUBPROJECT:
            return (f"Project {project_id} is a subproject of our own project. Create a project, not a "
                    "subproject: a member of a subproject's parent sees all of it.")
        case Finding.NOT_BASE_PROJECT if other is not None:
            return (f"This second Page belongs in the project of onboarding {other.reference}: "
                    f"{other.project_id}. Create a new access key in that project and register it.")
        case Finding.FOREIGN_APPS:
            return (f"Project {project_id} holds {_apps(refusal.apps)} that this bot did not create. "
                    "Check that it is the customer's project before going on.")
    return f"Project {project_id} cannot be used for onboarding {case.reference}."


def project_refusal_errors(verdict: Verdict, project_id: str, case: Onboarding) -> dict[str, str]:
    """Every refusal, in one field error under the project id."""
    text = " ".join(_sentence(refusal, project_id, case) for refusal in verdict.refusals)
    return {"project_id": text if len(text) <= MAX_ERROR else text[:MAX_ERROR - 1] + "…"}


def project_timeout_error(budget: float) -> dict[str, str]:
    return {"project_id": f"Sinch did not answer every check within {budget:g} s, so nothing was saved. "
                          "Press Verify and save again."}
