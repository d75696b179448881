"""Repository: queries and writes for cases, audit events and the outbox.

Every function takes keyword-only arguments and flushes but never commits: the caller owns the
transaction, so a state change, its audit event and its Slack outbox rows commit together.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Table, bindparam, func, or_, text, update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from store import payloads
from store.db import ERASED_KEY_IDS
from store.limits import clip, is_storable
from store.models import AuditEvent, Onboarding, OutboxKind, OutboxMessage, OutboxPriority, OutboxStatus
from store.plain_insert import insert_rows
from store.states import OPEN_STATES, OnboardingState, check_transition

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = [
    "MAX_SEARCH_BYTES",
    "add_onboarding",
    "all_onboardings",
    "audit_trail",
    "count_opened_since",
    "Post",
    "enqueue",
    "enqueue_all",
    "find_by_name",
    "find_by_project",
    "list_completed",
    "find_open_duplicate",
    "get_onboarding",
    "in_states",
    "list_open",
    "lock_onboarding",
    "normalise_name",
    "record_thread",
    "erase_secret",
    "record_event",
    "search_too_long",
    "serialise",
    "transition",
    "with_sealed_secret",
]


def normalise_name(name: str) -> str:
    """The key used to spot two cases for the same customer: case- and spacing-insensitive."""
    return " ".join(name.casefold().split())


def serialise(*, session: Session, topic: str) -> None:
    """Make every other transaction about `topic`, in any process, wait until this one ends, so that a check
    and the write it allows (no open case for this customer yet, then the new case) are one step.

    On PostgreSQL a transaction-scoped advisory lock, keyed by the topic's hash (a collision only makes two
    topics wait for each other); SQLite's one write lock (store/db.py) serialises every transaction already.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:topic))"), {"topic": topic})


def add_onboarding(*, session: Session, onboarding: Onboarding) -> Onboarding:
    """Insert a new case and give it an id."""
    session.add(onboarding)
    session.flush()
    return onboarding


def get_onboarding(*, session: Session, onboarding_id: int) -> Onboarding | None:
    """The case with this id, or None."""
    return session.get(Onboarding, onboarding_id)


def lock_onboarding(*, session: Session, onboarding_id: int) -> Onboarding | None:
    """The case with this id, locked for update where the database supports it."""
    return session.exec(_lock_onboarding_statement(), params={"onboarding_id": onboarding_id}).first()


# The statements every click runs are built once: building one (SQLModel's select, the comparison, the
# cache key of a new object) cost as much as running it, inside the transaction that holds the write lock
# (python -m bench ack).


@functools.cache
def _lock_onboarding_statement() -> SelectOfScalar[Onboarding]:
    return select(Onboarding).where(col(Onboarding.id) == bindparam("onboarding_id")).with_for_update()


def _table(model: type[AuditEvent] | type[OutboxMessage]) -> Table:
    return model.__table__  # type: ignore[union-attr, no-any-return]  # SQLModel declares no __table__


_AUDIT_COLUMNS = ("onboarding_id", "at", "actor", "action", "from_state", "to_state", "detail")
_OUTBOX_COLUMNS = ("onboarding_id", "kind", "notice", "status", "attempts", "next_attempt_at", "created_at", "priority")


def find_open_duplicate(*, session: Session, customer_key: str, contact_email: str) -> Onboarding | None:
    """An open case for the same customer name or contact e-mail, if there is one."""
    statement = (
        select(Onboarding)
        .where(col(Onboarding.state).in_(OPEN_STATES))
        .where(or_(col(Onboarding.customer_key) == customer_key, col(Onboarding.contact_email) == contact_email))
        .order_by(col(Onboarding.id))
    )
    return session.exec(statement).first()


def find_by_project(*, session: Session, project_id: str, exclude_id: int | None = None) -> list[Onboarding]:
    """Every case, open or closed, that registered this Sinch project (oldest first), except `exclude_id`."""
    statement = select(Onboarding).where(col(Onboarding.project_id) == project_id)
    if exclude_id is not None:
        statement = statement.where(col(Onboarding.id) != exclude_id)
    return list(session.exec(statement.order_by(col(Onboarding.id))))


def list_completed(*, session: Session, limit: int) -> list[Onboarding]:
    """Completed cases that have a project, newest first (the choices for a second Page)."""
    statement = (
        select(Onboarding)
        .where(col(Onboarding.state) == OnboardingState.COMPLETED)
        .where(col(Onboarding.project_id).is_not(None))
        .order_by(col(Onboarding.id).desc())
        .limit(limit)
    )
    return list(session.exec(statement))


