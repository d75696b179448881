"""HTTP answers as Slack and load balancers need them, through a real waitress server on loopback.

HEAD gets no body, so the next response on a kept-alive connection is read intact; clients that trickle a
partial request neither exhaust the connections nor keep one forever, so honest requests are answered at once.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest
from slack_bolt import App
from slack_sdk import WebClient

from bot.health import health_wsgi_app
from bot.metrics import Metrics
from bot.runtime import make_wsgi_app
from bot.serving import _HttpServer
from devslack import FakeSlackState, RunningFakeSlack, start_fake_slack

SECRET = "slow-clients-signing-secret"


@pytest.fixture(scope="module")
def slack() -> Iterator[RunningFakeSlack]:
    with start_fake_slack(state=FakeSlackState()) as running:
        yield running


def bolt_app(slack: RunningFakeSlack) -> App:
    bolt = App(client=WebClient(token=slack.state.bot_token, base_url=slack.url, timeout=5), signing_secret=SECRET,
               token_verification_enabled=False)
    bolt.command("/onboard")(lambda ack: ack(text="help"))
    return bolt


@pytest.fixture(params=["slack", "health"])
def server(request: pytest.FixtureRequest, slack: RunningFakeSlack) -> Iterator[_HttpServer]:
    app = (make_wsgi_app(bolt_app(slack), metrics=Metrics()) if request.param == "slack"
           else health_wsgi_app(None, Metrics()))
    running = _HttpServer(app, host="127.0.0.1", port=0, name=f"test-{request.param}")
    running.start()
    yield running
    running.stop(timeout=1)


@pytest.mark.parametrize("path", ["/healthz", "/metrics", "/slack/events", "/elsewhere"])
def test_head_has_no_body_and_the_next_response_on_the_connection_is_intact(server: _HttpServer, path: str) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
    connection.request("HEAD", path)
    head = connection.getresponse()
    assert head.read() == b""
    connection.request("GET", "/healthz")  # the same socket: a stray body would be read as the status line
    answer = connection.getresponse()
    assert (answer.status, answer.read()) == (200, b"ok")
    connection.close()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=2)
    sock.sendall(f"HEAD {path} HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    raw = b""
    while raw.count(b"HTTP/1.1 ") < 2 or not raw.endswith(b"ok"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        raw += chunk
    sock.close()
    first, second = raw.split(b"HTTP/1.1 ")[1:3]
    assert first.endswith(b"\r\n\r\n")  # headers only
    assert second.startswith(b"200 OK") and second.endswith(b"\r\n\r\nok")


def signed_help() -> tuple[bytes, dict[str, str]]:
    body = urlencode({"command": "/onboard", "text": "help", "user_id": "U1", "channel_id": "C1",
                      "team_id": "T1", "trigger_id": "1.2.3", "response_url": "http://127.0.0.1:9/x"}).encode()
    timestamp = str(int(time.time()))
    signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    return body, {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature,
                  "Content-Type": "application/x-www-form-urlencoded"}


def slow_sockets(port: int, count: int) -> list[socket.socket]:
    opened = []
    for n in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=2)
        # Half partial headers, half a body far shorter than its Content-Length.
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " if n % 2 else
                     b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\npayload=")
        opened.append(sock)
    return opened


def test_honest_requests_are_answered_at_once_beside_150_slow_clients(slack: RunningFakeSlack) -> None:
    server = _HttpServer(make_wsgi_app(bolt_app(slack), metrics=Metrics()), host="127.0.0.1", port=0, name="test-slow")
    server.start()
    slow = slow_sockets(server.port, 150)  # beyond waitress's default limit of 100 connections
    try:
        body, headers = signed_help()
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=1.0) as http:
            started = time.monotonic()
            assert http.get("/healthz").status_code == 200
            answer = http.post("/slack/events", content=body, headers=headers)
            elapsed = time.monotonic() - started
        assert answer.status_code == 200 and "help" in answer.text
        assert elapsed < 1.0
    finally:
        for sock in slow:
            sock.close()
        server.stop(timeout=1)


def test_a_request_that_trickles_in_is_closed_at_its_deadline(slack: RunningFakeSlack) -> None:
    server = _HttpServer(make_wsgi_app(bolt_app(slack), metrics=Metrics()), host="127.0.0.1", port=0,
                         name="test-trickle", request_deadline=0.5)
    server.start()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=0.1)
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        started = time.monotonic()
        closed = False
        while not closed and time.monotonic() - started < 4.0:
            try:
                sock.sendall(b"a")  # a byte every 0.1 s: never idle, so channel_timeout alone never fires
                closed = sock.recv(1024) == b""
            except TimeoutError:
                continue
            except OSError:
                closed = True
        assert closed
        assert time.monotonic() - started < 0.5 + 2.0  # the deadline plus a maintenance round or two
    finally:
        sock.close()
        server.stop(timeout=1)
