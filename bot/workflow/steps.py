"""The runbook's steps, each with its performer.

Sinch has no public API for projects or members, so those steps are performed by a person: the bot
instructs, records the attestation and reminds. The app is created by the API. If Sinch ever publishes
a members API, switching `invite` and `revoke` to `Performer.API` (and giving the scheduler a job that
performs API steps) is the only change; the states and transitions stay as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.workflow.notices import StepKey
from store.models import Onboarding
from store.states import TERMINAL_STATES, OnboardingState

__all__ = ["STEPS", "Performer", "Step", "StepProgress", "progress"]

S = OnboardingState


class Performer(StrEnum):
    LEAD = "lead"  # a team lead (an approver) decides in Slack
    PERSON = "person"  # staff do it in the Sinch dashboard and confirm in Slack
    API = "api"  # the bot does it through Sinch's API
    CUSTOMER = "customer"  # the customer does it; the bot polls for the result


class StepProgress(StrEnum):
    TODO = "todo"
    CURRENT = "current"
    DONE = "done"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Step:
    key: StepKey
    performer: Performer
    pending_in: frozenset[OnboardingState]  # states in which this step is the one being waited for
    done: Callable[[Onboarding], bool]  # the stored fact that proves the step happened


STEPS: tuple[Step, ...] = (
    Step(StepKey.APPROVAL, Performer.LEAD,
         frozenset({S.AWAITING_APPROVAL}), lambda case: case.decided_at is not None and case.state != S.REJECTED),
    Step(StepKey.PROJECT, Performer.PERSON,
         frozenset({S.CREATING_PROJECT}), lambda case: case.project_registered_at is not None),
    Step(StepKey.APP, Performer.API,
         frozenset({S.CREATING_APP}), lambda case: case.app_id is not None),
    Step(StepKey.INVITE, Performer.PERSON,
         frozenset({S.INVITING}), lambda case: case.invited_at is not None),
    Step(StepKey.CONNECT, Performer.CUSTOMER,
         frozenset({S.AWAITING_CUSTOMER, S.ACTIVATING, S.FAILING}), lambda case: case.active_at is not None),
    # With REMOVAL_CONFIRMATION=two-person the step is done once a second person has confirmed it.
    Step(StepKey.REVOKE, Performer.PERSON,
         frozenset({S.REVOKING, S.CONFIRMING_REMOVAL}),
         lambda case: case.revoked_at is not None and case.state != S.CONFIRMING_REMOVAL),
)


def progress(onboarding: Onboarding) -> list[tuple[Step, StepProgress]]:
    """Each step with where this case stands on it (for the status card's checklist)."""
    closed = onboarding.state in TERMINAL_STATES
    result: list[tuple[Step, StepProgress]] = []
    for step in STEPS:
        if step.done(onboarding):
            status = StepProgress.DONE
        elif onboarding.state in step.pending_in:
            status = StepProgress.CURRENT
        elif closed:
            status = StepProgress.SKIPPED
        else:
            status = StepProgress.TODO
        result.append((step, status))
    return result
