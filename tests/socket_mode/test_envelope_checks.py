"""Socket Mode applies the HTTP endpoint's envelope check, and a redelivery runs once however much came between."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from slack_bolt import App

from bot.slack.socket_mode import SEEN_FOR, Backoff, SocketModeConnector
from devslack import RunningFakeSlack
from devslack.socket_mode import SocketModeServer
from tests.socket_mode.test_recovery import ACK_TARGET, command


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def connector(app: App, slack: RunningFakeSlack, clock: Clock) -> Iterator[SocketModeConnector]:
    connector = SocketModeConnector(app, slack.state.app_token, proxy=None, monotonic=clock,
                                    backoff=Backoff(initial=0.2, maximum=1.0))
    connector.start()
    yield connector
    connector.stop(timeout=2)


def click(hub: SocketModeServer, actions: Any) -> dict[str, Any]:
    return {"type": "block_actions", "user": {"id": "U1"}, "team": {"id": "T0FAKE"}, "api_app_id": hub.app_id,
            "trigger_id": "1.2.3", "actions": actions}


@pytest.mark.parametrize("payload", [{"actions": "x"}, {"view": "x"}, {"user": 5}, {"actions": [{"action_id": 1}]}])
def test_a_payload_http_would_refuse_never_reaches_a_listener(
        app: App, hub: SocketModeServer, connector: SocketModeConnector, payload: dict[str, Any],
        caplog: pytest.LogCaptureFixture) -> None:
    hub.wait_for_connection()
    bad = hub.deliver("interactive", click(hub, [{"action_id": "approve", "block_id": "b"}]) | payload)
    good = hub.deliver("slash_commands", command(hub), accepts_response_payload=True)
    hub.wait_for_ack(good, timeout=ACK_TARGET)  # read after the bad one on the same connection
    assert bad.ack is None  # as HTTP answers 400: not acked, not run
    assert [r for r in caplog.records if r.exc_info] == []  # no traceback anywhere
    assert any("skipped an envelope" in r.getMessage() for r in caplog.records)


def test_a_redelivery_runs_once_after_a_thousand_other_envelopes(
        app: App, hub: SocketModeServer, connector: SocketModeConnector) -> None:
    runs: list[str] = []
    app.event("app_mention")(lambda event: runs.append(event["text"]))
    hub.wait_for_connection()

    def mention(text: str) -> dict[str, Any]:
        return {"type": "event_callback", "team_id": "T0FAKE", "api_app_id": hub.app_id, "event_id": f"Ev{text}",
                "event": {"type": "app_mention", "text": text}}

    first = hub.deliver("events_api", mention("first"))
    hub.wait_for_ack(first)
    others = [hub.deliver("events_api", {"type": "event_callback", "team_id": "T0FAKE", "api_app_id": hub.app_id,
                                         "event_id": f"Ev{n}", "event": {"type": "app_home_opened", "user": "U1"}})
              for n in range(1001)]
    hub.wait_for_ack(others[-1])
    hub.redeliver(first)
    last = hub.deliver("events_api", mention("last"))
    hub.wait_for_ack(last)
    deadline = time.monotonic() + ACK_TARGET
    while len(runs) < 2 and time.monotonic() < deadline:  # listeners run after their ack
        time.sleep(0.01)
    assert sorted(runs) == ["first", "last"]
    assert hub.duplicate_acks == []


def test_an_id_is_forgotten_only_after_the_window(app: App, hub: SocketModeServer, connector: SocketModeConnector,
                                                   clock: Clock) -> None:
    hub.wait_for_connection()
    envelope = hub.deliver("slash_commands", command(hub), accepts_response_payload=True)
    hub.wait_for_ack(envelope)
    clock.now += SEEN_FOR - 1
    hub.redeliver(envelope)
    probe = hub.deliver("slash_commands", command(hub), accepts_response_payload=True)
    hub.wait_for_ack(probe)
    assert hub.duplicate_acks == []  # still remembered: not run again
    clock.now += SEEN_FOR + 1
    hub.redeliver(envelope)
    deadline = time.monotonic() + ACK_TARGET
    while not hub.duplicate_acks and time.monotonic() < deadline:  # acked by a listener thread
        time.sleep(0.01)
    assert hub.duplicate_acks == [envelope.envelope_id]  # past Slack's retries it is a new delivery
