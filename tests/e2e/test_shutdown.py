"""SIGTERM and SIGINT to a real `python -m bot run`: the Slack post in flight is delivered once, the process exits 0.

The fake Slack holds chat.postMessage for 3 s (a latency fault), so the signal arrives while a post is on
the wire; the outbox row shows `sending` at that moment.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, col, select

from devslack import FakeSlackState, RunningFakeSlack, SignedRequest, SlackUserSimulator, loopback, start_fake_slack
from store.db import make_engine
from store.models import OutboxMessage, OutboxStatus
from store.secrets import generate_key
from tests.e2e.processes import ROOT, bound_url, wait_until

pytestmark = pytest.mark.e2e

SIGNING_SECRET = "shutdown-signing-secret"
CHANNEL = "C0STOP"
REQUESTER, LEAD = "U0REQ", "U0LEAD"
FORM = {"customer_name": "Acme Bikes", "contact_email": "owner@acme.test", "region": "eu",
        "page": "Acme Bikes", "page_type": "business",
        "prerequisites": ["business_verified", "page_admin", "chat_button"], "notes": ""}
SLOW_POST_MS = 3000


@pytest.fixture
def slack() -> Iterator[RunningFakeSlack]:
    state = FakeSlackState()
    for user, name in [(REQUESTER, "rita"), (LEAD, "lena")]:
        state.add_user(user, name)
    with start_fake_slack(state=state, socket_mode=True) as running:
        yield running


def start_run(tmp_path: Path, slack: RunningFakeSlack, *, socket_mode: bool,
              database_url: str) -> tuple[subprocess.Popen[bytes], str]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT),
           "SLACK_BOT_TOKEN": slack.state.bot_token, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "SLACK_API_URL": slack.url, "ONBOARDING_CHANNEL": CHANNEL, "APPROVERS": LEAD,
           "BOT_SECRET_KEY": generate_key(), "DATABASE_URL": database_url,
           "SINCH_AUTH_URL": "http://127.0.0.1:9", "SINCH_CONVERSATION_URL": "http://127.0.0.1:9/{region}",
           "PORT": "0"}
    if socket_mode:
        env |= {"SLACK_APP_TOKEN": slack.state.app_token, "HEALTH_PORT": "0"}
    log = tmp_path / "bot.log"
    with log.open("wb") as output:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen([sys.executable, "-m", "bot", "run", "--host", "127.0.0.1"], cwd=ROOT, env=env,
                                   stdout=output, stderr=subprocess.STDOUT)
    listening = r"health and metrics on (http://[^/\s]+)/healthz" if socket_mode else \
        r"listening for Slack on (http://[^/\s]+)/slack/events"
    url = bound_url(process, log, listening)

    def ready() -> bool:
        assert process.poll() is None, (tmp_path / "bot.log").read_text()
        try:
            return loopback.get(f"{url}/readyz", timeout=1.0).status_code == 200
        except httpx.TransportError:
            return False

    wait_until(ready, what="the bot's /readyz")
    return process, url


def stop_run(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def rows(database_url: str) -> list[OutboxMessage]:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())
    finally:
        engine.dispose()


@pytest.mark.parametrize(("socket_mode", "signum"), [(False, signal.SIGTERM), (True, signal.SIGTERM),
                                                      (True, signal.SIGINT)], ids=["http-sigterm",
                                                                                   "socket-sigterm",
                                                                                   "socket-sigint"])
def test_a_signal_during_a_slow_post_delivers_it_once_and_exits_0(tmp_path: Path, slack: RunningFakeSlack,
                                                                  socket_mode: bool, signum: signal.Signals,
                                                                  migrated_database_url: str) -> None:
    process, url = start_run(tmp_path, slack, socket_mode=socket_mode, database_url=migrated_database_url)
    sim = SlackUserSimulator.for_server(slack, signing_secret=SIGNING_SECRET, events_url=f"{url}/slack/events")
    try:
        def send(request: SignedRequest) -> None:
            if socket_mode:
                assert slack.socket_mode is not None
                sim.deliver(slack.socket_mode, request)
            else:
                assert sim.send(request).status_code == 200

        send(sim.slash_command(REQUESTER, channel_id=CHANNEL))
        wait_until(lambda: slack.state.last_view_for(REQUESTER, open_only=True) is not None, what="the modal")
        view = slack.state.last_view_for(REQUESTER, open_only=True)
        assert view is not None
        slack.state.add_fault("chat.postMessage", status=200, error="", retry_after=None, latency_ms=SLOW_POST_MS,
                              count=1)
        send(sim.submit_view(REQUESTER, view_id=view.view_id, values=FORM))
        wait_until(lambda: any(row.status == OutboxStatus.SENDING for row in rows(migrated_database_url)),
                   what="a post on the wire")
        in_flight = next(row.id for row in rows(migrated_database_url) if row.status == OutboxStatus.SENDING)
        process.send_signal(signum)
        assert process.wait(timeout=20) == 0, (tmp_path / "bot.log").read_text()
    finally:
        stop_run(process)
    after = {row.id: row for row in rows(migrated_database_url)}
    assert after[in_flight].status == OutboxStatus.DELIVERED
    assert all(row.status in (OutboxStatus.DELIVERED, OutboxStatus.PENDING) for row in after.values())
    posts = [call for call in slack.state.calls_to("chat.postMessage") if call.ok]
    delivered_posts = [row for row in after.values() if row.status == OutboxStatus.DELIVERED and row.slack_ts]
    assert len(posts) == len({row.slack_ts for row in delivered_posts}) >= 1  # each delivered post sent once
    if socket_mode:
        hub = slack.socket_mode
        assert hub is not None
        wait_until(lambda: not hub.open_connections(), what="the Socket Mode connection to close")
    log = (tmp_path / "bot.log").read_text()
    assert f"received {signal.Signals(signum).name}" in log and "Traceback" not in log
