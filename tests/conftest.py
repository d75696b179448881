"""Shared fixtures: a clean environment, a fresh database per test, a controllable clock.

The database is SQLite unless TEST_DATABASE_URL names a PostgreSQL server (tests/databases.py). The suite runs
in parallel (pytest-xdist, `-n` in pyproject.toml); every hook here works in each worker and in the controller.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.config_names import variable_names
from store.db import make_engine
from tests.databases import ENV_VARIABLE, PostgresServer, SQLiteServer, server_from_env
from tests.hypothesis_profiles import ENV_VARIABLE as PROFILE_VARIABLE
from tests.hypothesis_profiles import load_profile
from tests.reporting import DatabaseUse, add_share, print_sections, share

_DATABASES = pytest.StashKey[DatabaseUse]()
_PROFILE = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_DATABASES] = DatabaseUse()
    config.stash[_PROFILE] = load_profile()


@functools.cache
def _bot_variables() -> frozenset[str]:
    return variable_names()


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Strip the variables the bot reads, so a developer's shell or .env never leaks into a test."""
    for name in _bot_variables() & set(os.environ):
        monkeypatch.delenv(name)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: two workers per core. Most tests wait on processes, sockets and timers, so one per core would
    leave the cores idle much of the time."""
    return 2 * len(os.sched_getaffinity(0))


def _database_kind() -> str:
    return "PostgreSQL" if os.environ.get(ENV_VARIABLE, "").strip() else "SQLite"


def pytest_report_header(config: pytest.Config) -> list[str]:
    where = os.environ.get(ENV_VARIABLE, "").strip()
    return [f"database: {_database_kind()}" + (f" ({ENV_VARIABLE}={where})" if where else f" ({ENV_VARIABLE} unset)"),
            f"hypothesis profile: {config.stash[_PROFILE]} ({PROFILE_VARIABLE})"]


def _uses_a_database(item: pytest.Item) -> bool:
    """Every database fixture (database_url, migrated_database_url, engine, a module's own) asks for
    database_server."""
    return "database_server" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    other, kind = ("postgres_only", "PostgreSQL") if _database_kind() == "SQLite" else ("sqlite_only", "SQLite")
    about_the_other = pytest.mark.skip(reason=f"about {kind} itself; this run uses {_database_kind()}")
    for item in items:
        if item.get_closest_marker(other):
            item.add_marker(about_the_other)
        if not _uses_a_database(item):
            item.add_marker(pytest.mark.no_database)
    if _database_kind() == "PostgreSQL":
        # They would run exactly as they did on SQLite: the PostgreSQL pass runs what touches a database.
        config.hook.pytest_deselected(items=[item for item in items if not _uses_a_database(item)])
        items[:] = [item for item in items if _uses_a_database(item)]
    # The longest chain of tests (an xdist_group: the replica tests that check the channel's pace, one after
    # the other so their processes never share the cores with each other) starts first, so it overlaps with
    # the rest instead of holding up the end of a parallel run.
    items.sort(key=lambda item: item.get_closest_marker("xdist_group") is None)


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand what it gathered to the controller
        workeroutput["gathered"] = share(session.config.stash[_DATABASES])


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """xdist: a worker finished; add up what it gathered."""
    gathered = getattr(node, "workeroutput", {}).get("gathered")
    if gathered is not None:
        add_share(gathered, node.config.stash[_DATABASES])


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    print_sections(terminalreporter, config.stash[_DATABASES])


@pytest.fixture(scope="session")
def database_server(request: pytest.FixtureRequest,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[SQLiteServer | PostgresServer]:
    """Where test databases live. With TEST_DATABASE_URL set, a server that cannot be reached is an error
    for every test that needs a database, never a reason to skip it."""
    server = server_from_env(tmp_path_factory.mktemp("databases"))
    yield server
    request.config.stash[_DATABASES].record(kind=server.describe(), dialect=server.dialect, made=server.made)
    if isinstance(server, PostgresServer):
        server.close()


@pytest.fixture
def database_url(database_server: SQLiteServer | PostgresServer) -> Iterator[str]:
    """A URL for a fresh, empty database of this test's own, which other processes can open too."""
    url = database_server.create()
    yield url
    database_server.drop(url)


@pytest.fixture
def migrated_database_url(database_server: SQLiteServer | PostgresServer) -> Iterator[str]:
    """Like `database_url`, already at the latest migration (a copy of a template migrated once)."""
    url = database_server.create(template=database_server.migrated_template())
    yield url
    database_server.drop(url)


@pytest.fixture
def engine(migrated_database_url: str) -> Iterator[Engine]:
    """An engine on a fresh database at the latest migration."""
    engine = make_engine(migrated_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def file_engine(engine: Engine) -> Engine:
    """The same as `engine` (kept for tests that say they need a database shared between connections)."""
    return engine


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
