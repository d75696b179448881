"""Shared fixtures: a clean environment, a fresh database per test, a controllable clock.

The database is SQLite unless TEST_DATABASE_URL names a PostgreSQL server (tests/databases.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from store.db import make_engine
from tests.databases import ENV_VARIABLE, PostgresServer, SQLiteServer, server_from_env

# Variables the bot reads; stripped so a developer's shell or .env never leaks into a test.
_BOT_VARIABLE_PREFIXES = ("SLACK_", "SINCH_", "BOT_", "DATABASE_URL", "ONBOARDING_", "APPROVERS", "ALLOW_SELF",
                          "POLL_", "CUSTOMER_", "REVOKE_", "MANUAL_STEP", "SWEEP_", "PORT", "HEALTH_PORT",
                          "SHUTDOWN_TIMEOUT", "READY_OUTBOX_AGE", "LOG_FORMAT", "INTAKE_", "LEASE_TTL",
                          "APP_RETRY", "SLACK_POST")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(_BOT_VARIABLE_PREFIXES):
            monkeypatch.delenv(name)


def _database_kind() -> str:
    return "PostgreSQL" if os.environ.get(ENV_VARIABLE, "").strip() else "SQLite"


def pytest_report_header(config: pytest.Config) -> str:
    where = os.environ.get(ENV_VARIABLE, "").strip()
    return f"database: {_database_kind()}" + (f" ({ENV_VARIABLE}={where})" if where else f" ({ENV_VARIABLE} unset)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    other, kind = ("postgres_only", "PostgreSQL") if _database_kind() == "SQLite" else ("sqlite_only", "SQLite")
    about_the_other = pytest.mark.skip(reason=f"about {kind} itself; this run uses {_database_kind()}")
    for item in items:
        if item.get_closest_marker(other):
            item.add_marker(about_the_other)


_USED_DATABASE = pytest.StashKey[str]()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if _USED_DATABASE in config.stash:
        terminalreporter.section("database")
        terminalreporter.write_line(config.stash[_USED_DATABASE])


@pytest.fixture(scope="session")
def database_server(request: pytest.FixtureRequest,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[SQLiteServer | PostgresServer]:
    """Where test databases live. With TEST_DATABASE_URL set, a server that cannot be reached is an error
    for every test that needs a database, never a reason to skip it."""
    server = server_from_env(tmp_path_factory.mktemp("databases"))
    yield server
    request.config.stash[_USED_DATABASE] = server.describe()
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
