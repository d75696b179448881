"""The transition table, walked as a graph and enforced by the repository."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from store import repo
from store.db import make_engine
from store.models import AuditEvent, Onboarding, PageType, Region
from store.states import TERMINAL_STATES, TRANSITIONS, InvalidTransition, OnboardingState
from tests.conftest import FakeClock
from tests.databases import DatabaseServer


def _reachable_from(start: OnboardingState) -> set[OnboardingState]:
    seen = {start}
    queue = deque([start])
    while queue:
        for target in TRANSITIONS[queue.popleft()]:
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def test_every_state_is_reachable_from_awaiting_approval() -> None:
    assert _reachable_from(OnboardingState.AWAITING_APPROVAL) == set(OnboardingState)


def test_terminal_states_have_no_exits_and_are_the_four_of_the_spec() -> None:
    assert TERMINAL_STATES == {
        OnboardingState.COMPLETED,
        OnboardingState.REJECTED,
        OnboardingState.CANCELLED,
        OnboardingState.EXPIRED,
    }
    assert all(not TRANSITIONS[state] for state in TERMINAL_STATES)


def test_every_state_after_the_invite_ends_only_through_revoking() -> None:
    for state in (OnboardingState.AWAITING_CUSTOMER, OnboardingState.ACTIVATING, OnboardingState.FAILING):
        assert not TRANSITIONS[state] & TERMINAL_STATES
        assert OnboardingState.REVOKING in TRANSITIONS[state]


def _new_case(session: Session, state: OnboardingState, clock: FakeClock) -> Onboarding:
    case = Onboarding(
        customer_name="Acme", customer_key="acme", contact_email="a@acme.test", region=Region.EU, page="Acme",
        page_type=PageType.BUSINESS, state=state, requester_id="U1", state_entered_at=clock(), created_at=clock(),
        updated_at=clock(),
    )
    return repo.add_onboarding(session=session, onboarding=case)


ILLEGAL = [(source, target) for source in OnboardingState for target in OnboardingState
           if target not in TRANSITIONS[source]]


@pytest.fixture(scope="module")
def illegal_engine(database_server: DatabaseServer) -> Iterator[Engine]:
    """One migrated database for all the illegal transitions (145 of them): each case adds a case of its
    own, and none may ever write an audit event, so what one leaves behind cannot hide another's write. A
    database per case was a PostgreSQL database emptied and handed back 150 times per pass."""
    url = database_server.create(template=database_server.migrated_template())
    engine = make_engine(url)
    yield engine
    engine.dispose()
    database_server.drop(url)


@pytest.mark.parametrize(("source", "target"), ILLEGAL, ids=[f"{s}->{t}" for s, t in ILLEGAL])
def test_an_illegal_transition_raises_and_writes_nothing(illegal_engine: Engine, clock: FakeClock,
                                                         source: OnboardingState, target: OnboardingState) -> None:
    with Session(illegal_engine) as session:
        case_id = _new_case(session, source, clock).id
        session.commit()

    with Session(illegal_engine) as session:
        case = session.get(Onboarding, case_id)
        assert case is not None
        with pytest.raises(InvalidTransition):
            repo.transition(session=session, onboarding=case, to=target, actor="U1", action="x", now=clock())
        session.commit()

    with Session(illegal_engine) as session:
        stored = session.get(Onboarding, case_id)
        assert stored is not None and stored.state == source
        assert session.exec(select(AuditEvent)).all() == []


def test_a_legal_transition_writes_the_state_and_one_audit_event(engine: Engine, clock: FakeClock) -> None:
    with Session(engine) as session:
        case = _new_case(session, OnboardingState.AWAITING_APPROVAL, clock)
        clock.advance(minutes=5)
        repo.transition(session=session, onboarding=case, to=OnboardingState.CREATING_PROJECT, actor="U9",
                        action="approve", now=clock(), detail="ok")
        session.commit()
        case_id = case.id

    with Session(engine) as session:
        stored = session.get(Onboarding, case_id)
        events = session.exec(select(AuditEvent)).all()
    assert stored is not None
    assert stored.state == OnboardingState.CREATING_PROJECT
    assert stored.state_entered_at == clock()
    assert [(e.actor, e.from_state, e.to_state, e.action, e.detail) for e in events] == [
        ("U9", OnboardingState.AWAITING_APPROVAL, OnboardingState.CREATING_PROJECT, "approve", "ok")
    ]
