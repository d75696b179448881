"""One transaction per thing a person did, retried when a concurrent writer got there first.

    for attempt in attempts(deps):
        with attempt as session:
            case = workflow.approve(session=session, ...)

A retry re-reads the case, so the operation's own state checks decide: the loser of a race gets a WrongState
error ("already approved"), never a second transition. After the commit the outbox is woken, so what the
operation queued goes out now rather than at the dispatcher's next idle wake-up.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.deps import Deps
from bot.workflow import Actor
from store.db import is_contention, is_disconnect, session_scope

__all__ = ["MAX_ATTEMPTS", "actor", "attempts"]

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 3


def attempts(deps: Deps) -> Iterator[AbstractContextManager[Session]]:
    """Up to MAX_ATTEMPTS transactions: each `with attempt as session` commits, or is retried on contention
    (serialization failure, deadlock, lock timeout) or on a pooled connection the server had closed (handed
    out unpinged, store.db.PG_PING_AFTER_IDLE_S), or raises. Stops at the first commit, then wakes the outbox."""
    committed: list[bool] = []
    try:
        for number in range(1, MAX_ATTEMPTS + 1):
            yield _attempt(deps.engine, committed, last=number == MAX_ATTEMPTS)
            if committed:
                return
    finally:
        if committed:
            deps.outbox.wake()


@contextmanager
def _attempt(engine: Engine, committed: list[bool], *, last: bool) -> Iterator[Session]:
    try:
        with session_scope(engine) as session:
            yield session
    except SQLAlchemyError as exc:
        if last or not (is_contention(exc) or is_disconnect(exc)):
            raise
        # A retry re-reads the case: if a lost connection took a COMMIT with it that had in fact succeeded,
        # the operation's state check refuses the second run rather than doing it twice.
        logger.info("%s (%s); retrying", "lost connection" if is_disconnect(exc) else "concurrent update",
                    type(exc).__name__)
        return  # the error is swallowed: `attempts` offers the next try
    committed.append(True)


def actor(deps: Deps, user_id: str) -> Actor:
    """The person who acted, and whether they are an approver (a lead)."""
    return Actor(user_id, is_approver=deps.approvers.is_approver(user_id))