def list_open(*, session: Session, limit: int | None = None) -> list[Onboarding]:
    """Open cases, oldest first."""
    statement = select(Onboarding).where(col(Onboarding.state).in_(OPEN_STATES)).order_by(col(Onboarding.id))
    if limit is not None:
        statement = statement.limit(limit)
    return list(session.exec(statement))


def all_onboardings(*, session: Session) -> list[Onboarding]:
    """Every case, open or closed, oldest first."""
    return list(session.exec(select(Onboarding).order_by(col(Onboarding.id))))


def with_sealed_secret(*, session: Session) -> list[Onboarding]:
    """Cases that still hold a sealed access key secret (open cases past project registration)."""
    statement = select(Onboarding).where(col(Onboarding.key_secret_sealed).is_not(None)).order_by(col(Onboarding.id))
    return list(session.exec(statement))


def count_opened_since(*, session: Session, requester_id: str, since: datetime) -> int:
    """How many cases this person opened at or after `since` (any state: a cancelled one still counted)."""
    statement = (select(func.count()).select_from(Onboarding)
                 .where(col(Onboarding.requester_id) == requester_id)
                 .where(col(Onboarding.created_at) >= since))
    return int(session.exec(statement).one())


def in_states(*, session: Session, states: Iterable[OnboardingState]) -> list[Onboarding]:
    """Cases in any of these states, oldest state change first."""
    statement = (
        select(Onboarding)
        .where(col(Onboarding.state).in_(list(states)))
        .order_by(col(Onboarding.state_entered_at))
    )
    return list(session.exec(statement))


# Stored names are at most 100 characters (bot/workflow/intake.py), so their case-folded keys stay under
# 1,200 bytes; a search over this many bytes (case-folded: "ﬃ" becomes "ffi") can match nothing.
MAX_SEARCH_BYTES = 2000


def search_too_long(text: str) -> bool:
    """Whether a name search is longer, case-folded and in UTF-8, than any stored name can be."""
    return len(normalise_name(text).encode("utf-8", "surrogatepass")) > MAX_SEARCH_BYTES


def erase_secret(*, session: Session, onboarding: Onboarding) -> None:
    """Erase the case's sealed key secret; once committed, session_scope checkpoints SQLite's WAL and tells the
    hook set by store.db.on_secret_erased (the bot drops the key's cached token)."""
    if onboarding.key_secret_sealed is not None:
        session.info.setdefault(ERASED_KEY_IDS, set()).add(onboarding.key_id or "")
    onboarding.key_secret_sealed = None


def find_by_name(*, session: Session, text: str, open_only: bool = True) -> list[Onboarding]:
    """Cases whose customer name contains `text` (case-insensitive); exact matches first."""
    key = normalise_name(text)
    if search_too_long(text):
        return []  # longer than any stored name, and SQLite refuses a LIKE pattern over 50,000 bytes
    if not is_storable(key):
        return []  # no stored name holds a NUL or a lone surrogate (intake drops them), and the database refuses them
    # LIKE with escaping rather than SQLite's instr(), which PostgreSQL lacks; both sides are casefolded.
    statement = select(Onboarding).where(col(Onboarding.customer_key).contains(key, autoescape=True))
    if open_only:
        statement = statement.where(col(Onboarding.state).in_(OPEN_STATES))
    matches = list(session.exec(statement.order_by(col(Onboarding.id))))
    exact = [case for case in matches if case.customer_key == key]
    return exact or matches


def record_event(
    *,
    session: Session,
    onboarding: Onboarding,
    actor: str,
    action: str,
    now: datetime,
    detail: str = "",
    from_state: OnboardingState | None = None,
    to_state: OnboardingState | None = None,
) -> None:
    """Append an audit event for this case.

    A plain INSERT rather than an ORM object: nothing reads the event back in the transaction that writes
    it, and every click pays for the unit of work an object would cost (python -m bench ack).
    """
    assert onboarding.id is not None, "flush the case before auditing it"
    insert_rows(session.connection(), _table(AuditEvent), _AUDIT_COLUMNS, [{
        "onboarding_id": onboarding.id,
        "at": now,
        "actor": actor,
        "action": action,
        "from_state": from_state,
        "to_state": to_state,
        # System text (an error from Sinch, a status description) may be long; what people type is
        # checked against the column before it gets here.
        "detail": clip(detail, AuditEvent, "detail"),
    }])


