"""Queueing a case's posts: one INSERT for a batch, in order, and an urgent post never ahead of its case."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot import workflow
from bot.workflow.notices import Approved, Outcome, Resolution, StepKey
from store import repo
from store.db import session_scope
from store.models import Onboarding, OutboxKind, OutboxMessage, OutboxPriority, OutboxStatus, utcnow

URGENT, ROUTINE = OutboxPriority.URGENT, OutboxPriority.ROUTINE


def new_case(engine: Engine) -> Onboarding:
    intake = workflow.parse_intake({
        "customer_name": "Queue Customer", "contact_email": "owner@queue.test", "region": "eu",
        "page": "https://www.facebook.com/queuecustomer", "page_type": "business",
        "prerequisites": ["business_verified", "page_admin", "chat_button"], "notes": ""})
    with session_scope(engine) as session:
        return workflow.submit_intake(session=session, intake=intake, requester_id="U0REQ", channel="C0Q",
                                      now=utcnow())


def rows_after(engine: Engine, case: Onboarding, after: int) -> list[tuple[OutboxKind, int]]:
    with session_scope(engine) as session:
        statement = (select(OutboxMessage).where(col(OutboxMessage.onboarding_id) == case.id)
                     .where(col(OutboxMessage.id) > after).order_by(col(OutboxMessage.id)))
        return [(row.kind, row.priority) for row in session.exec(statement)]


def last_id(engine: Engine) -> int:
    with session_scope(engine) as session:
        return max((row.id or 0 for row in session.exec(select(OutboxMessage))), default=0)


def deliver_all(engine: Engine) -> None:
    with session_scope(engine) as session:
        for row in session.exec(select(OutboxMessage)):
            row.status = OutboxStatus.DELIVERED
            session.add(row)


def enqueue(engine: Engine, case: Onboarding, *posts: repo.Post) -> Counter[str]:
    """Queue `posts` in one transaction; the INSERT statements it sent, by table."""
    inserts: Counter[str] = Counter()

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT"):
            inserts[statement.split()[2]] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        with session_scope(engine) as session:
            repo.enqueue_all(session=session, onboarding=case, now=utcnow(), posts=posts)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return inserts


def test_a_batch_is_one_insert_in_the_order_given(engine: Engine) -> None:
    case = new_case(engine)
    deliver_all(engine)
    before = last_id(engine)
    resolution = Resolution(step=StepKey.APPROVAL, outcome=Outcome.APPROVED, by="U0LEAD", at=utcnow())
    inserts = enqueue(engine, case, repo.Post(OutboxKind.RESOLVE, resolution), repo.Post(OutboxKind.CARD),
                      repo.Post(OutboxKind.REPLY, Approved(by="U0LEAD")))
    assert inserts == Counter({"outbox": 1})
    assert rows_after(engine, case, before) == [(OutboxKind.RESOLVE, ROUTINE), (OutboxKind.CARD, ROUTINE),
                                                (OutboxKind.REPLY, ROUTINE)]


def test_urgent_posts_stay_urgent_when_nothing_of_their_case_waits(engine: Engine) -> None:
    case = new_case(engine)
    deliver_all(engine)
    before = last_id(engine)
    enqueue(engine, case, repo.Post(OutboxKind.CARD, priority=URGENT), repo.Post(OutboxKind.REPLY, priority=URGENT))
    assert rows_after(engine, case, before) == [(OutboxKind.CARD, URGENT), (OutboxKind.REPLY, URGENT)]


def test_an_urgent_post_behind_a_routine_one_of_its_case_is_queued_as_routine(engine: Engine) -> None:
    case = new_case(engine)
    deliver_all(engine)
    before = last_id(engine)
    # Earlier in the same batch: the reply must not overtake the routine card.
    enqueue(engine, case, repo.Post(OutboxKind.CARD), repo.Post(OutboxKind.REPLY, priority=URGENT))
    assert rows_after(engine, case, before) == [(OutboxKind.CARD, ROUTINE), (OutboxKind.REPLY, ROUTINE)]
    # Queued before and still undelivered: the whole urgent batch goes as routine.
    before = last_id(engine)
    enqueue(engine, case, repo.Post(OutboxKind.CARD, priority=URGENT), repo.Post(OutboxKind.REPLY, priority=URGENT))
    assert rows_after(engine, case, before) == [(OutboxKind.CARD, ROUTINE), (OutboxKind.REPLY, ROUTINE)]
