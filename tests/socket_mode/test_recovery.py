"""The Socket Mode connector against the stand-in: every envelope acked once, and back fast after each failure.

Targets (issue 14): each envelope acked within 3 s, the first after a refresh included; a new connection
within 5 s of a clean close, a `disconnect`, a TCP reset or a silent peer; back-off while Slack refuses and a
reconnect once it stops. The deadlines below are those targets; bench/socket_mode.py prints the figures.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any

import pytest
from slack_bolt import App

from bot.slack.socket_mode import Backoff, SocketModeAuthError, SocketModeConnector
from devslack import RunningFakeSlack
from devslack.socket_mode import SocketModeServer

ACK_TARGET = 3.0
RECONNECT_TARGET = 5.0


@pytest.fixture
def connector(app: App, slack: RunningFakeSlack) -> Iterator[SocketModeConnector]:
    connector = SocketModeConnector(app, slack.state.app_token, proxy=None,
                                    backoff=Backoff(initial=0.2, maximum=1.0))
    connector.start()
    yield connector
    connector.stop(timeout=2)


def command(hub: SocketModeServer) -> dict[str, Any]:
    return {"command": "/onboard", "text": "", "user_id": "U1", "channel_id": "C1", "team_id": "T0FAKE",
            "api_app_id": hub.app_id, "trigger_id": "1.2.3", "response_url": "http://127.0.0.1:9/x"}


def ack_seconds(hub: SocketModeServer) -> float:
    envelope = hub.deliver("slash_commands", command(hub), accepts_response_payload=True, wait=RECONNECT_TARGET)
    return hub.wait_for_ack(envelope, timeout=RECONNECT_TARGET).latency


def newest(hub: SocketModeServer) -> int:
    return max((c.connection_id for c in hub.connections), default=0)


def test_each_envelope_type_is_acked_once_with_the_listener_answer(hub: SocketModeServer,
                                                                   connector: SocketModeConnector) -> None:
    hub.wait_for_connection()
    slash = hub.deliver("slash_commands", command(hub), accepts_response_payload=True)
    click = hub.deliver("interactive", {"type": "block_actions", "user": {"id": "U1"}, "team": {"id": "T0FAKE"},
                                        "api_app_id": hub.app_id, "trigger_id": "1.2.3",
                                        "actions": [{"action_id": "approve", "block_id": "b", "type": "button"}]})
    event = hub.deliver("events_api", {"type": "event_callback", "team_id": "T0FAKE", "api_app_id": hub.app_id,
                                       "event_id": "Ev1", "event": {"type": "app_home_opened", "user": "U1"}})
    acks = [hub.wait_for_ack(envelope) for envelope in (slash, click, event)]
    assert acks[0].payload == {"text": "on it"}
    assert all(ack.latency < ACK_TARGET for ack in acks)
    assert hub.duplicate_acks == [] and hub.unknown_acks == []
    assert connector.connected


def test_an_envelope_delivered_twice_runs_and_is_acked_once(app: App, hub: SocketModeServer,
                                                            connector: SocketModeConnector) -> None:
    runs: list[str] = []
    app.event("app_mention")(lambda event: runs.append(event["text"]))
    hub.wait_for_connection()
    envelope = hub.deliver("events_api", {"type": "event_callback", "team_id": "T0FAKE", "api_app_id": hub.app_id,
                                          "event_id": "Ev2", "event": {"type": "app_mention", "text": "hi"}})
    hub.wait_for_ack(envelope)
    hub.redeliver(envelope)
    second = hub.deliver("slash_commands", command(hub), accepts_response_payload=True)
    hub.wait_for_ack(second)  # read after the redelivery on the same connection, so that one was seen first
    deadline = time.monotonic() + ACK_TARGET
    while not runs and time.monotonic() < deadline:  # the event listener runs after its ack
        time.sleep(0.01)
    assert runs == ["hi"]
    assert hub.duplicate_acks == []


def test_back_at_once_after_slack_closes_the_connection(hub: SocketModeServer, connector: SocketModeConnector) -> None:
    first = hub.wait_for_connection()
    hub.close(first)
    hub.wait_for_connection(newer_than=first.connection_id, timeout=RECONNECT_TARGET)
    assert ack_seconds(hub) < ACK_TARGET
    assert connector.connections_opened == 2


@pytest.mark.parametrize("reason", ["refresh_requested", "warning"])
def test_the_first_envelope_after_a_disconnect_is_acked_within_3s(hub: SocketModeServer,
                                                                  connector: SocketModeConnector, reason: str) -> None:
    first = hub.wait_for_connection()
    hub.send_disconnect(first, reason)
    assert ack_seconds(hub) < ACK_TARGET  # the stand-in delivers it only on the new connection
    assert hub.open_connections(deliverable=True)[0].connection_id > first.connection_id
    assert hub.duplicate_acks == []


def test_an_envelope_delivered_just_before_a_disconnect_is_acked_on_the_old_connection(
        hub: SocketModeServer, connector: SocketModeConnector) -> None:
    first = hub.wait_for_connection()
    envelope = hub.deliver("slash_commands", command(hub), accepts_response_payload=True)
    hub.send_disconnect(first)
    ack = hub.wait_for_ack(envelope, timeout=ACK_TARGET)
    assert ack.connection_id == first.connection_id
    assert hub.duplicate_acks == []


def test_back_after_an_abrupt_tcp_reset(hub: SocketModeServer, connector: SocketModeConnector) -> None:
    first = hub.wait_for_connection()
    hub.drop(first)
    hub.wait_for_connection(newer_than=first.connection_id, timeout=RECONNECT_TARGET)
    assert ack_seconds(hub) < ACK_TARGET


def test_a_silent_peer_is_noticed_by_ping_and_replaced(hub: SocketModeServer, connector: SocketModeConnector) -> None:
    first = hub.wait_for_connection()
    hub.silence(first)  # no FIN, no RST, no pong: only the ping deadline can tell
    started = time.monotonic()
    hub.wait_for_connection(newer_than=first.connection_id, timeout=RECONNECT_TARGET)
    assert time.monotonic() - started >= connector.ping_timeout  # it was the ping deadline, not luck
    assert ack_seconds(hub) < ACK_TARGET


def test_retries_with_back_off_while_refused_and_reconnects_when_slack_is_back(
        hub: SocketModeServer, connector: SocketModeConnector) -> None:
    first = hub.wait_for_connection()
    hub.refuse_connections(2.0)
    hub.close(first)
    hub.wait_for_connection(newer_than=first.connection_id, timeout=2.0 + RECONNECT_TARGET)
    # Back-off 0.1-0.2, 0.2-0.4, 0.4-0.8, 0.5-1.0 s: a handful of tries in 2 s, not a busy loop.
    assert 2 <= hub.refused_handshakes <= 10
    assert ack_seconds(hub) < ACK_TARGET


def test_back_off_doubles_with_jitter_up_to_its_cap() -> None:
    backoff = Backoff(initial=0.5, maximum=4.0, rng=random.Random(7))
    delays = [backoff.next_delay() for _ in range(6)]
    ceilings = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert all(ceiling / 2 <= delay <= ceiling for delay, ceiling in zip(delays, ceilings, strict=True))
    backoff.reset()
    assert backoff.next_delay() <= 0.5


def test_several_connections_share_the_envelopes_each_acked_once(
        app: App, slack: RunningFakeSlack, hub: SocketModeServer) -> None:
    connectors = [SocketModeConnector(app, slack.state.app_token, proxy=None) for _ in range(3)]
    for connector in connectors:
        connector.start()
    try:
        for count in (1, 2, 3):
            hub.wait_for_connection(newer_than=count - 1)
        envelopes = [hub.deliver("slash_commands", command(hub), accepts_response_payload=True) for _ in range(30)]
        acks = [hub.wait_for_ack(envelope) for envelope in envelopes]
    finally:
        for connector in connectors:
            connector.stop(timeout=2)
    assert len({ack.envelope_id for ack in acks}) == 30
    assert len({envelope.connection_id for envelope in envelopes}) > 1  # spread, not broadcast
    assert all(ack.connection_id == envelope.connection_id for ack, envelope in zip(acks, envelopes, strict=True))
    assert hub.duplicate_acks == []


def test_a_wrong_app_token_is_refused_at_start(app: App, slack: RunningFakeSlack) -> None:
    connector = SocketModeConnector(app, "xapp-1-not-the-token", proxy=None)
    with pytest.raises(SocketModeAuthError, match="invalid_auth"):
        connector.start()


def test_a_token_revoked_while_running_ends_the_connector(
        app: App, slack: RunningFakeSlack, hub: SocketModeServer, connector: SocketModeConnector) -> None:
    first = hub.wait_for_connection()
    slack.state.app_token = "xapp-1-rotated"
    hub.close(first)
    assert connector.stopped.wait(RECONNECT_TARGET)
    assert isinstance(connector.fatal, SocketModeAuthError)
