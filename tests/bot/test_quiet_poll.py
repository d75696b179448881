"""A poll that changes nothing is recorded with one guarded UPDATE, and only when it truly changes nothing.

`poll_changes_nothing` decides from the row the sweep claimed; `apply_channel_status` is the whole way. The
first test holds the one to the other over every polled state, the status stored before and the reading.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot import workflow as wf
from sinch import MessengerStatus
from store import leases
from store.db import session_scope
from store.models import AuditEvent, Onboarding, OutboxMessage
from store.states import POLLED_STATES
from store.states import OnboardingState as S
from tests.bot.harness import BotHarness
from tests.bot.jobs_helpers import invite, sweep
from tests.bot.test_workflow import Flow
from tests.conftest import FakeClock

READINGS = [
    MessengerStatus("NOT_CONNECTED"),
    MessengerStatus("NOT_CONNECTED", description="Waiting for the customer"),
    MessengerStatus("NOT_CONNECTED", page_id="1234567890"),
    MessengerStatus("PENDING"),
    MessengerStatus("FAILING", description="Token expired"),
    MessengerStatus("ERROR", description="Page unpublished"),
    MessengerStatus("SUSPENDED_BY_META"),
    MessengerStatus("ACTIVE", page_id="1234567890", page_name="Acme Bikes"),
]
UNCOMPARED = {"channel_checked_at", "version"}  # what a quiet poll writes (with the poll's own columns)


class Cases(Flow):
    """Flow, with a customer and a Sinch project of its own for every case (one open case per customer, one
    onboarding per fresh project)."""

    made = 0

    def run(self, operation: Any, **kwargs: Any) -> Any:
        if "project_id" in kwargs:
            kwargs["project_id"] = f"p-quiet-{Cases.made}"
        return super().run(operation, **kwargs)

    def submit(self, **overrides: Any) -> Onboarding:
        Cases.made += 1
        return super().submit(customer_name=f"Quiet Customer {Cases.made}",
                              contact_email=f"owner{Cases.made}@quiet.test", **overrides)


def snapshot(engine: Engine, case_id: int) -> tuple[dict[str, Any], int, int]:
    """The case's columns (but those a quiet poll writes), and how many audit events and outbox rows it has."""
    with Session(engine) as session:
        case = session.get(Onboarding, case_id)
        assert case is not None
        columns = {name: value for name, value in case.model_dump().items() if name not in UNCOMPARED}
        events = len(list(session.exec(select(AuditEvent.id).where(AuditEvent.onboarding_id == case_id))))
        posts = len(list(session.exec(select(OutboxMessage.id).where(OutboxMessage.onboarding_id == case_id))))
    return columns, events, posts


@pytest.mark.parametrize("state", sorted(POLLED_STATES))
def test_it_says_nothing_changes_only_where_the_whole_way_changes_nothing(engine: Engine, clock: FakeClock,
                                                                           state: S) -> None:
    quiet = 0
    for before in READINGS:
        for reading in READINGS:
            cases = Cases(engine, clock)
            cases.to(state)
            cases.run(wf.apply_channel_status, onboarding_id=cases.id, reading=before)
            claimed = cases.case()
            if claimed.state not in POLLED_STATES:
                continue  # `before` ended the polling (ACTIVE): nothing left to poll
            assert cases.id is not None
            then = snapshot(engine, cases.id)
            says_quiet = wf.poll_changes_nothing(claimed, reading)
            clock.advance(minutes=1)
            cases.run(wf.apply_channel_status, onboarding_id=cases.id, reading=reading)
            if says_quiet:
                quiet += 1
                assert snapshot(engine, cases.id) == then, (state, before, reading)
    # Not vacuous: in every polled state, "not connected, as last time" is recorded quietly.
    assert quiet >= 2


def test_a_quiet_poll_is_one_update_that_advances_the_poll_and_gives_up_the_lease(bot: BotHarness) -> None:
    case = invite(bot)
    sweep(bot)  # the first reading (nothing stored yet) goes the whole way
    before = bot.case(case.case_id)
    events = len(bot.events(case.case_id))
    bot.clock.advance(minutes=1)
    statements = _record_poll_statements(bot.deps.engine)
    try:
        assert sweep(bot).polled == 1
    finally:
        event.remove(bot.deps.engine, "before_cursor_execute", statements.record)
    after = bot.case(case.case_id)
    assert [s.split()[0].upper() for s in statements.seen] == ["UPDATE"]
    assert after.channel_checked_at == bot.clock.now
    assert after.next_poll_at == bot.clock.now + timedelta(minutes=1)
    assert (after.work_lease_owner, after.work_lease_until) == (None, None)
    assert after.version == before.version + 1
    assert (after.state, after.channel_status) == (before.state, before.channel_status)
    assert len(bot.events(case.case_id)) == events


def test_a_case_written_since_the_claim_is_not_recorded_quietly(engine: Engine, clock: FakeClock) -> None:
    cases = Cases(engine, clock)
    cases.to(S.AWAITING_CUSTOMER)
    cases.run(wf.apply_channel_status, onboarding_id=cases.id, reading=MessengerStatus("NOT_CONNECTED"))
    clock.advance(minutes=5)
    with session_scope(engine) as session:
        claimed = leases.claim_due_polls(session=session, states=POLLED_STATES, now=clock(), owner="me",
                                         lease_ttl=timedelta(minutes=2), limit=10)
    (case,) = claimed.cases
    assert wf.poll_changes_nothing(case, MessengerStatus("NOT_CONNECTED"))
    cases.run(wf.cancel, onboarding_id=cases.id, actor=wf.Actor(case.requester_id, is_approver=False),
              reason="changed our mind")  # a click between the claim and the poll's write
    cancelled = cases.case()
    with session_scope(engine) as session:
        recorded = leases.finish_quiet_poll(session=session, case=case, checked_at=clock(),
                                            next_poll_at=clock() + timedelta(minutes=1), owner="me")
    assert not recorded
    assert cases.case().model_dump() == cancelled.model_dump()


class _Statements:
    """The statements poll workers send (the sweep's own claim runs on the calling thread); SQLite's BEGIN
    IMMEDIATE (store/sqlite.py) is not one of them, PostgreSQL's is not a cursor execute at all."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._lock = threading.Lock()

    def record(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if threading.current_thread().name.startswith("poll") and not statement.lstrip().upper().startswith("BEGIN"):
            with self._lock:
                self.seen.append(statement)


def _record_poll_statements(engine: Engine) -> _Statements:
    statements = _Statements()
    event.listen(engine, "before_cursor_execute", statements.record)
    return statements
