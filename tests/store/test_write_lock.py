"""The fair write lock (store/write_lock.py) and how SQLite engines use it (store/sqlite.py)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from store import sqlite
from store.db import is_contention, make_engine
from store.write_lock import FairWriteLock, WriteLockTimeout, background_writes

JOIN_S = 10  # a bound on joins, so a broken lock fails the test instead of hanging it


def _start(target: Callable[[], None], name: str) -> threading.Thread:
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


def _queue_up(lock: FairWriteLock, names: list[str], granted: list[str]) -> list[threading.Thread]:
    """One thread per name, each queued (in this order) behind the current holder; each records its grant.
    A name that starts with "bg" asks as background work."""
    threads = []
    for position, name in enumerate(names, start=lock.waiting() + 1):
        def take(name: str = name) -> None:
            lock.acquire(timeout=JOIN_S, background=name.startswith("bg"))
            granted.append(name)
            lock.release()

        threads.append(_start(take, name))
        while lock.waiting() < position:  # the next one asks only once this one is in the queue
            threading.Event().wait(0.001)
    return threads


def test_waiting_threads_get_the_lock_in_the_order_they_asked() -> None:
    lock = FairWriteLock()
    lock.acquire()
    granted: list[str] = []
    threads = _queue_up(lock, [f"t{n}" for n in range(8)], granted)
    lock.release()
    for thread in threads:
        thread.join(JOIN_S)
    assert granted == [f"t{n}" for n in range(8)]


def test_a_newcomer_does_not_overtake_the_queue() -> None:
    lock = FairWriteLock()
    lock.acquire()
    granted: list[str] = []
    threads = _queue_up(lock, ["first"], granted)
    lock.release()  # handed straight to "first": the lock is never free for a newcomer to grab
    threads[0].join(JOIN_S)
    lock.acquire()
    granted.append("newcomer")
    lock.release()
    assert granted == ["first", "newcomer"]


def test_requests_go_before_background_work_that_asked_earlier() -> None:
    lock = FairWriteLock()
    lock.acquire()
    granted: list[str] = []
    threads = _queue_up(lock, ["bg outbox", "bg sweep", "click", "command"], granted)
    lock.release()
    for thread in threads:
        thread.join(JOIN_S)
    assert granted == ["click", "command", "bg outbox", "bg sweep"]


def test_background_work_that_waited_its_patience_goes_next() -> None:
    now = [0.0]
    lock = FairWriteLock(patience=0.5, clock=lambda: now[0])
    lock.acquire()
    granted: list[str] = []
    threads = _queue_up(lock, ["bg outbox", "click"], granted)
    now[0] = 0.5
    threads += _queue_up(lock, ["late click"], granted)
    lock.release()
    for thread in threads:
        thread.join(JOIN_S)
    assert granted == ["bg outbox", "click", "late click"]


def test_the_holding_thread_may_take_it_again_and_holds_it_until_released_as_often() -> None:
    lock = FairWriteLock()
    lock.acquire()
    lock.acquire(timeout=0)
    lock.release()
    assert lock.held_by() == threading.get_ident()
    lock.release()
    assert lock.held_by() is None


def test_another_thread_times_out_and_leaves_the_queue() -> None:
    lock = FairWriteLock()
    lock.acquire()
    outcome: list[BaseException] = []

    def take() -> None:
        try:
            lock.acquire(timeout=0.01)
        except WriteLockTimeout as exc:
            outcome.append(exc)

    _start(take, "late").join(JOIN_S)
    assert len(outcome) == 1
    assert lock.waiting() == 0
    lock.release()
    assert lock.held_by() is None


def test_release_by_a_thread_that_does_not_hold_it_is_refused() -> None:
    lock = FairWriteLock()
    with pytest.raises(RuntimeError) as exc_info:
        lock.release()
    assert "does not hold" in str(exc_info.value)


def test_release_on_behalf_of_the_owner_hands_it_on() -> None:
    lock = FairWriteLock()
    owner: list[int] = []

    def take() -> None:
        lock.acquire()
        owner.append(threading.get_ident())

    _start(take, "owner").join(JOIN_S)
    lock.release(owner=owner[0])
    assert lock.held_by() is None


# -- the SQLite engine -------------------------------------------------------------------------


def _engine_lock(engine: object) -> FairWriteLock:
    with engine.connect() as connection:  # type: ignore[attr-defined]
        raw = connection.connection.dbapi_connection
        assert isinstance(raw, sqlite.LockingConnection)
        assert raw.write_lock is not None
        return raw.write_lock


@pytest.mark.parametrize("end", ["commit", "rollback", "close", "invalidate"])
def test_a_sqlite_transaction_holds_the_lock_until_it_ends(tmp_path: Path, end: str) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    lock = _engine_lock(engine)
    connection = engine.connect()
    transaction = connection.begin()
    connection.execute(text("CREATE TABLE t (x INTEGER)"))
    assert lock.held_by() == threading.get_ident()
    if end == "commit":
        transaction.commit()
    elif end == "rollback":
        transaction.rollback()
    elif end == "invalidate":
        connection.invalidate()
    connection.close()
    assert lock.held_by() is None
    engine.dispose()


def test_a_failed_transaction_releases_the_lock_on_rollback(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    lock = _engine_lock(engine)
    with pytest.raises(OperationalError), engine.begin() as connection:
        connection.execute(text("SELECT * FROM no_such_table"))
    assert lock.held_by() is None
    engine.dispose()


def _written_behind_a_holder(tmp_path: Path, writers: list[tuple[str, bool]]) -> list[str]:
    """Each (name, background) writer begins a transaction, in this order, while another holds the write lock;
    the names in the order their rows were written once it lets go."""
    engine = make_engine(f"sqlite:///{tmp_path / 'order.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (name TEXT)"))
    lock = _engine_lock(engine)
    holder = engine.connect()
    transaction = holder.begin()  # holds the lock while the others queue behind it
    threads = []
    for position, (name, background) in enumerate(writers, start=1):
        def write(name: str = name, background: bool = background) -> None:
            with contextlib.ExitStack() as stack:
                if background:
                    stack.enter_context(background_writes())
                with engine.begin() as connection:
                    connection.execute(text("INSERT INTO t (name) VALUES (:name)"), {"name": name})

        threads.append(_start(write, name))
        while lock.waiting() < position:
            threading.Event().wait(0.001)
    transaction.commit()
    holder.close()
    for thread in threads:
        thread.join(JOIN_S)
    with engine.connect() as connection:
        written = [row[0] for row in connection.execute(text("SELECT name FROM t ORDER BY rowid"))]
    engine.dispose()
    return written


def test_sqlite_writers_of_one_process_commit_in_the_order_they_began(tmp_path: Path) -> None:
    names = [f"w{n}" for n in range(6)]
    assert _written_behind_a_holder(tmp_path, [(name, False) for name in names]) == names


def test_a_sqlite_transaction_begun_in_the_background_gives_way_to_a_request(tmp_path: Path) -> None:
    assert _written_behind_a_holder(tmp_path, [("outbox", True), ("click", False)]) == ["click", "outbox"]


def test_a_writer_that_waits_too_long_gets_sqlites_retryable_locked_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite, "SQLITE_BUSY_TIMEOUT_MS", 10)
    engine = make_engine(f"sqlite:///{tmp_path / 'timeout.db'}")
    holder = engine.connect()
    holder.begin()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            with engine.begin():
                pass
        except OperationalError as exc:
            errors.append(exc)

    _start(write, "late").join(JOIN_S)
    holder.close()
    assert len(errors) == 1
    assert is_contention(errors[0])
    engine.dispose()
