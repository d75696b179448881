"""Claims on background work, shared by every process on the database.

A claim is a lease: an owner (one process) and an end time. Work is claimed before it is done, released
when it is done, and a lease whose end has passed is free again, so a dead process's work is taken over
by another after at most the lease's length. Batches are claimed with `SELECT … FOR NO KEY UPDATE SKIP LOCKED`
on PostgreSQL (two processes never wait for or claim each other's rows; NO KEY, because a claim changes
no key column, and plain FOR UPDATE would also skip a case whose row another transaction merely holds a
foreign-key share lock on, say while it writes that case's outbox rows); SQLite takes its one write lock
at the start of every transaction (store/db.py), which makes the same read-then-update atomic.

Claims are plain UPDATEs that leave the case's `version` alone: claiming a case for a poll must not make
a person's concurrent click on it fail.

SKIP LOCKED also skips a row that another *kind* of work holds for a few milliseconds: the reminder sweep
claiming its leases, a person's click. Sweeps of every kind fire on the same timer, so such a skip is not
rare but systematic, and it would delay the case by a whole sweep each time. A claim therefore also reports
the cases it qualified but found locked (`Claimed.busy`); the caller waits for those locks to go
(`wait_for_row_locks`) and claims again.

A claim returns the claimed rows themselves (`Claimed.cases`, read while they were locked), so the work
needs no second read of them; and the work can give its lease up in its own last UPDATE
(`release_work_with`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Table, Update, and_, bindparam, delete, func, or_, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import object_session
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from store.models import HomeViewer, Onboarding, SlackEventSeen
from store.states import OnboardingState
from store.upsert import insert_if_absent

__all__ = [
    "Claimed",
    "claim_app_creation",
    "claim_due_polls",
    "claim_for_reminders",
    "claim_home_refresh",
    "due_app_creations",
    "event_seen",
    "finish_quiet_poll",
    "forget_events_before",
    "home_opened",
    "home_published",
    "record_event_seen",
    "release_reminders",
    "release_work",
    "release_work_with",
    "wait_for_row_locks",
]


@dataclass(frozen=True)
class Claimed:
    """What one claim took: the cases' ids and rows (as read under the claim's lock, leases included)."""

    ids: list[int]
    taken_over: list[tuple[int, str]]  # (case id, previous owner) whose lease had run out
    busy: list[int] = field(default_factory=list)  # qualified, but another transaction held them locked just then
    cases: list[Onboarding] = field(default_factory=list)  # the claimed rows, in `ids` order (detached after commit)


def _free(lease_until: Any, now: datetime) -> ColumnElement[bool]:
    return or_(col(lease_until).is_(None), col(lease_until) <= now)


def _claim_batch(*, session: Session, where: ColumnElement[bool], order_by: Any, lease: str, now: datetime,
                 owner: str, until: datetime, limit: int) -> Claimed:
    lease_until = getattr(Onboarding, f"{lease}_lease_until")
    # The whole rows: the work needs them, and reading them here (locked) saves it a read per case.
    candidates = (select(Onboarding)
                  .where(where).where(_free(lease_until, now))
                  .order_by(order_by).limit(limit).with_for_update(skip_locked=True, key_share=True))
    cases = [case for case in session.exec(candidates) if case.id is not None]
    ids = [case.id for case in cases if case.id is not None]
    held = [(case_id, getattr(case, f"{lease}_lease_until"), getattr(case, f"{lease}_lease_owner"))
            for case_id, case in zip(ids, cases, strict=True)]
    taken = [(case_id, str(previous)) for case_id, until_then, previous in held
             if until_then is not None and previous not in (None, owner)]
    if ids:
        # A bulk UPDATE, not the ORM's flush: it leaves `version` alone. The rows in the session get the
        # new values too (synchronize_session), so `cases` show the lease as claimed.
        session.execute(update(Onboarding).where(col(Onboarding.id).in_(ids))
                        .values({f"{lease}_lease_until": until, f"{lease}_lease_owner": owner}))
    busy: list[int] = []
    if len(ids) < limit and session.get_bind().dialect.name != "sqlite":
        # A plain read sees the rows the locking one skipped. (SQLite has no row locks: nothing is skipped.)
        skipped = (select(Onboarding.id).where(where).where(_free(lease_until, now))
                   .where(col(Onboarding.id).not_in(ids)).order_by(order_by).limit(limit - len(ids)))
        busy = [case_id for case_id in session.exec(skipped) if case_id is not None]
    return Claimed(ids=ids, taken_over=taken, busy=busy, cases=cases)


def wait_for_row_locks(*, session: Session, onboarding_ids: Sequence[int], timeout: timedelta) -> bool:
    """Wait until no other transaction holds these cases' rows for writing, `timeout` at most in all; False if
    one was still held by then. On SQLite (no row locks) there is nothing to wait for.

    Each row is locked (FOR SHARE: it waits for writers of either kind) and let go at once, by rolling back
    to a savepoint: this never holds one row while it waits for another, so it cannot deadlock with the
    transactions it waits for. Call it in a transaction that holds no row locks of its own."""
    if not onboarding_ids or session.get_bind().dialect.name != "postgresql":
        return True
    deadline = time.monotonic() + timeout.total_seconds()
    for case_id in onboarding_ids:
        left_ms = int((deadline - time.monotonic()) * 1000)
        if left_ms < 1:
            return False
        savepoint = session.begin_nested()
        try:
            session.execute(text(f"SET LOCAL lock_timeout = {left_ms}"))  # undone with the savepoint, too
            session.execute(select(Onboarding.id).where(col(Onboarding.id) == case_id).with_for_update(read=True))
        except OperationalError:  # lock_timeout
            return False
        finally:
            savepoint.rollback()
    return True


def claim_due_polls(*, session: Session, states: Iterable[OnboardingState], now: datetime, owner: str,
                    lease_ttl: timedelta, limit: int) -> Claimed:
    """Claim up to `limit` cases in `states` whose poll is due, most overdue first.

    A case with Instagram keeps its due time in `channels_poll_at` (migration 0004), which the previous
    version does not read: during a rolling upgrade only processes of this version poll such a case.
    """
    due = or_(col(Onboarding.next_poll_at) <= now, col(Onboarding.channels_poll_at) <= now)
    where = and_(col(Onboarding.state).in_(list(states)), due)
    order = func.coalesce(col(Onboarding.next_poll_at), col(Onboarding.channels_poll_at))
    return _claim_batch(session=session, where=where, order_by=order, lease="work", now=now,
                        owner=owner, until=now + lease_ttl, limit=limit)


def _app_due_at() -> ColumnElement[Any]:
    # A case registered by a process of the previous version (during a rolling upgrade) has no
    # app_attempt_at; that version kept the creation's next attempt in next_poll_at.
    return func.coalesce(col(Onboarding.app_attempt_at), col(Onboarding.next_poll_at))


def due_app_creations(*, session: Session, now: datetime, limit: int) -> list[int]:
    """Cases whose app creation should be (re)attempted now and that nobody is working on."""
    statement = (select(Onboarding.id)
                 .where(col(Onboarding.state) == OnboardingState.CREATING_APP)
                 .where(_app_due_at() <= now)
                 .where(_free(Onboarding.work_lease_until, now))
                 .order_by(_app_due_at()).limit(limit))
    return [case_id for case_id in session.exec(statement) if case_id is not None]


def claim_app_creation(*, session: Session, onboarding_id: int, now: datetime, owner: str,
                       lease_ttl: timedelta) -> Claimed:
    """Claim one case's app creation if it is due and free (a double click and the scheduler: one wins)."""
    where = and_(col(Onboarding.id) == onboarding_id,
                 col(Onboarding.state) == OnboardingState.CREATING_APP,
                 _app_due_at() <= now)
    return _claim_batch(session=session, where=where, order_by=col(Onboarding.id), lease="work", now=now, owner=owner,
                        until=now + lease_ttl, limit=1)


