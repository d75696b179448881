"""Domain errors. Every message is safe to show a Slack user as it is."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.workflow.freshness import Verdict

__all__ = [
    "DuplicateOnboarding",
    "IntakeInvalid",
    "IntakeLimited",
    "NotAllowed",
    "OnboardingError",
    "OnboardingNotFound",
    "ProjectNotFresh",
    "StateChanged",
    "WrongState",
]


class OnboardingError(Exception):
    """Base class; `str(exc)` is a complete sentence for the person who triggered it."""


class OnboardingNotFound(OnboardingError):
    """No case with that id (or name)."""


class NotAllowed(OnboardingError):
    """The person may not do this (not an approver, not the requester, own request...)."""


class WrongState(OnboardingError):
    """The case is not in a state where this can happen (already approved, already cancelled...)."""


class StateChanged(WrongState):
    """The case moved on while the person was deciding; they look again and confirm (or not)."""


class DuplicateOnboarding(OnboardingError):
    """An open case already exists for this customer name or e-mail."""

    def __init__(self, message: str, *, existing_id: int, field: str) -> None:
        super().__init__(message)
        self.existing_id = existing_id
        self.field = field


class IntakeInvalid(OnboardingError):
    """The intake form has errors; `errors` maps each field name to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors


class IntakeLimited(OnboardingError):
    """This person opened as many onboardings in the last hour as INTAKE_LIMIT_PER_HOUR allows."""


class ProjectNotFresh(OnboardingError):
    """The project staff tried to register fails the fresh-project check; `verdict` says what was found."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__("This project cannot be used for this onboarding.")
        self.verdict = verdict
