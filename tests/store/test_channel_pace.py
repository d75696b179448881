"""A channel's pace in the database: slots one interval apart for every process, and a rate limit's hold."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from store import outbox as queue
from store.db import make_engine, migrate, session_scope

CHANNEL = "C0PACE"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


def reserve(engine: Engine, now: float, interval: float = 1.0) -> float:
    with session_scope(engine) as session:
        return queue.reserve_post_slot(session=session, channel=CHANNEL, now=now, interval=interval)


def hold(engine: Engine, until: float, interval: float = 1.0) -> None:
    with session_scope(engine) as session:
        queue.hold_channel(session=session, channel=CHANNEL, until=until, interval=interval)


def held_until(engine: Engine) -> float:
    with session_scope(engine) as session:
        return queue.channel_held_until(session=session, channel=CHANNEL)


def test_slots_follow_one_interval_apart_and_restart_after_a_quiet_spell(engine: Engine) -> None:
    assert [reserve(engine, now=100.0) for _ in range(3)] == [100.0, 101.0, 102.0]
    assert reserve(engine, now=110.0) == 110.0
    assert held_until(engine) == 0.0


def test_a_hold_that_voids_every_slot_taken_restarts_the_slots_at_its_end(engine: Engine) -> None:
    taken = [reserve(engine, now=100.0) for _ in range(3)]  # three processes: 100, 101, 102
    hold(engine, until=102.05)  # the post at 100 got Retry-After: 2 s, counted from its answer
    assert all(slot < held_until(engine) for slot in taken), "every slot taken is void"
    assert [reserve(engine, now=101.0) for _ in range(3)] == [102.05, 103.05, 104.05]


def test_a_hold_keeps_the_slots_taken_beyond_it(engine: Engine) -> None:
    taken = [reserve(engine, now=100.0) for _ in range(3)]
    hold(engine, until=101.5)  # the slot at 102 is after the hold: still good, and the next free one follows it
    assert [slot >= held_until(engine) for slot in taken] == [False, False, True]
    assert reserve(engine, now=100.5) == 103.0


def test_a_shorter_hold_after_a_longer_one_leaves_the_longer_in_force(engine: Engine) -> None:
    reserve(engine, now=100.0)
    hold(engine, until=105.0)
    hold(engine, until=104.5)  # another refused post, answered later with a shorter Retry-After
    assert held_until(engine) == 105.0
    assert reserve(engine, now=101.0) == 105.0