def transition(
    *,
    session: Session,
    onboarding: Onboarding,
    to: OnboardingState,
    actor: str,
    action: str,
    now: datetime,
    detail: str = "",
    reopen: bool = False,
) -> None:
    """Move the case to `to` if the table allows it, and audit the move; raise InvalidTransition if not.

    `reopen`: the access review's "still has access" (store.states.REOPENED_BY_REVIEW), the one way out of a
    closed state."""
    current = onboarding.state
    check_transition(current, to, reopen=reopen)
    onboarding.state = to
    onboarding.state_entered_at = now
    onboarding.updated_at = now
    onboarding.reminders_sent = 0
    record_event(
        session=session,
        onboarding=onboarding,
        actor=actor,
        action=action,
        now=now,
        detail=detail,
        from_state=current,
        to_state=to,
    )
    if onboarding not in session:  # a loaded case is already there, and add() would walk its cascades
        session.add(onboarding)
    # Flushing here runs the versioned UPDATE now, so a concurrent writer fails fast (StaleDataError).
    session.flush()


@dataclass(frozen=True)
class Post:
    """One Slack post or update to queue: its kind, what to say (a notice dataclass), how urgent."""

    kind: OutboxKind
    notice: DataclassInstance | None = None
    priority: OutboxPriority = OutboxPriority.ROUTINE


def enqueue(
    *,
    session: Session,
    onboarding: Onboarding,
    kind: OutboxKind,
    now: datetime,
    notice: DataclassInstance | None = None,
    priority: OutboxPriority = OutboxPriority.ROUTINE,
) -> None:
    """Queue a Slack post or update for delivery after this transaction commits (`notice`: what to say)."""
    enqueue_all(session=session, onboarding=onboarding, now=now, posts=[Post(kind, notice, priority)])


def enqueue_all(*, session: Session, onboarding: Onboarding, now: datetime, posts: Sequence[Post]) -> None:
    """Queue `posts` in this order, in one INSERT, for delivery after this transaction commits.

    An URGENT post is delivered before ROUTINE posts of other cases. It never overtakes its own case: if
    the case still has undelivered routine rows, it is queued as routine (per-case order holds).
    One plain INSERT rather than ORM objects: a click queues three or four rows, and building them as objects
    was a third of an Approve's CPU (python -m bench ack).
    """
    assert onboarding.id is not None, "flush the case before queueing messages for it"
    # Two priorities: an urgent post is demoted if a routine one of its case (queued before, or earlier in
    # this batch) is still undelivered.
    routine_waiting = any(post.priority > OutboxPriority.ROUTINE for post in posts) and _has_undelivered(
        session=session, onboarding_id=onboarding.id, below=OutboxPriority.URGENT)
    rows = []
    for post in posts:
        priority = OutboxPriority.ROUTINE if routine_waiting else post.priority
        routine_waiting = routine_waiting or priority == OutboxPriority.ROUTINE
        rows.append({
            "onboarding_id": onboarding.id,
            "kind": post.kind,
            "notice": payloads.encode(post.notice),
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "priority": int(priority),
        })
    insert_rows(session.connection(), _table(OutboxMessage), _OUTBOX_COLUMNS, rows)


def _has_undelivered(*, session: Session, onboarding_id: int, below: int) -> bool:
    statement = (select(OutboxMessage.id).where(col(OutboxMessage.onboarding_id) == onboarding_id)
                 .where(col(OutboxMessage.status).in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
                 .where(col(OutboxMessage.priority) < below).limit(1))
    return session.exec(statement).first() is not None


def record_thread(*, session: Session, onboarding_id: int, thread_ts: str) -> None:
    """The status card was posted: its ts is the case's thread (kept if one is already recorded).

    A plain UPDATE that leaves `version` alone: recording where the card went is not a change anyone's
    concurrent edit of the case should lose to.
    """
    session.execute(update(Onboarding).where(col(Onboarding.id) == onboarding_id)
                    .where(col(Onboarding.thread_ts).is_(None)).values(thread_ts=thread_ts))


def audit_trail(*, session: Session, onboarding_ids: Sequence[int] | None = None) -> list[AuditEvent]:
    """Audit events, by case then time."""
    statement = select(AuditEvent).order_by(col(AuditEvent.onboarding_id), col(AuditEvent.id))
    if onboarding_ids is not None:
        statement = statement.where(col(AuditEvent.onboarding_id).in_(list(onboarding_ids)))
    return list(session.exec(statement))
