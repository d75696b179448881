"""Hardening as operators run it: `python -m bot run` (HTTP mode, LOG_LEVEL=DEBUG) on loopback.

Deeply nested bodies get 400 with or without a signature; a stale register-project submission carrying a
key secret gets 401 and its body never reaches the log (Bolt's RequestVerification logs it at INFO); typed
newlines cannot forge a log line; and the log holds no traceback. The log is the process's own output,
configured by the CLI.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from devslack import FakeSlackState, SlackUserSimulator, start_fake_slack
from store.secrets import generate_key
from tests.e2e.processes import start_bot, stop

pytestmark = pytest.mark.e2e

SIGNING_SECRET = "e2e-hardening-signing-secret"
KEY_SECRET = "pasted-key-secret-7d1c0e9f"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def running(tmp_path: Path, migrated_database_url: str) -> Iterator[tuple[str, SlackUserSimulator, Path, Any]]:
    state = FakeSlackState()
    state.add_user("U0REQ", "rita")
    slack = start_fake_slack(state=state)
    process, url = start_bot(tmp_path, {
        "SLACK_BOT_TOKEN": state.bot_token, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.url,
        "ONBOARDING_CHANNEL": "C0E2E", "APPROVERS": "U0LEAD", "BOT_SECRET_KEY": generate_key(),
        "DATABASE_URL": migrated_database_url, "LOG_LEVEL": "DEBUG",
        "SINCH_AUTH_URL": "http://127.0.0.1:9", "SINCH_CONVERSATION_URL": "http://127.0.0.1:9/{region}",
        "SINCH_PROVISIONING_URL": "http://127.0.0.1:9",
    })
    sim = SlackUserSimulator.for_server(slack, signing_secret=SIGNING_SECRET, events_url=f"{url}/slack/events")
    try:
        yield url, sim, tmp_path / "bot.log", state
    finally:
        stop(process)
        slack.stop()


def test_a_real_process_answers_4xx_and_keeps_its_log_clean(running: tuple[str, SlackUserSimulator, Path, Any]) -> None:
    url, sim, log, state = running
    events = f"{url}/slack/events"
    with httpx.Client(timeout=30) as client:
        for depth, signed in ((100_000, False), (2_000, True), (100, False)):
            body = urlencode({"payload": "[" * depth + "]" * depth})
            response = client.post(events, content=body.encode(), headers=sim.signed_headers(body, FORM, sign=signed))
            assert response.status_code == 400, (depth, signed, response.text)

        payload = {"type": "view_submission", "user": {"id": "U0REQ"}, "team": {"id": state.team_id},
                   "view": {"id": "V1", "type": "modal", "callback_id": "register_project", "private_metadata": "1",
                            "state": {"values": {"key_secret": {"key_secret": {"type": "plain_text_input",
                                                                               "value": KEY_SECRET}}}}}}
        body = urlencode({"payload": json.dumps(payload)})
        stale = sim.signed_headers(body, FORM, timestamp_override=int(time.time()) - 600)
        assert client.post(events, content=body.encode(), headers=stale).status_code == 401

        command = sim.slash_command("U0REQ", text="status x\nFORGED 2026-01-01 ERROR root: pwned", channel_id="C0E2E")
        assert client.post(events, content=command.body.encode(), headers=command.headers).status_code == 200

    text = log.read_text(errors="replace")
    assert "Invalid request signature detected" in text and "body: (redacted" in text
    assert KEY_SECRET not in text and SIGNING_SECRET not in text and state.bot_token not in text
    assert not [line for line in text.splitlines() if line.startswith("FORGED")]
    assert "Traceback" not in text
