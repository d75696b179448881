"""Engines, sessions and migrations. Nothing is created at import time."""

from __future__ import annotations

import importlib.util
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, make_url, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, create_engine

from store.sqlite import LockingConnection, checkpoint, configure_sqlite, keeps_a_wal

__all__ = [
    "ERASED_KEY_IDS",
    "on_secret_erased",
    "DatabaseDriverMissing", "current_revision", "database_problem", "head_revision", "is_contention", "is_disconnect",
    "make_engine", "migrate", "normalise_url", "session_scope",
]

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK_KEY = 0x6F6E626F61726400  # any constant: the advisory lock migrations take on PostgreSQL
# The PostgreSQL driver the `postgres` extra installs; `postgres://` and `postgresql://` (as hosting platforms
# hand them out) mean it too, where SQLAlchemy alone would look for psycopg2.
POSTGRES_SCHEME = "postgresql+psycopg"
_POSTGRES_ALIASES = ("postgres://", "postgresql://")
# Connections per process: listener threads, poll workers, the outbox and the scheduler share them; several
# replicas together must stay well under PostgreSQL's max_connections (100 by default).
PG_POOL_SIZE = 10
PG_MAX_OVERFLOW = 10
PG_CONNECT_TIMEOUT_S = 10
PG_POOL_RECYCLE_S = 1800
# A pooled connection that was in use this recently is handed out without a ping (a round trip of its own,
# one in seven of a click's under a burst); one idle longer is pinged first, and replaced if the server (or
# a proxy) has closed it. HikariCP skips its validation the same way (aliveBypassWindowMs, also 500 ms). A
# connection closed within the window fails its first statement instead; `attempts` runs such a transaction
# again on a fresh connection.
PG_PING_AFTER_IDLE_S = 0.5


def normalise_url(url: str) -> str:
    """`url`, with a driver-less PostgreSQL scheme pointed at psycopg (3)."""
    for alias in _POSTGRES_ALIASES:
        if url.startswith(alias):
            return f"{POSTGRES_SCHEME}://{url[len(alias):]}"
    return url


def database_problem(url: str) -> str | None:
    """What keeps the bot from using `url` (never echoing a password), or None."""
    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError:
        return "not a database URL; use sqlite:///path.db or postgresql+psycopg://user:password@host/dbname"
    if parsed.get_backend_name() == "sqlite":
        return None
    if parsed.get_backend_name() != "postgresql":
        return f"{parsed.get_backend_name()} is not supported; use SQLite or PostgreSQL"
    driver = parsed.get_driver_name()
    if driver != "psycopg":
        missing = "" if importlib.util.find_spec(driver) else f"needs the {driver!r} module, which is not installed; "
        return f"{missing}use {POSTGRES_SCHEME}:// (the psycopg 3 driver, the postgres extra), not {parsed.drivername}://"
    if importlib.util.find_spec("psycopg") is None:
        return "PostgreSQL needs the psycopg driver: pip install 'messenger-onboarding-bot[postgres]'"
    return None


class DatabaseDriverMissing(Exception):
    """DATABASE_URL names a database whose Python driver is not installed."""


