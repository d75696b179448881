"""The fixture that decides the database: a fresh one per test, and PostgreSQL never silently skipped."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, make_url, text
from sqlalchemy.pool import NullPool
from sqlmodel import select

from store.db import current_revision, head_revision, make_engine, session_scope
from store.models import Onboarding, PageType, Region
from store.states import OnboardingState
from tests.databases import PostgresServer, SQLiteServer

ROOT = Path(__file__).resolve().parents[1]
A_TEST_THAT_NEEDS_A_DATABASE = "tests/store/test_db.py::test_session_scope_rolls_back_on_error"


def _pytest_with(test_database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TEST_DATABASE_URL": test_database_url}
    # One xdist worker, not `-n auto`: the same path as a CI run (the error is raised in a worker), without
    # starting a worker per core for one test.
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "1",
                           A_TEST_THAT_NEEDS_A_DATABASE],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_an_unreachable_postgresql_server_is_an_error_never_a_skip() -> None:
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    result = _pytest_with("postgresql+psycopg://postgres@127.0.0.1:1/postgres")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "1 error" in output and "skipped" not in output, output
    assert "cannot be reached" in output and "unset TEST_DATABASE_URL" in output, output


def test_a_test_database_url_that_is_not_postgresql_is_an_error() -> None:
    result = _pytest_with("mysql://root@127.0.0.1/test")
    output = result.stdout + result.stderr
    assert result.returncode == 1 and "1 error" in output and "must be a postgresql+psycopg:// URL" in output, output


def test_database_url_is_empty_and_migrated_database_url_is_at_the_head(database_url: str,
                                                                        migrated_database_url: str) -> None:
    assert database_url != migrated_database_url
    empty, migrated = make_engine(database_url), make_engine(migrated_database_url)
    try:
        assert inspect(empty).get_table_names() == []
        assert current_revision(migrated) == head_revision()
        assert {"onboarding", "audit_event", "outbox"} <= set(inspect(migrated).get_table_names())
    finally:
        empty.dispose()
        migrated.dispose()


def _case() -> Onboarding:
    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    return Onboarding(customer_name="Acme", customer_key="acme", contact_email="a@acme.test", region=Region.EU,
                      page="Acme", page_type=PageType.BUSINESS, state=OnboardingState.AWAITING_APPROVAL,
                      requester_id="U1", state_entered_at=now, created_at=now, updated_at=now)


def _exists(server: PostgresServer, url: str) -> bool:
    engine = create_engine(server.url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return bool(connection.execute(text("SELECT count(*) FROM pg_database WHERE datname = :name"),
                                           {"name": make_url(url).database}).scalar())
    finally:
        engine.dispose()


@pytest.mark.postgres_only  # SQLite copies the template file for every test
def test_a_used_copy_of_the_migrated_template_comes_back_empty_and_one_altered_is_dropped(
        database_server: SQLiteServer | PostgresServer) -> None:
    assert isinstance(database_server, PostgresServer)
    server = PostgresServer(database_server.url.render_as_string(hide_password=False))  # handouts of its own
    try:
        first = server.create(template=server.migrated_template())
        engine = make_engine(first)
        with session_scope(engine) as session:
            session.add(_case())
        engine.dispose()
        assert server.empty_or_drop(first)

        again = server.create(template=server.migrated_template())
        engine = make_engine(again)
        try:
            with session_scope(engine) as session:
                assert session.exec(select(Onboarding)).all() == []
                case = _case()
                session.add(case)
                session.flush()
                assert case.id == 1  # ids start again
            with engine.begin() as connection:
                connection.execute(text("ALTER TABLE onboarding ADD COLUMN extra INTEGER"))
        finally:
            engine.dispose()
        assert again == first
        assert not server.empty_or_drop(again)
        assert not _exists(server, again)
    finally:
        server.close()
