"""SQLite's WAL is copied into the database file in the background, not by whichever commit finds it long."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot.background.wal import keep_wal_short
from store.db import make_engine
from store.sqlite import WAL_AUTOCHECKPOINT_PAGES, LockingConnection, checkpoint, checkpoint_wal

JOIN_S = 10.0
ROW = "x" * 4000  # about a page of its own


def _engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (body TEXT)"))
    return engine


def _write(engine: Engine, transactions: int, rows: int = 10) -> None:
    for _ in range(transactions):
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t (body) VALUES (:body)"), [{"body": ROW}] * rows)


def _wal_pages(engine: Engine) -> int:
    with engine.connect() as connection:
        _, pages, _ = checkpoint(connection)
    return pages


def test_commits_leave_a_long_wal_to_the_background(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == WAL_AUTOCHECKPOINT_PAGES
    _write(engine, 150)  # well past SQLite's default of 1,000 pages, when a commit would have checkpointed
    assert _wal_pages(engine) > 1_500
    engine.dispose()


def test_a_long_wal_is_copied_and_then_started_again(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    _write(engine, 150)
    assert checkpoint_wal(engine, restart_over=1_000) > 1_500
    _write(engine, 1, rows=1)
    assert _wal_pages(engine) < 20  # the next writer started the WAL from its top
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 1_501
    engine.dispose()


def test_the_locked_part_waits_for_the_transaction_in_progress(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    _write(engine, 5)
    writer = engine.connect()
    transaction = writer.begin()
    writer.execute(text("INSERT INTO t (body) VALUES ('mid-transaction')"))
    raw = writer.connection.dbapi_connection
    assert isinstance(raw, LockingConnection) and raw.write_lock is not None
    lock = raw.write_lock
    done = threading.Event()
    checkpointer = threading.Thread(target=lambda: (checkpoint_wal(engine, restart_over=0), done.set()))
    checkpointer.start()
    while lock.waiting() < 1:  # it has copied what it could, and queued behind the writer for the rest
        assert not done.is_set()
        threading.Event().wait(0.001)
    assert not done.is_set()
    transaction.commit()
    writer.close()
    checkpointer.join(JOIN_S)
    assert done.is_set()
    assert lock.held_by() is None
    engine.dispose()


def test_the_background_thread_copies_the_wal_into_the_database_file(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    _write(engine, 20)
    database = tmp_path / "wal.db"
    before = database.stat().st_size
    stop = threading.Event()
    thread = threading.Thread(target=keep_wal_short, args=(engine, stop), kwargs={"every": 0.001})
    thread.start()
    try:
        for _ in range(10_000):
            if database.stat().st_size > before + 100 * 4096:
                break
            threading.Event().wait(0.001)
        assert database.stat().st_size > before + 100 * 4096
    finally:
        stop.set()
        thread.join(JOIN_S)
    assert not thread.is_alive()
    engine.dispose()
