"""SQLite as the bot uses it: WAL, a busy timeout for other processes, this process's writers in one queue
(store/write_lock.py), and the WAL copied into the database file off the request path. Nothing runs at import."""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from store.write_lock import FairWriteLock, WriteLockTimeout, in_background

__all__ = [
    "SQLITE_BUSY_TIMEOUT_MS", "WAL_AUTOCHECKPOINT_PAGES", "WAL_RESTART_PAGES", "LockingConnection", "checkpoint",
    "checkpoint_wal", "configure_sqlite", "keeps_a_wal",
]

SQLITE_BUSY_TIMEOUT_MS = 10_000
WAL_SWITCH_RETRY_S = 0.01
# A commit that finds the WAL this long copies it into the database file before it returns, holding the write
# lock meanwhile. SQLite's default, 1,000 pages, made that every 70th click or so, 17-27 ms for everyone
# queued behind it (the p99 of a paced run, python -m bench ack). `checkpoint_wal`, run in the background,
# keeps the WAL well short of this; the commit path does it only if the background falls behind.
WAL_AUTOCHECKPOINT_PAGES = 10_000
# A WAL at least this long after a background checkpoint is checkpointed once more with this process's writers
# held back, so the next one starts it again from the top (it only restarts when it is wholly copied, which a
# checkpoint running beside writers rarely sees).
WAL_RESTART_PAGES = 2_000


def _enable_wal(cursor: Any) -> None:
    """Put the database file in WAL mode (a property of the file: once one connection has, the others find it).

    The switch needs the file to itself, and SQLite answers "database is locked" at once instead of calling the
    busy handler, so processes opening a new database together (replicas starting, migrating) retry here for
    up to the busy timeout.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(WAL_SWITCH_RETRY_S)


class LockingConnection(sqlite3.Connection):
    """A SQLite connection that gives the process's FairWriteLock back once its transaction has really ended:
    after the COMMIT or ROLLBACK (SQLAlchemy's commit and rollback events fire before them, when the next
    writer's BEGIN IMMEDIATE would still find the file locked), or when the connection is closed (invalidated,
    or discarded by the pool). Resetting a connection on its return to the pool is a rollback."""

    write_lock: FairWriteLock | None = None
    lock_owner: int | None = None

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.release_write_lock()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release_write_lock()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release_write_lock()

    def release_write_lock(self) -> None:
        owner, self.lock_owner = self.lock_owner, None
        if owner is not None and self.write_lock is not None:
            self.write_lock.release(owner=owner)


def configure_sqlite(engine: Engine, *, wal: bool) -> None:
    # Writers of this process queue here in order before BEGIN IMMEDIATE (store/write_lock.py); other
    # processes still meet them in SQLite's busy handler.
    write_lock = FairWriteLock()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy so `_on_begin` can issue BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        dbapi_connection.write_lock = write_lock
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            if wal:
                _enable_wal(cursor)
                cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # Overwrite deleted content with zeros, so an erased key secret (sealed or not) leaves no bytes
            # behind in the file. Many SQLite builds default to this, but not all.
            cursor.execute("PRAGMA secure_delete=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Take the write lock when the transaction starts. A deferred transaction that reads and then
        # writes can fail with SQLITE_BUSY_SNAPSHOT under WAL without waiting; this one waits instead,
        # and two racing writers are serialised: the second sees the first one's result.
        raw = connection.connection.dbapi_connection
        assert isinstance(raw, LockingConnection)
        try:
            write_lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, background=in_background())
        except WriteLockTimeout:
            # What SQLite says when its own busy timeout runs out, so callers retry it the same way.
            raise OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked")) from None
        raw.lock_owner = threading.get_ident()
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            raw.release_write_lock()
            raise


def keeps_a_wal(engine: Engine) -> bool:
    """Whether this engine is a SQLite file (in WAL mode: make_engine), not PostgreSQL or an in-memory database."""
    return engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:")


def checkpoint(connection: Connection, mode: str = "PASSIVE") -> tuple[int, int, int]:
    """`PRAGMA wal_checkpoint(mode)` on this connection's driver connection, outside any transaction (taking
    the write lock would begin one, and SQLite cannot checkpoint inside it): (busy, WAL pages, pages copied)."""
    raw = connection.connection.dbapi_connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        busy, pages, copied = cursor.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
    finally:
        cursor.close()
    return int(busy), int(pages), int(copied)


def checkpoint_wal(engine: Engine, *, restart_over: int = WAL_RESTART_PAGES) -> int:
    """Copy what the WAL holds into the database file without holding up the writers (they go on appending
    meanwhile); then, if the WAL is `restart_over` pages or more, copy the rest with this process's writers
    held back for that moment, so the next writer starts the WAL again. Returns the WAL's length in pages."""
    with engine.connect() as connection:
        _, pages, _ = checkpoint(connection)
        if pages < restart_over:
            return pages
        raw = connection.connection.dbapi_connection
        assert isinstance(raw, LockingConnection) and raw.write_lock is not None
        raw.write_lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, background=True)
        try:
            _, pages, _ = checkpoint(connection)
        finally:
            raw.write_lock.release()
        return pages
