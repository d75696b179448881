"""The Slack client's kept-alive connections: reused, replaced when stale, and never a blind resend.

The server is a scripted HTTP/1.1 server on loopback that records which connection carried each request, so
the tests see connections and requests as Slack would.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.client import RemoteDisconnected
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError

from bot.slack.client import HonouringRateLimitHandler
from bot.slack.keepalive import IDLE_REUSE_S, KeepAliveWebClient
from tests.bot.harness import CHANNEL, REQUESTER, BotHarness


@dataclass
class Script:
    """What the server does with each request, in order ("ok" once the list runs out), and what it saw."""

    actions: list[str] = field(default_factory=list)
    seen: list[tuple[int, str]] = field(default_factory=list)  # (client port, API method)
    closed: threading.Event = field(default_factory=threading.Event)  # a client closed a connection
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_action(self, port: int, method: str) -> str:
        with self.lock:
            self.seen.append((port, method))
            return self.actions.pop(0) if self.actions else "ok"

    def connections(self) -> set[int]:
        return {port for port, _method in self.seen}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        action = self.server.script.next_action(self.client_address[1], self.path.rsplit("/", 1)[-1])
        if action == "drop":  # took the request in, then the connection broke before any answer
            self.close_connection = True
            return
        status, body, headers = (429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "7"}) \
            if action == "429" else (200, {"ok": True}, {})
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        if action == "ok-then-close":  # closes without saying so, as an idle timeout would
            self.close_connection = True

    def handle(self) -> None:
        super().handle()
        self.server.script.closed.set()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, script: Script) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = script


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()
    httpd = _Server(script)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/api/", script
    finally:
        httpd.shutdown()
        httpd.server_close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def client(url: str, **kwargs: Any) -> KeepAliveWebClient:
    return KeepAliveWebClient(token="xoxb-test", base_url=url, timeout=5, **kwargs)


def test_calls_from_one_thread_share_one_connection(server: tuple[str, Script]) -> None:
    url, script = server
    slack = client(url)
    try:
        answers = [slack.api_call("auth.test")["ok"] for _ in range(3)]
    finally:
        slack.close()
    assert answers == [True, True, True]
    assert [method for _port, method in script.seen] == ["auth.test"] * 3
    assert len(script.connections()) == 1


def test_each_thread_has_its_own_connection(server: tuple[str, Script]) -> None:
    url, script = server
    slack = client(url)
    both_called = threading.Barrier(2, timeout=5)

    def call() -> None:
        slack.api_call("auth.test")
        both_called.wait()  # both threads alive at once, so each is its own thread (idents are reused)

    calls = [threading.Thread(target=call) for _ in range(2)]
    try:
        slack.api_call("auth.test")
        for thread in calls:
            thread.start()
        for thread in calls:
            thread.join()
    finally:
        slack.close()
    assert len(script.seen) == 3
    assert len(script.connections()) == 3


def test_a_connection_the_server_closed_is_replaced_and_nothing_is_sent_twice(server: tuple[str, Script]) -> None:
    url, script = server
    script.actions = ["ok-then-close"]
    slack = client(url)
    try:
        assert slack.api_call("chat.postMessage", json={"channel": "C1", "text": "one"})["ok"]
        assert script.closed.wait(5)
        assert slack.api_call("chat.postMessage", json={"channel": "C1", "text": "two"})["ok"]
    finally:
        slack.close()
    assert [method for _port, method in script.seen] == ["chat.postMessage", "chat.postMessage"]
    assert len(script.connections()) == 2


def test_a_connection_idle_too_long_is_not_reused(server: tuple[str, Script]) -> None:
    url, script = server
    clock = Clock()
    slack = client(url, clock=clock)
    try:
        slack.api_call("auth.test")
        clock.now += IDLE_REUSE_S - 1
        slack.api_call("auth.test")
        clock.now += IDLE_REUSE_S
        slack.api_call("auth.test")
    finally:
        slack.close()
    ports = [port for port, _method in script.seen]
    assert ports[0] == ports[1] != ports[2]


def test_a_request_lost_after_it_was_sent_is_reported_not_resent(server: tuple[str, Script]) -> None:
    """The background client's rule (bot/slack/client.py: no retry on a dropped connection): Slack may have
    acted on it, and the outbox checks before sending again. The error is the one urlopen raises."""
    url, script = server
    script.actions = ["drop"]
    slack = client(url, retry_handlers=[HonouringRateLimitHandler(sleep=lambda _seconds: None)])
    try:
        with pytest.raises(RemoteDisconnected):
            slack.api_call("chat.postMessage", json={"channel": "C1", "text": "once"})
        assert slack.api_call("auth.test")["ok"]  # and the client carries on, on a new connection
    finally:
        slack.close()
    assert [method for _port, method in script.seen] == ["chat.postMessage", "auth.test"]


def test_a_429_reaches_slack_sdk_as_urllib_reports_it(server: tuple[str, Script]) -> None:
    url, script = server
    script.actions = ["429"]
    slack = client(url)
    try:
        with pytest.raises(SlackApiError) as raised:
            slack.api_call("views.open", json={"trigger_id": "1.2.3", "view": {}})
    finally:
        slack.close()
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"
    assert raised.value.response["error"] == "ratelimited"


def test_the_rate_limit_handler_waits_and_retries_on_the_kept_connection(server: tuple[str, Script]) -> None:
    url, script = server
    script.actions = ["429"]
    waits: list[float] = []
    slack = client(url, retry_handlers=[HonouringRateLimitHandler(sleep=waits.append)])
    try:
        assert slack.api_call("users.info", params={"user": "U1"})["ok"]
    finally:
        slack.close()
    assert waits == [7.0]
    assert [method for _port, method in script.seen] == ["users.info", "users.info"]
    assert len(script.connections()) == 1


def test_close_closes_the_connections_and_later_calls_still_work(server: tuple[str, Script]) -> None:
    url, script = server
    slack = client(url)
    slack.api_call("auth.test")
    slack.close()
    assert script.closed.wait(5)  # the server saw the connection end
    assert slack.api_call("auth.test")["ok"]
    assert len(script.seen) == 2


def test_a_server_that_refuses_connections_gives_urllibs_error() -> None:
    """Sending fails before anything left: URLError, which the listener client's retry handler knows."""
    from urllib.error import URLError

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    slack = client(f"http://127.0.0.1:{port}/api/", retry_handlers=[])
    with pytest.raises(URLError):
        slack.api_call("auth.test")
    slack.close()


def test_forms_a_listener_opens_share_the_bots_kept_alive_connection(
    server: tuple[str, Script], tmp_path: Path, migrated_database_url: str
) -> None:
    """Bolt gives each request a plain WebClient of its own (a connection per call); the bot's listeners use
    its kept-alive client instead (bot/listeners/app.py, _SharedClient)."""
    url, script = server
    bot = BotHarness(tmp_path, database_url=migrated_database_url, SLACK_API_URL=url)
    try:
        for _ in range(3):
            assert bot.send(bot.sim.slash_command(REQUESTER, text="", channel_id=CHANNEL)).status == 200
    finally:
        bot.close()
    opened = [port for port, method in script.seen if method == "views.open"]
    assert len(opened) == 3
    assert len(set(opened)) == 1
