"""`python -m bot run` in Socket Mode with an app token Slack refuses: one clear line, exit 1, no traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from devslack import FakeSlackState, start_fake_slack
from store.secrets import generate_key
from tests.e2e.processes import ROOT

pytestmark = pytest.mark.e2e


def test_a_refused_app_token_ends_run_with_one_line(tmp_path):
    with start_fake_slack(state=FakeSlackState(), socket_mode=True) as slack:
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "SLACK_BOT_TOKEN": slack.state.bot_token,
               "SLACK_APP_TOKEN": "xapp-1-revoked", "SLACK_API_URL": slack.url, "ONBOARDING_CHANNEL": "C0RUN",
               "APPROVERS": "U0LEAD", "BOT_SECRET_KEY": generate_key(),
               "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"}
        result = subprocess.run([sys.executable, "-m", "bot", "--log-level", "CRITICAL", "run"], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "cannot connect to Slack: Slack refused SLACK_APP_TOKEN (invalid_auth): create an app-level token "
        "with connections:write and set it again"]
