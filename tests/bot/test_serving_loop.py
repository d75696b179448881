"""The HTTP server's event loop waits instead of spinning while a worker is still writing an answer.

waitress polls a channel with pending output as writable and, while the request is still being served, flushes
it only if the worker is not holding the channel's buffer lock. When the worker holds it, nothing is sent and
the loop comes straight back: a spin over every channel that cost half the bot's CPU under a burst (issue 22).
The first test leaves output unsent while holding that lock from inside a request, as such a worker does, and
counts the loop's attempts to send it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx
import pytest

from bot.serving import _HttpServer
from devslack import loopback

HOLD_TIMEOUT = 10.0


class HeldAnswer:
    """A WSGI app that writes the start of its answer, then holds its channel's buffer lock until released."""

    def __init__(self) -> None:
        self.holding = threading.Event()
        self.release = threading.Event()
        self.write_attempts_while_held = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # waitress hands the app its channel's check_client_disconnected; its owner is the channel.
        channel = environ["waitress.client_disconnected"].__self__
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "10")])
        return self._body(channel)

    def _body(self, channel: Any) -> Iterator[bytes]:
        yield b"fir"  # the status line, headers and these bytes go out: waitress's worker sends what it writes
        original = channel.handle_write

        def counted() -> None:
            self.write_attempts_while_held += 1
            original()

        with channel.outbuf_lock:
            # What a worker's write leaves between appending to the buffer and sending it (its send gives up
            # the GIL, and it must wait for the GIL again with the lock still held).
            channel.outbufs[-1].append(b"st")
            channel.total_outbufs_len += 2
            channel.handle_write = counted
            self.holding.set()
            self.release.wait(HOLD_TIMEOUT)
            channel.handle_write = original
        yield b"-last"


@pytest.fixture
def held() -> Iterator[tuple[HeldAnswer, _HttpServer]]:
    app = HeldAnswer()
    server = _HttpServer(app, host="127.0.0.1", port=0, name="test-loop")
    server.start()
    yield app, server
    app.release.set()
    server.stop(timeout=1)


def test_the_loop_does_not_poll_a_channel_whose_worker_holds_it(held: tuple[HeldAnswer, _HttpServer]) -> None:
    app, server = held
    answers: list[httpx.Response] = []
    client = threading.Thread(target=lambda: answers.append(loopback.get(f"http://127.0.0.1:{server.port}/",
                                                                      timeout=HOLD_TIMEOUT)))
    client.start()
    assert app.holding.wait(HOLD_TIMEOUT)
    app.release.wait(0.3)  # longer than a burst's worker waits for the GIL; the old loop went round 100,000 times
    app.release.set()
    client.join(HOLD_TIMEOUT)
    assert app.write_attempts_while_held == 0, "the loop tried to flush a channel its worker held"
    assert [(a.status_code, a.content) for a in answers] == [(200, b"first-last")], "the answer arrives whole"


def test_a_long_streamed_answer_is_still_sent_while_it_is_written() -> None:
    """A worker whose unsent output passes waitress's high watermark (16 MiB, for a client that reads slowly)
    waits, without the buffer lock, for the loop to send some: a loop that held back output while a request runs
    would leave it waiting for ever."""
    chunk = b"x" * 65536
    count = (20 * 1024 * 1024) // len(chunk)

    def streamed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(count * len(chunk)))])
        return (chunk for _ in range(count))

    server = _HttpServer(streamed, host="127.0.0.1", port=0, name="test-stream")
    server.start()
    try:
        with socket.socket() as client:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a slow reader: kernel buffers stay small
            client.settimeout(HOLD_TIMEOUT)
            client.connect(("127.0.0.1", server.port))
            client.sendall(b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
            _wait_until(lambda: any(channel.total_outbufs_len > channel.adj.outbuf_high_watermark
                                    for channel in list(server._server.active_channels.values())))
            received = bytearray()
            while data := client.recv(1 << 20):
                received += data
    finally:
        server.stop(timeout=1)
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert len(body) == count * len(chunk)


def _wait_until(condition: Callable[[], bool]) -> None:
    """waitress offers no event for "a worker is waiting for the loop"; look every few milliseconds."""
    deadline = time.monotonic() + HOLD_TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, "the worker never filled its buffer"
        time.sleep(0.005)
