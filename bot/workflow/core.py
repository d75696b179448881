"""Shared building blocks of the domain operations: loading, moving, reporting, resolving."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event
from sqlmodel import Session

from bot.log_context import log_state_change
from bot.workflow.errors import NotAllowed, OnboardingNotFound, WrongState
from bot.workflow.notices import STATE_LABELS, ApprovalRequest, Notice, Outcome, Resolution, StepKey
from bot.workflow.text import clean_block
from store import repo
from store.limits import is_storable
from store.models import Channel, Onboarding, OutboxKind, OutboxPriority
from store.states import TERMINAL_STATES, InvalidTransition, OnboardingState

__all__ = [
    "SYSTEM_ACTOR",
    "Actor",
    "MAX_REASON",
    "app_display_name",
    "checked_reason",
    "load",
    "log_move",
    "move",
    "report",
    "require_approver",
    "require_canceller",
    "require_decider",
    "require_state",
    "resolve",
]

S = OnboardingState
SYSTEM_ACTOR = "bot"

@dataclass(frozen=True)
class Actor:
    """Who is acting: a Slack user id and whether they are an approver (resolved by the caller)."""

    user_id: str
    is_approver: bool = False


def app_display_name(customer_name: str, channels: Sequence[Channel] = (Channel.MESSENGER,)) -> str:
    """The Conversation API app's name: what staff and the customer will look for in the dashboard."""
    names = " and ".join("Instagram" if channel is Channel.INSTAGRAM else "Messenger" for channel in channels)
    return f"{customer_name} - {names}"[:100]


def load(*, session: Session, onboarding_id: int) -> Onboarding:
    """The case, locked for this transaction; OnboardingNotFound if there is none."""
    case = repo.lock_onboarding(session=session, onboarding_id=onboarding_id)
    if case is None:
        raise OnboardingNotFound(f"There is no onboarding #{onboarding_id}.")
    return case


def move(
    *,
    session: Session,
    case: Onboarding,
    to: OnboardingState,
    actor: str,
    action: str,
    now: datetime,
    attempted: str,
    detail: str = "",
) -> None:
    from_state = case.state
    try:
        repo.transition(session=session, onboarding=case, to=to, actor=actor, action=action, now=now, detail=detail)
    except InvalidTransition:
        raise WrongState(
            f"Onboarding #{case.id} is {STATE_LABELS[case.state]}, so it cannot {attempted} now."
        ) from None
    log_move(session=session, case_id=case.id, from_state=from_state, to_state=to, actor=actor, action=action)
    if to in TERMINAL_STATES:
        # The case is over: nothing left to poll, and the key secret has no further use.
        repo.erase_secret(session=session, onboarding=case)
        case.next_poll_at = None
        case.channels_poll_at = None
        case.app_attempt_at = None
        session.add(case)
        session.flush()


def log_move(*, session: Session, case_id: int | None, from_state: OnboardingState | None,
             to_state: OnboardingState, actor: str, action: str) -> None:
    """The state change's log line (from None: a new case), written when its transaction commits (a rolled-back
    move logs nothing)."""
    if case_id is None:
        return

    def committed(_: Session) -> None:
        log_state_change(case_id, from_state=from_state.value if from_state else "new", to_state=to_state.value,
                         actor=actor, action=action)

    event.listen(session, "after_commit", committed, once=True)


def report(*notices: Notice, session: Session, case: Onboarding, now: datetime,
           resolved: Resolution | None = None) -> None:
    """Queue a re-render of the status card and a thread reply per notice; first, with `resolved`, the step
    message's buttons replaced by who acted (`resolve`). All in one INSERT: a click's transaction holds SQLite's
    write lock, and each statement in it is a wait for the GIL under a burst (python -m bench ack).

    An approval request (a new case asking for a decision) and the card it hangs from are urgent: they
    are delivered before routine updates of other cases, so one busy case cannot hold up a new one.
    """
    asks = [isinstance(notice, ApprovalRequest) for notice in notices]
    urgent, routine = OutboxPriority.URGENT, OutboxPriority.ROUTINE
    card = repo.Post(OutboxKind.CARD, priority=urgent if any(asks) else routine)
    replies = [repo.Post(OutboxKind.REPLY, notice, urgent if ask else routine)
               for notice, ask in zip(notices, asks, strict=True)]
    first = [repo.Post(OutboxKind.RESOLVE, resolved)] if resolved is not None else []
    repo.enqueue_all(session=session, onboarding=case, now=now, posts=[*first, card, *replies])


def resolve(*, session: Session, case: Onboarding, now: datetime, step: StepKey, outcome: Outcome, by: str) -> None:
    """Queue the replacement of a step message's buttons with a record of who acted."""
    repo.enqueue(
        session=session,
        onboarding=case,
        kind=OutboxKind.RESOLVE,
        now=now,
        notice=Resolution(step=step, outcome=outcome, by=by, at=now),
    )


def require_state(case: Onboarding, *allowed: OnboardingState, attempted: str) -> None:
    if case.state not in allowed:
        raise WrongState(f"Onboarding #{case.id} is {STATE_LABELS[case.state]}, so it cannot {attempted} now.")


def require_approver(actor: Actor, *, verb: str) -> None:
    """Only approvers may approve or reject."""
    if not actor.is_approver:
        raise NotAllowed(f"Only the team leads listed in APPROVERS can {verb} an onboarding.")


def require_decider(case: Onboarding, actor: Actor, *, verb: str, allow_self_approval: bool) -> None:
    """Four eyes: only approvers decide (approve or reject), and never on their own request unless the
    team allows it (ALLOW_SELF_APPROVAL, for teams with a single approver). Cancelling is not deciding."""
    require_approver(actor, verb=verb)
    if actor.user_id == case.requester_id and not allow_self_approval:
        raise NotAllowed(f"You requested this onboarding, so another approver has to {verb} it.")


def require_canceller(case: Onboarding, actor: Actor) -> None:
    """Only the requester or an approver may cancel."""
    if actor.user_id != case.requester_id and not actor.is_approver:
        raise NotAllowed("Only the requester or an approver can cancel an onboarding.")


# The longest reason (reject, cancel) a person may give; the columns that keep it are larger
# (tests/store/test_limits.py holds every such limit against store.limits).
MAX_REASON = 1000


def checked_reason(reason: str, *, missing: str) -> str:
    """The reason, trimmed; NotAllowed (shown under the field) when it is empty or too long."""
    text = reason.strip()
    if text and not is_storable(text):
        # A NUL (PostgreSQL stores none in text) or a lone surrogate; Slack's own input never sends either.
        raise NotAllowed("The reason holds a NUL or another character that cannot be stored; remove it.")
    text = clean_block(text)  # the intake's rule: no bidi override or zero-width character reaches a card
    if not text:
        raise NotAllowed(missing)
    if len(text) > MAX_REASON:
        raise NotAllowed(f"Keep the reason under {MAX_REASON} characters; this one has {len(text)}.")
    return text