def release_work(*, session: Session, onboarding_id: int, owner: str, free_from: datetime | None = None) -> None:
    """Give up our work lease on a case, now or (with `free_from`) from that time on; a no-op if the lease
    is not ours any more. Either way no owner is left, so whoever claims it next is not "taking over"."""
    session.execute(update(Onboarding).where(col(Onboarding.id) == onboarding_id)
                    .where(col(Onboarding.work_lease_owner) == owner)
                    .values(work_lease_until=free_from, work_lease_owner=None))


def finish_quiet_poll(*, session: Session, case: Onboarding, checked_at: datetime, next_poll_at: datetime,
                      owner: str) -> bool:
    """Record a poll that changed nothing (bot.workflow.poll_changes_nothing) on `case` as this process claimed
    it, and give up our work lease, in one UPDATE: no locked read first. Like the ORM's write it bumps `version`,
    and it holds only if `version` is still the claimed one; False, having changed nothing, if the case was
    written since (a click, a cancel): the caller then applies the reading the whole way, on a fresh read."""
    result = session.connection().execute(_quiet_poll_statement(), {
        "case_id": case.id, "claimed_version": case.version, "checked": checked_at, "due": next_poll_at,
        "owner": owner})
    return result.rowcount == 1


@functools.cache
def _quiet_poll_statement() -> Update:
    table: Table = Onboarding.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
    ours = table.c.work_lease_owner == bindparam("owner")
    return (update(table)
            .where(table.c.id == bindparam("case_id"), table.c.version == bindparam("claimed_version"))
            .values(channel_checked_at=bindparam("checked"), next_poll_at=bindparam("due"), poll_failures=0,
                    version=table.c.version + 1,
                    work_lease_until=sa.case((ours, sa.null()), else_=table.c.work_lease_until),
                    work_lease_owner=sa.case((ours, sa.null()), else_=table.c.work_lease_owner)))


