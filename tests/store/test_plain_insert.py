"""A plain INSERT stores exactly what SQLAlchemy's Core INSERT stores, and fails the way it does."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Table, insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from store.db import session_scope
from store.models import AuditEvent, OutboxKind, OutboxMessage, OutboxStatus
from store.plain_insert import insert_rows
from store.states import OnboardingState
from tests.store.test_enqueue import new_case

AUDIT: Table = AuditEvent.__table__  # type: ignore[attr-defined]
OUTBOX: Table = OutboxMessage.__table__  # type: ignore[attr-defined]
# On the second (no microseconds) the ORM still writes ".000000" on SQLite; a text comparison of times needs it.
TIMES = (datetime(2026, 12, 7, 19, 0, 0, tzinfo=UTC), datetime(2026, 12, 7, 19, 0, 0, 123456, tzinfo=UTC))


def stored(engine: Engine, table: Table, row_id: int) -> tuple[Any, ...]:
    """The row as the database holds it: every column cast to text, so SQLite's stored form is compared too."""
    columns = ", ".join(f"CAST({name} AS TEXT)" for name in table.c.keys() if name != "id")
    query = text(f"SELECT {columns} FROM {table.name} WHERE id = :id")
    with engine.connect() as connection:
        return tuple(connection.execute(query, {"id": row_id}).one())


def both_ways(engine: Engine, table: Table, row: dict[str, Any]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """`row` written by Core and by insert_rows; each as stored."""
    with session_scope(engine) as session:
        connection = session.connection()
        connection.execute(insert(table), row)
        insert_rows(connection, table, list(row), [row])
    with engine.connect() as connection:
        first, second = connection.execute(select(table.c.id).order_by(table.c.id.desc()).limit(2)).scalars()
    return stored(engine, table, second), stored(engine, table, first)


@pytest.mark.parametrize("at", TIMES)
def test_an_audit_row_is_stored_as_core_stores_it(engine: Engine, at: datetime) -> None:
    case = new_case(engine)
    row = {"onboarding_id": case.id, "at": at, "actor": "U0LEAD", "action": "approve",
           "from_state": OnboardingState.AWAITING_APPROVAL, "to_state": None, "detail": "50% done; 'quoted' ?"}
    by_core, plain = both_ways(engine, AUDIT, row)
    assert plain == by_core
    assert "awaiting_approval" in plain


@pytest.mark.parametrize("at", TIMES)
def test_outbox_rows_are_stored_as_core_stores_them_in_order(engine: Engine, at: datetime) -> None:
    case = new_case(engine)
    rows = [{"onboarding_id": case.id, "kind": kind, "notice": f'{{"n": {number}}}', "status": OutboxStatus.PENDING,
             "attempts": 0, "next_attempt_at": at, "created_at": at, "priority": number}
            for number, kind in enumerate([OutboxKind.REPLY, OutboxKind.CARD, OutboxKind.RESOLVE])]
    with session_scope(engine) as session:
        connection = session.connection()
        before = connection.execute(select(OUTBOX.c.id).order_by(OUTBOX.c.id.desc()).limit(1)).scalar() or 0
        connection.execute(insert(OUTBOX), rows)
        insert_rows(connection, OUTBOX, list(rows[0]), rows)
    with engine.connect() as connection:
        ids = list(connection.execute(select(OUTBOX.c.id).where(OUTBOX.c.id > before).order_by(OUTBOX.c.id)).scalars())
    by_core = [stored(engine, OUTBOX, row_id) for row_id in ids[:3]]
    plain = [stored(engine, OUTBOX, row_id) for row_id in ids[3:]]
    assert plain == by_core
    assert [row[1] for row in plain] == ["reply", "card", "resolve"]


def test_no_rows_sends_nothing(engine: Engine) -> None:
    with session_scope(engine) as session:
        insert_rows(session.connection(), OUTBOX, ["onboarding_id"], [])
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM outbox")).scalar() == 0


def test_a_refused_row_raises_sqlalchemys_error_and_writes_nothing(engine: Engine) -> None:
    """The error is SQLAlchemy's, as from any other statement: the retry on contention and the one error handler
    see the same exception types."""
    case = new_case(engine)
    good = {"onboarding_id": case.id, "at": TIMES[0], "actor": "U0LEAD", "action": "approve",
            "from_state": None, "to_state": None, "detail": ""}
    orphan = {**good, "onboarding_id": (case.id or 0) + 1000}
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        insert_rows(session.connection(), AUDIT, list(good), [good, orphan])
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM audit_event")).scalar() == 1  # the intake's own
