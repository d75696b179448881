"""Fixtures: the Socket Mode stand-in (a fake Slack with its WebSocket endpoint) and a minimal Bolt app on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_bolt import App
from slack_sdk import WebClient

from devslack import FakeSlackState, RunningFakeSlack, start_fake_slack
from devslack.socket_mode import SocketModeServer


@pytest.fixture
def slack() -> Iterator[RunningFakeSlack]:
    with start_fake_slack(state=FakeSlackState(), socket_mode=True) as running:
        yield running


@pytest.fixture
def hub(slack: RunningFakeSlack) -> SocketModeServer:
    assert slack.socket_mode is not None
    return slack.socket_mode


@pytest.fixture
def app(slack: RunningFakeSlack) -> App:
    """A Bolt app that acks /onboard, a button and app_home_opened; the connector under test is the point."""
    client = WebClient(token=slack.state.bot_token, base_url=slack.url, timeout=5)
    bolt = App(client=client, token_verification_enabled=False, signing_secret="unused-in-socket-mode")
    bolt.command("/onboard")(lambda ack: ack(text="on it"))
    bolt.action("approve")(lambda ack: ack())
    bolt.event("app_home_opened")(lambda: None)
    return bolt
