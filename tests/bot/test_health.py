"""/healthz, /readyz and /metrics through the bot's WSGI app, on a real database."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from bot.runtime import make_wsgi_app
from store.db import session_scope
from store.models import OutboxKind, OutboxMessage, OutboxStatus
from tests.bot.harness import BotHarness
from tests.databases import DatabaseServer, PostgresServer

ADMIN_URL = os.environ.get("TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def http_for(harness: BotHarness) -> httpx.Client:
    runtime = harness.runtime
    app = make_wsgi_app(runtime.app, readiness=runtime.readiness(), metrics=runtime.metrics)
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://bot")


def readyz(http: httpx.Client) -> tuple[int, dict[str, dict[str, object]]]:
    response = http.get("/readyz")
    return response.status_code, json.loads(response.text)["checks"]


@pytest.fixture
def running(bot: BotHarness) -> BotHarness:
    bot.runtime.start_background()
    return bot


def test_healthz_is_liveness_only_and_readyz_names_every_check(running: BotHarness) -> None:
    http = http_for(running)
    assert http.get("/healthz").text == "ok"
    status, checks = readyz(http)
    assert status == 200
    assert set(checks) == {"database", "migrations", "scheduler", "outbox", "slack"}
    assert all(check["ok"] for check in checks.values())


def test_readyz_fails_on_an_old_undelivered_message_and_a_stopped_scheduler(bot: BotHarness) -> None:
    bot.open_intake()
    bot.submit_intake()  # case 1; its messages are delivered in-line by the harness
    with session_scope(bot.deps.engine) as session:
        session.add(OutboxMessage(onboarding_id=1, kind=OutboxKind.CARD, status=OutboxStatus.PENDING,
                                  created_at=bot.clock() - timedelta(hours=1)))
    status, checks = readyz(http_for(bot))  # and the scheduler was never started
    assert status == 503
    assert checks["outbox"] == {"ok": False, "detail": "oldest undelivered message is 3600s old"}
    assert checks["scheduler"]["ok"] is False


def test_metrics_report_database_figures_and_counters(running: BotHarness) -> None:
    running.open_intake()
    running.submit_intake()
    body = http_for(running).get("/metrics").text
    assert 'onboarding_onboardings{state="awaiting_approval"} 1.0' in body
    assert "onboarding_outbox_depth 0.0" in body
    assert 'onboarding_slack_posts_total{outcome="delivered"}' in body
    assert "onboarding_socket_mode_reconnects_total 0.0" in body
    assert "xoxb-" not in body


def test_sinch_calls_are_counted_by_outcome_and_timed(bot: BotHarness) -> None:
    creds = bot.sandbox.create_project("Ours", "us")
    bot.deps.sinch_interactive.fetch_token(creds)
    body = http_for(bot).get("/metrics").text
    assert 'onboarding_sinch_calls_total{outcome="ok"} 1.0' in body
    assert "onboarding_sinch_call_seconds_count 1.0" in body
    assert creds.key_secret not in body


@pytest.fixture
def postgres_url(database_server: DatabaseServer) -> Iterator[str]:
    """A PostgreSQL database of this test's own: on the suite's server when TEST_DATABASE_URL names one (where
    an unreachable server is an error); otherwise on a local one if there is one, as CI has."""
    if isinstance(database_server, PostgresServer):
        url = database_server.create(template=database_server.migrated_template())
        yield url
        set_database_gone(url, False)
        database_server.drop(url)
        return
    pytest.importorskip("psycopg")
    name = f"readyz_{uuid.uuid4().hex[:12]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - no server here: the SQLite runs still cover the rest
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable: {type(exc).__name__}")
    yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def set_database_gone(url: str, gone: bool) -> None:
    """Refuse new connections to the database and cut the open ones, or allow them again."""
    name = url.rsplit("/", 1)[1]
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {"false" if gone else "true"}'))
        if gone:
            connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
    admin.dispose()


def test_readyz_turns_unready_when_the_database_is_gone_and_ready_when_it_is_back(tmp_path: Path,
                                                                                  postgres_url: str) -> None:
    harness = BotHarness(tmp_path, database_url=postgres_url)
    harness.runtime.start_background()
    try:
        http = http_for(harness)
        assert readyz(http)[0] == 200
        set_database_gone(postgres_url, True)
        status, checks = readyz(http)
        assert status == 503
        assert checks["database"]["ok"] is False and "postgres" not in json.dumps(checks)
        assert http.get("/healthz").status_code == 200  # alive, just not ready
        set_database_gone(postgres_url, False)
        assert readyz(http)[0] == 200
    finally:
        set_database_gone(postgres_url, False)
        harness.close()
