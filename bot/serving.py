"""`python -m bot run`: serve Slack until SIGTERM or SIGINT, then stop gracefully.

Shutdown order (each step bounded by SHUTDOWN_TIMEOUT overall):
1. stop taking new work: HTTP stops accepting connections; Socket Mode stops taking envelopes (unacked ones
   are redelivered by Slack to another connection or after the restart);
2. let in-flight listeners finish and their answers go out;
3. Runtime.shutdown(): the outbox finishes the post it is delivering, the scheduler stops, clients close;
4. close the Socket Mode connection.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import waitress
from waitress import wasyncore

from bot.health import health_wsgi_app
from bot.runtime import Runtime, make_wsgi_app
from bot.slack.socket_mode import SocketModeConnector

__all__ = ["serve", "stop_signals"]

logger = logging.getLogger(__name__)

HTTP_THREADS = 16


@contextmanager
def stop_signals(stop: threading.Event) -> Iterator[None]:
    """While inside, SIGTERM and SIGINT set `stop` instead of killing the process (main thread only)."""

    def request_stop(signum: int, frame: FrameType | None) -> None:
        logger.info("received %s: shutting down", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _HttpServer:
    """waitress in a thread, with a stop that lets in-flight requests finish before closing sockets."""

    def __init__(self, app: Any, *, host: str, port: int, name: str) -> None:
        self._server: Any = waitress.create_server(app, host=host, port=port, threads=HTTP_THREADS, ident=name)
        self.port = int(self._server.effective_port)
        self._thread = threading.Thread(target=self._server.run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop_accepting(self) -> None:
        self._server.accepting = False  # the listening socket stays open but is no longer polled

    def stop(self, timeout: float) -> None:
        self.stop_accepting()
        # Workers first, while the loop still runs to flush their responses; then close every socket
        # from the loop's own thread.
        self._server.task_dispatcher.shutdown(cancel_pending=False, timeout=timeout)
        server_map = self._server._map
        self._server.trigger.pull_trigger(lambda: wasyncore.close_all(server_map))
        self._thread.join(timeout=5)


def serve(runtime: Runtime, *, host: str = "0.0.0.0", stop: threading.Event | None = None) -> None:
    """Serve Slack (Socket Mode or HTTP) until `stop` is set (by SIGTERM/SIGINT in `run`), then stop gracefully.

    Raises SocketModeAuthError when Slack refuses the app token, at start or later.
    """
    stop = stop or threading.Event()
    settings = runtime.settings
    budget = settings.shutdown_timeout
    if settings.socket_mode:
        connector = SocketModeConnector(runtime.app, settings.slack_app_token.reveal(), web_client=runtime.app.client,
                                        on_connect=runtime.metrics.socket_mode_connected)
        connector.start()
        runtime.connector = connector
        health = None
        if settings.health_port is not None:
            health = _HttpServer(health_wsgi_app(runtime.readiness(), runtime.metrics), host=host,
                                 port=settings.health_port, name="health")
            health.start()
            logger.info("health and metrics on http://%s:%s/healthz, /readyz, /metrics", host, health.port)
        logger.info("connecting to Slack in Socket Mode")
        _wait(stop, connector.stopped)
        started = time.monotonic()
        connector.stop_accepting()
        runtime.shutdown(timeout=budget)
        connector.stop(timeout=max(0.5, budget - (time.monotonic() - started)))
        if health is not None:
            health.stop(timeout=1)
        if connector.fatal is not None:
            raise connector.fatal
        return
    server = _HttpServer(make_wsgi_app(runtime.app, readiness=runtime.readiness(), metrics=runtime.metrics),
                         host=host, port=settings.port, name="onboarding-bot")
    server.start()
    logger.info("listening for Slack on http://%s:%s/slack/events", host, server.port)
    stop.wait()
    started = time.monotonic()
    server.stop(timeout=budget)
    runtime.shutdown(timeout=max(0.5, budget - (time.monotonic() - started)))


def _wait(*events: threading.Event) -> None:
    """Block until any of `events` is set (signals still interrupt the main thread's waits)."""
    while not any(event.is_set() for event in events):
        events[0].wait(0.2)
