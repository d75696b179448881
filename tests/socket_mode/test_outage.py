"""After Slack refuses connections for up to a minute, the connector is back within 5 s of the recovery.

The minute passes on the stand-in's fake clock: the connector's wait between attempts moves that clock, so the
outage costs no real time and the measured gap is exactly what the back-off would cost.
"""

from __future__ import annotations

import threading

import pytest
from slack_bolt import App

from bot.slack.socket_mode import SocketModeConnector
from devslack import RunningFakeSlack
from devslack.socket_mode import SocketModeServer
from tests.socket_mode.test_recovery import ACK_TARGET, RECONNECT_TARGET, command


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


@pytest.mark.parametrize("outage", [15.0, 60.0])
def test_back_within_5s_of_the_recovery_after_an_outage(app: App, slack: RunningFakeSlack, hub: SocketModeServer,
                                                        outage: float) -> None:
    clock = FakeClock()
    hub.monotonic = clock
    connector = SocketModeConnector(app, slack.state.app_token, proxy=None, pause=clock.sleep)
    connector.start()
    try:
        first = hub.wait_for_connection()
        hub.refuse_connections(outage)  # from fake time 0 to `outage`
        hub.close(first)
        second = hub.wait_for_connection(newer_than=first.connection_id, timeout=RECONNECT_TARGET)
        back_after = second.opened_at - outage
        envelope = hub.deliver("slash_commands", command(hub), accepts_response_payload=True)
        assert hub.wait_for_ack(envelope, timeout=ACK_TARGET).payload == {"text": "on it"}
    finally:
        connector.stop(timeout=2)
    assert 0 <= back_after < RECONNECT_TARGET, f"back {back_after:.1f}s after a {outage:.0f}s outage"
    assert hub.refused_handshakes <= outage / 2 + 5  # backing off, not hammering
