"""Shared fixtures: a clean environment, a fresh migrated database per test, a controllable clock."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from store.db import make_engine, migrate

# Variables the bot reads; stripped so a developer's shell or .env never leaks into a test.
_BOT_VARIABLE_PREFIXES = ("SLACK_", "SINCH_", "BOT_", "DATABASE_URL", "ONBOARDING_", "APPROVERS", "ALLOW_SELF",
                          "POLL_", "CUSTOMER_", "REVOKE_", "MANUAL_STEP", "SWEEP_", "PORT", "HEALTH_PORT",
                          "SHUTDOWN_TIMEOUT", "READY_OUTBOX_AGE", "LOG_FORMAT")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(_BOT_VARIABLE_PREFIXES):
            monkeypatch.delenv(name)


@pytest.fixture
def engine() -> Iterator[Engine]:
    """A fresh in-memory database at the latest migration."""
    engine = make_engine("sqlite://")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def file_engine(tmp_path: Path) -> Iterator[Engine]:
    """A fresh file-backed SQLite database (WAL) at the latest migration."""
    engine = make_engine(f"sqlite:///{tmp_path / 'bot.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


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
