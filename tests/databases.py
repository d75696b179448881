"""The databases tests run on: SQLite files by default, PostgreSQL when TEST_DATABASE_URL names a server.

Every test gets a database of its own that other processes can open too (a file, or a PostgreSQL database
with a unique name), created empty or as a copy of a template: a database migrated once per session, or
one a test seeded itself. Copying a template (a file copy; `CREATE DATABASE … TEMPLATE`) is much faster
than running the migrations again for every test.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from store.db import make_engine, migrate
from tests.template_copies import emptying_script, schema_fingerprint

__all__ = ["ENV_VARIABLE", "DatabaseServer", "PostgresServer", "SQLiteServer", "server_from_env"]

ENV_VARIABLE = "TEST_DATABASE_URL"
ROOT = Path(__file__).resolve().parents[1]
NAME_PREFIX = "bot_test_"
LEFTOVER_HOURS = 6
class DatabaseServer(Protocol):
    dialect: str
    made: int

    def create(self, *, template: str | None = None) -> str:
        """A URL for a new database: empty, or a copy of the database at `template` (a URL from here)."""

    def drop(self, url: str) -> None:
        """Remove a database made by `create`, closing whatever still holds it open."""

    def migrated_template(self) -> str:
        """A database at the latest migration, made once; `create(template=…)` copies it."""

    def describe(self) -> str:
        """Which database this run used, for the summary (`made` says how many it made)."""


class SQLiteServer:
    """SQLite "databases" are files in one directory."""

    dialect = "sqlite"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._migrated: str | None = None
        self.made = 0

    def _path(self, url: str) -> Path:
        database = make_url(url).database
        assert database, f"not a file database: {url}"
        return Path(database)

    def create(self, *, template: str | None = None) -> str:
        path = self.directory / f"{NAME_PREFIX}{uuid.uuid4().hex[:12]}.db"
        self.made += 1
        if template is not None:
            source = self._path(template)
            assert not Path(f"{source}-wal").exists(), "a template must be closed (its WAL checkpointed)"
            shutil.copyfile(source, path)
        return f"sqlite:///{path}"

    def drop(self, url: str) -> None:
        path = self._path(url)
        for leftover in path.parent.glob(f"{path.name}*"):  # the file, its -wal and -shm
            leftover.unlink()

    def migrated_template(self) -> str:
        if self._migrated is None:
            self._migrated = _migrated(self.create())
        return self._migrated

    def describe(self) -> str:
        return f"SQLite files ({ENV_VARIABLE} unset)"


class PostgresServer:
    """One PostgreSQL server; each database gets a unique name, so parallel test runs never meet.

    Creating a database from a template takes ~45 ms, and writes every page of it (~7 MB, ~300 files) that the
    next checkpoint must fsync. Dropping one waits for a checkpoint (PostgreSQL 15's DROP DATABASE forces one):
    ~90 ms on a quiet server, 10-30 s while the suite writes on a slow disk. So a copy of the migrated template
    is used again: when its test is done, a helper closes its connections, checks that its schema is still the
    template's (a test may have migrated or altered it) and empties its tables (emptying_script: DELETE, and
    the sequences started again, so ids start at 1 again); one that fails the check is dropped. Other databases
    are dropped by helper threads, several at once (drops waiting together share one checkpoint), and a maker of
    their own keeps a few copies of the migrated template ready, never queued behind a drop.
    """

    dialect = "postgresql"
    SPARES = 2
    DROPPERS = 4
    # At the end of a run, what is left is dropped all at once, for the same reason. Bounded: every dropper
    # holds a connection, and the other workers' tests and bot processes need theirs (max_connections is 100).
    DROPPERS_AT_END = 12

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        # AUTOCOMMIT: CREATE and DROP DATABASE cannot run inside a transaction.
        self._admin = create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=NullPool,
                                    connect_args={"connect_timeout": 10})
        self._migrated: str | None = None
        self.created: set[str] = set()
        self.made = 0
        self._spares: queue.Queue[str] = queue.Queue()
        self._emptied: queue.Queue[str] = queue.Queue()  # used copies of the migrated template, clean again
        self._copies: set[str] = set()  # names of the migrated template's copies handed out
        self._schema: str | None = None  # the migrated template's schema_fingerprint
        self._emptying: str | None = None  # the SQL that empties a copy of it (emptying_script)
        self._droppers = ThreadPoolExecutor(self.DROPPERS, thread_name_prefix="test-databases-drop")
        self._maker = ThreadPoolExecutor(1, thread_name_prefix="test-databases-make")
        self._failure: BaseException | None = None

    def check(self) -> None:
        """Raise RuntimeError, saying what to do, when the server cannot be reached."""
        try:
            with self._admin.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise RuntimeError(
                f"{ENV_VARIABLE} names a PostgreSQL server that cannot be reached "
                f"({self.url.render_as_string(hide_password=True)}): {exc.__class__.__name__}: {exc}. "
                f"Start it, or unset {ENV_VARIABLE} to run the tests on SQLite."
            ) from exc

    def drop_leftovers(self) -> None:
        """Drop test databases an interrupted run left behind: unused and older than any run lasts (their age
        is read from the server's files, which needs a superuser; without one, they stay)."""
        try:
            with self._admin.connect() as connection:
                names = connection.execute(text(
                    "SELECT datname FROM pg_database d WHERE datname LIKE :prefix"
                    " AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)"
                    " AND (pg_stat_file('base/' || d.oid || '/PG_VERSION')).modification"
                    " < now() - make_interval(hours => :hours)"),
                    {"prefix": f"{NAME_PREFIX}%", "hours": LEFTOVER_HOURS},
                ).scalars().all()
        except SQLAlchemyError:
            return
        for name in names:
            self._drop_now(name)

    def _name(self, url: str) -> str:
        name = make_url(url).database
        assert name and name.startswith(NAME_PREFIX), f"not a test database: {url}"
        return name

    def _url_of(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def _create_now(self, template: str | None) -> str:
        name = f"{NAME_PREFIX}{uuid.uuid4().hex[:16]}"
        statement = f'CREATE DATABASE "{name}"'
        if template is not None:
            statement += f' TEMPLATE "{self._name(template)}"'
        with self._admin.connect() as connection:
            connection.execute(text(statement))
        self.created.add(name)
        self.made += 1
        return self._url_of(name)

    def _drop_now(self, name: str) -> None:
        with self._admin.connect() as connection:
            # A test (or a bot process it started and killed) may have left connections open.
            connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.created.discard(name)

    def _in_background(self, pool: ThreadPoolExecutor, job: Callable[[], object]) -> None:
        def run() -> None:
            try:
                job()
            except BaseException as exc:  # noqa: B036 - handed to the test thread, which raises it
                self._failure = exc

        pool.submit(run)

    def _make_spare(self) -> None:
        self._in_background(self._maker, lambda: self._spares.put(self._create_now(self.migrated_template())))

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise RuntimeError(f"the test-database helper failed: {self._failure!r}") from self._failure

    def create(self, *, template: str | None = None) -> str:
        self._raise_failure()
        if template is None or template != self._migrated:
            return self._create_now(template)
        try:
            url = self._emptied.get_nowait()
        except queue.Empty:
            try:
                url = self._spares.get_nowait()
            except queue.Empty:
                url = None
            self._make_spare()
        url = url or self._create_now(template)
        self._copies.add(self._name(url))
        return url

    def drop(self, url: str) -> None:
        """Drop the database soon, or empty a copy of the migrated template for the next test, on a helper
        thread (its connections are closed first)."""
        self._raise_failure()
        name = self._name(url)
        if name in self._copies:
            self._copies.discard(name)
            self._in_background(self._droppers, lambda: self.empty_or_drop(self._url_of(name)))
        else:
            self._in_background(self._droppers, lambda: self._drop_now(name))

    def empty_or_drop(self, url: str) -> bool:
        """Make a used copy of the migrated template the next test's (True), or drop it if its schema changed."""
        name = self._name(url)
        engine = create_engine(self._url_of(name), poolclass=NullPool, connect_args={"connect_timeout": 10})
        emptied = False
        try:
            with self._admin.connect() as connection:
                connection.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
                connection.execute(text(f'ALTER DATABASE "{name}" RESET ALL'))
                connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                        "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
            with engine.begin() as connection:
                if schema_fingerprint(connection) == self._schema:
                    assert self._emptying is not None
                    connection.exec_driver_sql(self._emptying)
                    emptied = True
        except SQLAlchemyError:
            pass  # e.g. migrated down to nothing (no alembic_version), or dropped by its test: dropped below
        finally:
            engine.dispose()
        if emptied:
            self._emptied.put(url)
        else:
            self._drop_now(name)
        return emptied

    def migrated_template(self) -> str:
        if self._migrated is None:
            self._migrated = _migrated(self._create_now(None))
            engine = create_engine(self._migrated, poolclass=NullPool)
            try:
                with engine.connect() as connection:
                    self._schema = schema_fingerprint(connection)
                    self._emptying = emptying_script(connection)
            finally:
                engine.dispose()  # a template must have no open connection (PostgreSQL refuses to copy it otherwise)
            for _ in range(self.SPARES):
                self._make_spare()
        return self._migrated

    def describe(self) -> str:
        with self._admin.connect() as connection:
            version = connection.execute(text("SHOW server_version")).scalar()
        where = self.url.set(database=None).render_as_string(hide_password=True)
        return f"PostgreSQL {version} ({ENV_VARIABLE}={where})"

    def close(self) -> None:
        """Drop every database this run made (the spares and templates too). The helpers finish what they are
        doing; the databases still to drop (a cancelled drop's is still in `created`) go to a process of their
        own, `python -m tests.databases`, which drops them all at once after the run has ended: at the end of
        a suite the checkpoints those drops wait for took 30-60 s of each worker's last teardown."""
        for pool in (self._maker, self._droppers):
            pool.shutdown(wait=True, cancel_futures=True)
        self._admin.dispose()
        self._raise_failure()
        if self.created:
            environment = {**os.environ, ENV_VARIABLE: self.url.render_as_string(hide_password=False)}
            subprocess.run([sys.executable, "-m", "tests.databases", *sorted(self.created)], cwd=ROOT,
                           env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=True, timeout=60)

    def drop_all_now(self, names: list[str]) -> None:
        """Drop `names` at once, each waiting for the checkpoint the others wait for."""
        with ThreadPoolExecutor(self.DROPPERS_AT_END) as droppers:
            list(droppers.map(self._drop_now, names))
        self._admin.dispose()


def errors_at_once(engines: list[Engine], act: Callable[[Engine], object], *, timeout: float = 60.0,
                   ) -> list[BaseException]:
    """Run `act` on every engine at the same instant, each in a thread of its own (the replicas of one
    database starting together); the errors they raised. The engines are disposed of afterwards."""
    errors: list[BaseException] = []
    together = threading.Barrier(len(engines))

    def run(engine: Engine) -> None:
        together.wait()
        try:
            act(engine)
        except BaseException as exc:  # the outcome under test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    for engine in engines:
        engine.dispose()
    return errors


def _migrated(url: str) -> str:
    engine: Engine = make_engine(url)
    try:
        migrate(engine)
    finally:
        engine.dispose()  # a template must have no open connection (PostgreSQL refuses to copy it otherwise)
    return url


def server_from_env(directory: Path) -> SQLiteServer | PostgresServer:
    """PostgreSQL when TEST_DATABASE_URL is set (and it must then be reachable), else SQLite in `directory`."""
    url = os.environ.get(ENV_VARIABLE, "").strip()
    if not url:
        return SQLiteServer(directory)
    if make_url(url).get_backend_name() != "postgresql":
        raise RuntimeError(f"{ENV_VARIABLE} must be a postgresql+psycopg:// URL, not {url!r}")
    server = PostgresServer(url)
    server.check()
    server.drop_leftovers()
    return server


def main(names: list[str]) -> int:
    """`python -m tests.databases NAME…`: drop these test databases on the server TEST_DATABASE_URL names, in a
    child of its own that outlives this command (which returns at once, so the test run does not wait)."""
    if os.fork():
        return 0
    os.setsid()
    try:
        PostgresServer(os.environ[ENV_VARIABLE]).drop_all_now([name for name in names if name.startswith(NAME_PREFIX)])
    finally:
        os._exit(0)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
