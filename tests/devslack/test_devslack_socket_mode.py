"""The Socket Mode stand-in seen from outside: apps.connections.open, single-use URLs, the control route."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from devslack import FakeSlackState, RunningFakeSlack, loopback, start_fake_slack


@pytest.fixture
def slack() -> Iterator[RunningFakeSlack]:
    with start_fake_slack(state=FakeSlackState(), socket_mode=True) as running:
        yield running


def open_url(slack: RunningFakeSlack, token: str) -> dict[str, Any]:
    answer: dict[str, Any] = loopback.post(f"{slack.url}apps.connections.open", 
                                        headers={"Authorization": f"Bearer {token}"}).json()
    return answer


def test_only_the_app_token_opens_a_connection_and_each_url_works_once(slack: RunningFakeSlack) -> None:
    assert open_url(slack, slack.state.bot_token)["error"] == "not_allowed_token_type"
    assert open_url(slack, "xapp-1-wrong")["error"] == "invalid_auth"
    url = open_url(slack, slack.state.app_token)["url"]
    assert url.startswith("ws://127.0.0.1:")
    with connect(url, proxy=None) as websocket:
        hello = json.loads(websocket.recv(timeout=5))
        assert hello["type"] == "hello" and hello["num_connections"] == 1
    with pytest.raises(InvalidStatus), connect(url, proxy=None):
        pass  # a used ticket is refused


def test_the_control_route_refuses_and_drops_connections_for_other_processes(slack: RunningFakeSlack) -> None:
    hub = slack.socket_mode
    assert hub is not None
    with connect(open_url(slack, slack.state.app_token)["url"], proxy=None) as websocket:
        websocket.recv(timeout=5)
        answer = loopback.post(f"{slack.base_url}/_fake/socket_mode", json={"action": "disconnect"}).json()
        assert answer["ok"] and answer["connections_open"] == 1
        assert json.loads(websocket.recv(timeout=5)) == {"type": "disconnect", "reason": "refresh_requested",
                                                          "debug_info": {"host": "fake-socket-mode"}}
        loopback.post(f"{slack.base_url}/_fake/socket_mode", json={"action": "refuse", "seconds": 60})
        with pytest.raises(InvalidStatus, match="503"), connect(open_url(slack, slack.state.app_token)["url"],
                                                                  proxy=None):
            pass
    assert hub.refused_handshakes == 1
    answer = loopback.post(f"{slack.base_url}/_fake/socket_mode", json={"action": "teleport"})
    assert answer.status_code == 400
