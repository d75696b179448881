"""`python -m bot run` while Slack cannot be reached: it starts anyway, /readyz says why it is not ready, one JSON
log line per auth.test attempt, and it becomes ready by itself once Slack answers. Sinch unreachable meanwhile
(port 9) does not stop it either."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from devslack import FakeSlackState, loopback, start_fake_slack
from store.secrets import generate_key
from tests.e2e.processes import start_bot, stop, wait_until

pytestmark = pytest.mark.e2e


def readyz(url: str) -> tuple[int, dict[str, dict[str, object]]]:
    response = loopback.get(f"{url}/readyz", timeout=5)
    return response.status_code, response.json()["checks"]


def test_the_bot_starts_during_a_slack_outage_and_becomes_ready_when_slack_answers(
        tmp_path: Path, migrated_database_url: str) -> None:
    # A bound socket that does not listen: connections to it are refused, as for a Slack that is down. It is
    # held until the fake Slack takes the same port, so no other process can take it in between.
    placeholder = socket.socket()
    placeholder.bind(("127.0.0.1", 0))
    port = placeholder.getsockname()[1]
    state = FakeSlackState()
    process, url = start_bot(tmp_path, {
        "SLACK_BOT_TOKEN": state.bot_token, "SLACK_SIGNING_SECRET": "outage-signing-secret",
        "SLACK_API_URL": f"http://127.0.0.1:{port}/api/", "ONBOARDING_CHANNEL": "C0OUTAGE", "APPROVERS": "U0LEAD",
        "BOT_SECRET_KEY": generate_key(), "DATABASE_URL": migrated_database_url, "LOG_FORMAT": "json",
        "SINCH_AUTH_URL": "http://127.0.0.1:9", "SINCH_CONVERSATION_URL": "http://127.0.0.1:9/{region}",
        "SINCH_PROVISIONING_URL": "http://127.0.0.1:9",
    })
    log = tmp_path / "bot.log"
    slack = None
    try:
        status, checks = readyz(url)
        assert status == 503
        assert checks["slack"] == {"ok": False, "detail": "Slack unreachable (URLError)"}
        wait_until(lambda: log.read_text().count("Slack unreachable (auth.test, attempt") >= 2,
                   what="a second attempt")
        placeholder.close()
        slack = start_fake_slack(state=state, port=port)
        wait_until(lambda: readyz(url)[0] == 200, timeout=30, what="/readyz once Slack answers")
        assert readyz(url)[1]["slack"] == {"ok": True, "detail": "auth.test answered"}
    finally:
        stop(process)
        placeholder.close()
        if slack is not None:
            slack.stop()
    assert process.returncode == 0
    records = [json.loads(line) for line in log.read_text().splitlines()]  # every line is one JSON object
    attempts = [r for r in records if r["message"].startswith("Slack unreachable (auth.test, attempt")]
    assert len(attempts) >= 2 and all(r["level"] == "WARNING" and "exception" not in r for r in attempts)
    assert any(r["message"].startswith("Slack answered auth.test") for r in records)
    assert not any("will be unused" in r["message"] for r in records)
    assert not any(str(r["logger"]).startswith("slack_sdk") for r in records)  # one line per attempt: ours
    assert not any("exception" in r for r in records), [r for r in records if "exception" in r]
