"""`python -m bot check`: one clear line per problem, saying what is wrong and what to do; no side effects."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from slack_sdk import WebClient
from sqlalchemy.engine import make_url

from bot.ops.check import run_checks
from sinch.sandbox import make_app
from tests.bot.harness import BotHarness
from tests.bot.test_export_and_check import env_for
from tests.databases import ENV_VARIABLE

ROOT = Path(__file__).resolve().parents[2]


def check_lines(env: dict[str, str]) -> tuple[bool, list[str]]:
    out = io.StringIO()
    ok = run_checks(env, out, sinch_transport=httpx.WSGITransport(app=make_app()))
    return ok, out.getvalue().splitlines()


def database_line(env: dict[str, str]) -> str:
    ok, lines = check_lines(env)
    assert not ok
    return next(line for line in lines if line[6:20].strip() == "database")


def test_a_port_that_is_not_a_number_is_named_with_what_to_give() -> None:
    ok, lines = check_lines({"PORT": "abc"})
    assert not ok
    assert "PORT: 'abc' is not a TCP port: give a number from 1 to 65535" in lines[0]
    assert "invalid literal" not in "\n".join(lines)


def test_a_missing_sqlite_file_is_reported_not_created(tmp_path: Path) -> None:
    target = tmp_path / "onboarding.db"
    line = database_line({"DATABASE_URL": f"sqlite:///{target}"})
    assert line.startswith("FAIL") and f"no SQLite database at {target}" in line and "python -m bot migrate" in line
    assert not target.exists()


def test_a_bad_log_format_is_one_line_of_check_like_every_other_problem(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LOG_FORMAT": "xml", "SINCH_AUTH_URL": "http://127.0.0.1:1",
           "DATABASE_URL": f"sqlite:///{tmp_path}/onboarding.db"}
    result = subprocess.run([sys.executable, "-m", "bot", "check"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines and all(line.startswith(("ok  ", "FAIL")) for line in lines), result.stdout
    assert "LOG_FORMAT: 'xml' is not a format: use text or json" in lines[0]
    assert "Traceback" not in result.stderr


@pytest.fixture
def postgres_url() -> str:
    url = os.environ.get(ENV_VARIABLE, "").strip()
    if not url:
        pytest.skip(f"needs a PostgreSQL server ({ENV_VARIABLE})")
    return url


def test_postgresql_failures_each_get_their_own_line(postgres_url: str) -> None:
    server = make_url(postgres_url)
    wrong_port = server.set(port=1).render_as_string(hide_password=False)
    missing_database = server.set(database="no_such_database_ops").render_as_string(hide_password=False)
    unknown_role = server.set(username="no_such_role_ops", password="hunter2").render_as_string(hide_password=False)

    line = database_line({"DATABASE_URL": wrong_port})
    assert f"nothing accepts connections at {server.host}:1: is PostgreSQL running there" in line
    line = database_line({"DATABASE_URL": missing_database})
    assert "database no_such_database_ops does not exist" in line and "createdb no_such_database_ops" in line
    line = database_line({"DATABASE_URL": unknown_role})
    assert "role no_such_role_ops does not exist" in line and "hunter2" not in line


def test_an_approver_who_is_not_a_member_fails_check(bot: BotHarness) -> None:
    out = io.StringIO()
    ok = run_checks(env_for(bot, APPROVERS="U0NOBODY"), out, sinch_transport=httpx.WSGITransport(app=bot.sandbox_app),
                    slack_client=lambda s: WebClient(token=s.slack_bot_token.reveal(), base_url=s.slack_api_url))
    lines = out.getvalue().splitlines()
    assert not ok
    approvers = next(line for line in lines if line[6:20].strip() == "approver users")
    assert approvers.startswith("FAIL") and "U0NOBODY in APPROVERS: no such member of this workspace" in approvers
