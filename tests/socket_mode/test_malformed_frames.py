"""A malformed frame from Slack's side is logged and skipped: the reader lives on and envelopes keep being acked."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from slack_bolt import App

from bot.slack.socket_mode import Backoff, SocketModeConnector
from devslack import RunningFakeSlack
from devslack.socket_mode import SocketModeServer
from tests.socket_mode.test_recovery import ACK_TARGET, command


@pytest.fixture
def connector(app: App, slack: RunningFakeSlack) -> Iterator[SocketModeConnector]:
    connector = SocketModeConnector(app, slack.state.app_token, proxy=None,
                                    backoff=Backoff(initial=0.2, maximum=1.0))
    connector.start()
    yield connector
    connector.stop(timeout=2)


BAD_FRAMES = ["1", "[]", "null", '"text"', "not json", json.dumps({"type": "slash_commands", "envelope_id": "e1",
                                                                    "payload": []}),
              json.dumps({"type": "interactive", "envelope_id": "e2", "payload": 7}),
              json.dumps({"type": 5, "envelope_id": {"x": 1}, "payload": {}})]


@pytest.mark.parametrize("frame", BAD_FRAMES)
def test_a_malformed_frame_is_skipped_and_the_next_envelope_acked(
        hub: SocketModeServer, connector: SocketModeConnector, frame: str, caplog: pytest.LogCaptureFixture) -> None:
    conn = hub.wait_for_connection()
    hub.send_raw(conn, frame)
    envelope = hub.deliver("slash_commands", command(hub), accepts_response_payload=True)
    assert hub.wait_for_ack(envelope, timeout=ACK_TARGET).payload == {"text": "on it"}
    assert connector.connected
    skipped = [r for r in caplog.records if r.name == "bot.slack.socket_mode" and "skipped" in r.getMessage()]
    assert len(skipped) == 1 and "\n" not in skipped[0].getMessage() and skipped[0].exc_info is None
