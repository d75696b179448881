"""`python -m bot run` in Socket Mode with an app token Slack refuses: one clear line, exit 1, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from devslack import FakeSlackState, loopback, start_fake_slack
from store.secrets import generate_key
from tests.e2e.processes import ROOT, wait_until

pytestmark = pytest.mark.e2e


def test_a_refused_app_token_ends_run_with_one_line(tmp_path: Path, database_url: str) -> None:
    with start_fake_slack(state=FakeSlackState(), socket_mode=True) as slack:
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "SLACK_BOT_TOKEN": slack.state.bot_token,
               "SLACK_APP_TOKEN": "xapp-1-revoked", "SLACK_API_URL": slack.url, "ONBOARDING_CHANNEL": "C0RUN",
               "APPROVERS": "U0LEAD", "BOT_SECRET_KEY": generate_key(),
               "DATABASE_URL": database_url}
        result = subprocess.run([sys.executable, "-m", "bot", "--log-level", "CRITICAL", "run"], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "cannot connect to Slack: Slack refused SLACK_APP_TOKEN (invalid_auth): create an app-level token "
        "with connections:write and set it again"]


def test_readyz_on_health_port_follows_the_socket_mode_connection(tmp_path: Path, migrated_database_url: str) -> None:
    from tests.e2e.test_shutdown import start_run, stop_run

    with start_fake_slack(state=FakeSlackState(), socket_mode=True) as slack:
        process, url = start_run(tmp_path, slack, socket_mode=True, database_url=migrated_database_url)
        try:
            assert loopback.get(f"{url}/readyz", timeout=5).json()["checks"]["socket_mode"]["ok"] is True
            loopback.post(f"{slack.base_url}/_fake/socket_mode", json={"action": "refuse", "seconds": 3})
            loopback.post(f"{slack.base_url}/_fake/socket_mode", json={"action": "close"})
            wait_until(lambda: loopback.get(f"{url}/readyz", timeout=5).status_code == 503, what="unready")
            assert loopback.get(f"{url}/readyz", timeout=5).json()["checks"]["socket_mode"] == {
                "ok": False, "detail": "not connected"}
            wait_until(lambda: loopback.get(f"{url}/readyz", timeout=5).status_code == 200, what="ready again")
            assert 'onboarding_socket_mode_reconnects_total 1.0' in loopback.get(f"{url}/metrics", timeout=5).text
        finally:
            stop_run(process)
