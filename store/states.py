"""The onboarding states and the legal transitions between them, as data.

product.md's table, encoded once. Everything that moves a case goes through `check_transition`, so an
illegal move is refused before anything is written.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "AFTER_INVITE",
    "OPEN_STATES",
    "POLLED_STATES",
    "REOPENED_BY_REVIEW",
    "REMOVAL_STATES",
    "TERMINAL_STATES",
    "TRANSITIONS",
    "InvalidTransition",
    "OnboardingState",
    "check_transition",
]


class OnboardingState(StrEnum):
    AWAITING_APPROVAL = "awaiting_approval"
    CREATING_PROJECT = "creating_project"
    CREATING_APP = "creating_app"
    INVITING = "inviting"
    AWAITING_CUSTOMER = "awaiting_customer"
    ACTIVATING = "activating"
    FAILING = "failing"
    REVOKING = "revoking"
    # REMOVAL_CONFIRMATION=two-person: a second person checks that the customer is gone from User management.
    CONFIRMING_REMOVAL = "confirming_removal"
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


S = OnboardingState

TRANSITIONS: dict[OnboardingState, frozenset[OnboardingState]] = {
    S.AWAITING_APPROVAL: frozenset({S.CREATING_PROJECT, S.REJECTED, S.CANCELLED}),
    S.CREATING_PROJECT: frozenset({S.CREATING_APP, S.CANCELLED}),
    S.CREATING_APP: frozenset({S.INVITING, S.CANCELLED}),
    S.INVITING: frozenset({S.AWAITING_CUSTOMER, S.CANCELLED}),
    # From here on the customer holds access to our account: every exit goes through REVOKING.
    S.AWAITING_CUSTOMER: frozenset({S.ACTIVATING, S.FAILING, S.REVOKING}),
    S.ACTIVATING: frozenset({S.FAILING, S.REVOKING}),
    S.FAILING: frozenset({S.ACTIVATING, S.REVOKING}),
    # Back to AWAITING_CUSTOMER only when the confirmer says the connected Page is the wrong one: the
    # customer keeps access to fix it.
    S.REVOKING: frozenset({S.COMPLETED, S.CANCELLED, S.EXPIRED, S.CONFIRMING_REMOVAL, S.AWAITING_CUSTOMER}),
    S.CONFIRMING_REMOVAL: frozenset({S.COMPLETED, S.CANCELLED, S.EXPIRED}),
    S.COMPLETED: frozenset(),
    S.REJECTED: frozenset(),
    S.CANCELLED: frozenset(),
    S.EXPIRED: frozenset(),
}

TERMINAL_STATES = frozenset(state for state, exits in TRANSITIONS.items() if not exits)
# Not part of the lifecycle: an approver who finds, in the weekly access review, that a customer whose removal
# was confirmed still has access puts the case back to "remove access now". Kept apart from TRANSITIONS so
# the closed states stay closed to every other operation; only `reopen` (repo.transition) may take these.
REOPENED_BY_REVIEW: dict[OnboardingState, frozenset[OnboardingState]] = {
    S.COMPLETED: frozenset({S.REVOKING}),
    S.CANCELLED: frozenset({S.REVOKING}),
    S.EXPIRED: frozenset({S.REVOKING}),
}
OPEN_STATES = frozenset(TRANSITIONS) - TERMINAL_STATES
# States in which the customer has been invited and the access is not yet removed.
AFTER_INVITE = frozenset({S.AWAITING_CUSTOMER, S.ACTIVATING, S.FAILING, S.REVOKING, S.CONFIRMING_REMOVAL})
# States in which staff must (still) see to the removal of the customer's access.
REMOVAL_STATES = frozenset({S.REVOKING, S.CONFIRMING_REMOVAL})
# States whose Messenger channel status the scheduler polls.
POLLED_STATES = frozenset({S.AWAITING_CUSTOMER, S.ACTIVATING, S.FAILING})


class InvalidTransition(Exception):
    """A move the state table does not allow."""

    def __init__(self, current: OnboardingState, target: OnboardingState) -> None:
        self.current = current
        self.target = target
        super().__init__(f"an onboarding cannot go from {current.value} to {target.value}")


def check_transition(current: OnboardingState, target: OnboardingState, *, reopen: bool = False) -> None:
    """Raise InvalidTransition unless `current -> target` is in the table (or, with `reopen`, in
    REOPENED_BY_REVIEW)."""
    table = REOPENED_BY_REVIEW if reopen else TRANSITIONS
    if target not in table.get(current, frozenset()):
        raise InvalidTransition(current, target)
