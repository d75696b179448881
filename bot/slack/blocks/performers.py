"""Who performs each runbook step, in the words the status card and the App Home use."""

from __future__ import annotations

from bot.workflow import STEPS, Performer
from store.states import OnboardingState

__all__ = ["PERFORMER_NOTE", "waiting_on"]

PERFORMER_NOTE = {
    Performer.LEAD: "a team lead, in Slack",
    Performer.PERSON: "staff, in the Sinch dashboard",
    Performer.API: "the bot",
    Performer.CUSTOMER: "the customer",
}


def waiting_on(state: OnboardingState) -> str | None:
    """Who the step waited for in `state` is up to, or None when no step waits in it."""
    for step in STEPS:
        if state in step.pending_in:
            return PERFORMER_NOTE[step.performer]
    return None