def make_engine(url: str, *, echo: bool = False, clock: Callable[[], float] = time.monotonic) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and write-locking transactions, PostgreSQL a pool
    that pings connections which sat idle (`clock` times how long)."""
    url = normalise_url(url)
    if not url.startswith("sqlite"):
        try:
            engine = create_engine(
                url, echo=echo,
                pool_size=PG_POOL_SIZE, max_overflow=PG_MAX_OVERFLOW,
                pool_recycle=PG_POOL_RECYCLE_S,  # under the idle timeouts of common proxies and load balancers
                connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S, "application_name": "onboarding-bot"},
            )
        except ModuleNotFoundError as exc:
            scheme = url.split("://", 1)[0]
            raise DatabaseDriverMissing(f"DATABASE_URL needs the {exc.name!r} module for {scheme}, which is not "
                                        f"installed (for PostgreSQL: pip install 'psycopg[binary]')") from None
        _ping_when_idle(engine, after=PG_PING_AFTER_IDLE_S, clock=clock)
        return engine
    in_memory = url in ("sqlite://", "sqlite:///:memory:")
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "factory": LockingConnection}}
    if in_memory:
        # One shared connection, or every session would see its own empty database.
        kwargs["poolclass"] = StaticPool
    engine = create_engine(url, echo=echo, **kwargs)
    configure_sqlite(engine, wal=not in_memory)
    return engine


_IDLE_SINCE = "idle_since"  # the pool record's info entry: when the connection was last given back (or made)


def _ping_when_idle(engine: Engine, *, after: float, clock: Callable[[], float]) -> None:
    """SQLAlchemy's pre-ping, for connections idle at least `after` seconds only (PG_PING_AFTER_IDLE_S)."""

    @event.listens_for(engine, "connect")
    def _connected(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = clock()

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_IDLE_SINCE] = clock()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if clock() - record.info.get(_IDLE_SINCE, float("-inf")) < after:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool discards this connection and checks out a new one (SQLAlchemy's pessimistic recipe).
            raise DisconnectionError(f"pooled connection closed while idle: {type(exc).__name__}") from exc


def is_disconnect(error: BaseException) -> bool:
    """Whether `error` came from a connection the server had closed (SQLAlchemy invalidated it)."""
    return isinstance(error, DBAPIError) and error.connection_invalidated


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error, always close."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    erased = session.info.pop(ERASED_KEY_IDS, None)
    if erased:
        _after_erase(engine, frozenset(erased))


# session.info entry where repo.erase_secret notes the key ids whose sealed secret the transaction erased.
ERASED_KEY_IDS = "erased_key_ids"
_ON_ERASED = "on_secret_erased"  # the engine execution option holding the hook on_secret_erased() sets


def on_secret_erased(engine: Engine, hook: Callable[[frozenset[str]], None]) -> None:
    """Have `hook` told the key ids whose secrets a committed transaction erased (to drop cached tokens)."""
    engine.update_execution_options(**{_ON_ERASED: hook})


def _after_erase(engine: Engine, key_ids: frozenset[str]) -> None:
    """Once an erase is committed: copy SQLite's WAL into the file (secure_delete zeroes the old row there)
    and truncate it, so no copy of the sealed secret stays in the `-wal` file; then tell the hook."""
    if keeps_a_wal(engine):
        try:
            with engine.connect() as connection:
                busy, _, _ = checkpoint(connection, "TRUNCATE")
            if busy:
                logger.warning("erased a key secret, but readers kept the SQLite WAL from being truncated; "
                               "the next checkpoint clears it")
        except (sqlite3.Error, DBAPIError) as exc:
            logger.warning("erased a key secret, but the SQLite WAL checkpoint failed (%s)", type(exc).__name__)
    hook = engine.get_execution_options().get(_ON_ERASED)
    if hook is not None:
        hook(frozenset(key_id for key_id in key_ids if key_id))


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine, revision: str = "head") -> str:
    """Upgrade the schema to `revision` (default: the latest) and return the revision now current."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        if sqlite and raw is not None:
            # Batch migrations rebuild SQLite tables; foreign keys must be off (outside any transaction)
            # or dropping the old copy of a referenced table fails.
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                if engine.dialect.name == "postgresql":
                    # Replicas migrate on start. Without this, two of them starting together on a new database
                    # both create the tables and one fails; with it, the others wait and find the work done.
                    # (SQLite's BEGIN IMMEDIATE already serialises them.)
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
                command.upgrade(_alembic_config(connection), revision)
        finally:
            if sqlite and raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")
    return current_revision(engine) or "base"


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision shipped with this code."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None, "no migrations shipped"
    return head


# PostgreSQL's "try the transaction again" errors: serialization failure, deadlock (class 40), lock not available.
_PG_RETRYABLE_PREFIXES = ("40", "55P03")


def is_contention(error: BaseException) -> bool:
    """Whether `error` only means another transaction got in the way, so running the same one again can succeed:
    a version conflict (StaleDataError), SQLite's "database is locked", or PostgreSQL's serialization failure,
    deadlock or lock timeout."""
    if isinstance(error, StaleDataError):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if "database is locked" in str(error):
        return True
    sqlstate = getattr(error.orig, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith(_PG_RETRYABLE_PREFIXES)
