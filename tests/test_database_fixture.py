"""The fixture that decides the database: a fresh one per test, and PostgreSQL never silently skipped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import inspect

from store.db import current_revision, head_revision, make_engine

ROOT = Path(__file__).resolve().parents[1]
A_TEST_THAT_NEEDS_A_DATABASE = "tests/store/test_db.py::test_session_scope_rolls_back_on_error"


def _pytest_with(test_database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TEST_DATABASE_URL": test_database_url}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", A_TEST_THAT_NEEDS_A_DATABASE],
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
