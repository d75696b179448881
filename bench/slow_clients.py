"""Honest acks beside slow clients: `python -m bench.slow_clients [--old]` (about 30 s).

200 sockets trickle a byte every 2 s into partial requests (half into headers, half into a body under
`Content-Length: 100000`), reopened as soon as the server closes one, for 25 s; meanwhile a signed
`/onboard help` and `GET /healthz` are sent every 0.5 s on fresh connections. The server is the bot's own
(`bot.serving._HttpServer`, waitress) on loopback; `--old` uses waitress's defaults as the bot did before
(100 connections, no request deadline). Prints the honest requests' latencies.
"""

from __future__ import annotations

import socket
import sys
import threading
import time

import httpx

from bot.metrics import Metrics
from bot.runtime import make_wsgi_app
from bot.serving import HTTP_CONNECTION_LIMIT, REQUEST_DEADLINE, _HttpServer
from devslack import FakeSlackState, start_fake_slack
from tests.security.test_slow_clients import bolt_app, signed_help

SLOW = 200
TRICKLE = 2.0
DURATION = 25.0


def _attacker(port: int, n: int, stop: threading.Event) -> None:
    opening = (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " if n % 2 else
               b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\npayload=")
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=TRICKLE) as sock:
                sock.sendall(opening)
                while not stop.wait(TRICKLE):
                    sock.sendall(b"a")
        except OSError:
            stop.wait(0.1)  # closed by the server: open the next one


def main(old: bool) -> None:
    with start_fake_slack(state=FakeSlackState()) as slack:
        server = _HttpServer(make_wsgi_app(bolt_app(slack), metrics=Metrics()), host="127.0.0.1", port=0,
                             name="bench-slow", connection_limit=100 if old else HTTP_CONNECTION_LIMIT,
                             request_deadline=1e9 if old else REQUEST_DEADLINE)
        server.start()
        stop = threading.Event()
        for n in range(SLOW):
            threading.Thread(target=_attacker, args=(server.port, n, stop), daemon=True).start()
        time.sleep(1.0)  # let them all connect
        latencies: dict[str, list[float]] = {"/onboard help": [], "GET /healthz": []}
        failures = 0
        ends = time.monotonic() + DURATION
        while time.monotonic() < ends:
            body, headers = signed_help()
            for name in latencies:
                started = time.monotonic()
                try:
                    with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=15.0) as http:
                        answer = (http.post("/slack/events", content=body, headers=headers) if name == "/onboard help"
                                  else http.get("/healthz"))
                    answer.raise_for_status()
                    latencies[name].append(time.monotonic() - started)
                except httpx.HTTPError:
                    failures += 1
            time.sleep(0.5)
        stop.set()
        server.stop(timeout=1)
    for name, values in latencies.items():
        values.sort()
        if values:
            print(f"{name}: {len(values)} answered, median {values[len(values) // 2] * 1000:.0f} ms, "
                  f"max {values[-1] * 1000:.0f} ms")
    print(f"failed or timed out (15 s): {failures}")


if __name__ == "__main__":
    main("--old" in sys.argv[1:])