def release_work_with(case: Onboarding, *, owner: str) -> bool:
    """Give up our work lease on `case`, a row this transaction holds locked, in the UPDATE that is about to
    write its other changes (one statement fewer than `release_work`). Returns False, and changes nothing,
    when the case has no other change to write: the caller then uses `release_work`, which leaves `version`
    alone (a lease alone must not look like a change of the case to a concurrent click)."""
    if case.work_lease_owner != owner:
        return True  # not ours any more: nothing to give up
    session = object_session(case)
    if session is None or not session.is_modified(case):
        return False
    case.work_lease_until = None
    case.work_lease_owner = None
    return True


def claim_for_reminders(*, session: Session, states: Iterable[OnboardingState], now: datetime, owner: str,
                        lease_ttl: timedelta, limit: int, due: ColumnElement[bool] | None = None) -> Claimed:
    """Claim open cases in `states` so that only this process decides their reminders and expiry now.

    `due`, if given, narrows the claim to the cases that may be due (an indexed query that finds nothing
    when none is): the caller's rules still decide each claimed case.
    """
    in_states = col(Onboarding.state).in_(list(states))
    where = in_states if due is None else and_(in_states, due)
    return _claim_batch(session=session, where=where, order_by=col(Onboarding.state_entered_at), lease="reminder",
                        now=now, owner=owner, until=now + lease_ttl, limit=limit)


def release_reminders(*, session: Session, onboarding_ids: Sequence[int], owner: str) -> None:
    if not onboarding_ids:
        return
    session.execute(update(Onboarding).where(col(Onboarding.id).in_(list(onboarding_ids)))
                    .where(col(Onboarding.reminder_lease_owner) == owner)
                    .values(reminder_lease_until=None, reminder_lease_owner=None))


# -- App Home viewers ----------------------------------------------------------------------------


def home_opened(*, session: Session, user_id: str, now: datetime) -> None:
    """Someone opened (or refreshed) their Home tab and was just sent a fresh view."""
    insert_if_absent(session=session, model=HomeViewer,
                     values={"user_id": user_id, "opened_at": now, "published_at": now})
    session.execute(update(HomeViewer).where(col(HomeViewer.user_id) == user_id)
                    .values(opened_at=now, published_at=now))


def home_published(*, session: Session, user_id: str, now: datetime) -> None:
    session.execute(update(HomeViewer).where(col(HomeViewer.user_id) == user_id).values(published_at=now))


def claim_home_refresh(*, session: Session, now: datetime, min_interval: timedelta, keep_for: timedelta,
                       limit: int = 500) -> list[str]:
    """Viewers whose tab is older than `min_interval` (who opened it within `keep_for`), claimed by moving
    their publish time to now: another process sees them as fresh, so each tab is refreshed once."""
    statement = (select(HomeViewer.user_id)
                 .where(col(HomeViewer.published_at) <= now - min_interval)
                 .where(col(HomeViewer.opened_at) >= now - keep_for)
                 .order_by(col(HomeViewer.published_at)).limit(limit)
                 .with_for_update(skip_locked=True, key_share=True))
    users = list(session.exec(statement))
    if users:
        session.execute(update(HomeViewer).where(col(HomeViewer.user_id).in_(users)).values(published_at=now))
    return users


# -- Slack's retries -----------------------------------------------------------------------------


def event_seen(*, session: Session, event_id: str) -> bool:
    return session.get(SlackEventSeen, event_id) is not None


def record_event_seen(*, session: Session, event_id: str, now: datetime) -> None:
    insert_if_absent(session=session, model=SlackEventSeen, values={"event_id": event_id[:64], "seen_at": now})


def forget_events_before(*, session: Session, before: datetime) -> None:
    """Slack retries an event for minutes, not days: older records serve no purpose."""
    session.execute(delete(SlackEventSeen).where(col(SlackEventSeen.seen_at) < before))
