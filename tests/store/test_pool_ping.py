"""PostgreSQL's pool pings a connection only when it sat idle (store.db.PG_PING_AFTER_IDLE_S); a transaction
that meets a connection the server closed inside that window runs again on a fresh one (bot/flows/transaction.py).

Connections are closed the way a server restart or a proxy closes them: pg_terminate_backend from outside.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool
from sqlmodel import Session, col, select

from bot import workflow
from bot.flows.transaction import attempts
from store.db import PG_PING_AFTER_IDLE_S, make_engine
from store.models import AuditEvent, Onboarding
from store.states import OnboardingState
from tests.bot.harness import LEAD, BotHarness

pytestmark = pytest.mark.postgres_only  # SQLite has no server to lose a connection to


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def engine(migrated_database_url: str, clock: ManualClock) -> Iterator[Engine]:
    engine = make_engine(migrated_database_url, clock=clock)
    yield engine
    engine.dispose()


def backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def close_from_the_server(url: str, pid: int) -> None:
    admin = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    finally:
        admin.dispose()


def test_a_connection_closed_while_idle_is_pinged_and_replaced(engine: Engine, migrated_database_url: str,
                                                               clock: ManualClock) -> None:
    first = backend_pid(engine)
    close_from_the_server(migrated_database_url, first)
    clock.now += PG_PING_AFTER_IDLE_S

    assert backend_pid(engine) != first  # no error: the ping found it closed, the pool connected anew


def test_a_connection_used_a_moment_ago_is_handed_out_without_a_ping(engine: Engine, migrated_database_url: str,
                                                                     clock: ManualClock) -> None:
    first = backend_pid(engine)
    close_from_the_server(migrated_database_url, first)
    clock.now += PG_PING_AFTER_IDLE_S / 2

    with pytest.raises(OperationalError) as raised:
        backend_pid(engine)
    assert raised.value.connection_invalidated
    assert backend_pid(engine) != first  # the dead one was discarded


def test_an_approval_whose_connection_the_server_closed_is_retried_and_applied_once(
        tmp_path: Path, migrated_database_url: str, clock: ManualClock, engine: Engine) -> None:
    bot = BotHarness(tmp_path, database_url=migrated_database_url)
    try:
        bot.submit_intake()
        deps = dataclasses.replace(bot.deps, engine=engine)
        close_from_the_server(migrated_database_url, backend_pid(engine))  # used just now: handed out unpinged

        for attempt in attempts(deps):
            with attempt as session:
                workflow.approve(session=session, onboarding_id=1, actor=workflow.Actor(LEAD, is_approver=True),
                                 allow_self_approval=False, now=bot.clock())

        with Session(engine) as session:
            case = session.get(Onboarding, 1)
            approvals = session.exec(select(AuditEvent).where(col(AuditEvent.onboarding_id) == 1)
                                     .where(col(AuditEvent.action) == "approve")).all()
        assert case is not None and case.state is OnboardingState.CREATING_PROJECT
        assert len(approvals) == 1
    finally:
        bot.close()
