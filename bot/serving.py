"""`python -m bot run`: serve Slack until SIGTERM or SIGINT, then stop gracefully.

Shutdown order (each step bounded by SHUTDOWN_TIMEOUT overall):
1. stop taking new work: HTTP stops accepting connections; Socket Mode stops taking envelopes (unacked ones
   are redelivered by Slack to another connection or after the restart);
2. let in-flight listeners finish and their answers go out;
3. Runtime.shutdown(): the outbox finishes the post it is delivering, the scheduler stops, clients close;
4. close the Socket Mode connection.
"""

from __future__ import annotations

import gc
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import waitress
from waitress import wasyncore
from waitress.channel import HTTPChannel

from bot.health import health_wsgi_app
from bot.runtime import Runtime, WSGIApp, make_wsgi_app
from bot.slack.socket_mode import SocketModeConnector

__all__ = ["create_http_server", "freeze_startup_heap", "serve", "stop_signals"]

logger = logging.getLogger(__name__)

# Worker threads. Each runs one request's listener up to its answer (Bolt's process_before_response), so this bounds
# the listeners running at once; none waits on Slack (forms open after the answer, listeners/common.py open_form),
# so a thread waits on the database, and only the register-project submission also on Sinch (its fresh-project
# check, up to flows/project_check.py CHECK_BUDGET, 2.3 s): registrations are a few a day, but four submitted in the
# same seconds while Sinch is slow would hold every worker that long. More threads slow answers under a burst: the
# process is bound by its GIL, which every runnable thread shares, and each request then takes longer in CPU as well
# as in queueing (issue 22, bench ack). Eighth pass: 16 -> 8 (slowest ack at 200 clients on PostgreSQL 2.8-3.1 s ->
# 0.84-1.76 s). Ninth pass, once start-up's heap was frozen and the body decoded once: 8 -> 4, six back-to-back
# bursts each, interleaved: burst p99 on PostgreSQL 101-117 ms -> 77-92 ms, on SQLite 60-75 ms -> 54-68 ms. Waiting
# threads cost no CPU; a database that stalls holds them all, 4 or 8.
HTTP_THREADS = 4
# Slow clients (issue 23, A3): waitress reads requests on its event loop and hands a worker only a complete
# one, so a slow client costs a socket, not a thread; what it can exhaust is the connection limit (100 by
# default), and `channel_timeout` counts only idle time, so a byte every few seconds keeps a partial request
# open forever. Hence a higher limit and a deadline for each request, from its first byte (or from the
# accept, for the first one) to its last, checked every second.
HTTP_CONNECTION_LIMIT = 1000
REQUEST_DEADLINE = 10.0  # seconds; Slack, or the proxy in front, sends a whole request in milliseconds


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


def without_head_body(app: WSGIApp) -> WSGIApp:
    """The same answers, but none with a body to HEAD (RFC 9110 9.3.2): waitress sends what the app returns,
    and a body after a HEAD response corrupts the next response on a kept-alive connection."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = app(environ, start_response)
        if environ.get("REQUEST_METHOD") != "HEAD":
            return body
        close = getattr(body, "close", None)
        if close is not None:
            close()
        return []

    return application


class _DeadlineChannel(HTTPChannel):  # type: ignore[misc]
    """A waitress channel that knows since when its current request has been arriving, and that the event loop
    does not poll while its worker holds its buffer (`writable`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request_started: float | None = time.monotonic()  # the first request is due from the accept

    def received(self, data: bytes) -> bool:
        if self.request is None and data and self.request_started is None:
            self.request_started = time.monotonic()
        result = bool(super().received(data))
        if self.request is None:  # nothing partial left: the clock stops until the next request's first byte
            self.request_started = None
        return result

    def writable(self) -> bool:
        """Whether the event loop should wait for this socket to take output: as waitress decides, except while
        a worker holds the channel's buffer lock, when the loop could not send anyway.

        waitress (send_bytes=1) calls any channel with unsent output writable; while a worker serves the request,
        the loop sends only if it can take that lock without waiting. A worker holds it from appending its
        output until it has sent it itself, and in between it gives up the GIL in send() and must wait for the
        GIL again. Meanwhile the socket polled writable at once and the loop went round every channel and came
        back, taking the GIL from the worker it waited for: at 200 clients half the process's CPU, and 105
        answers a second instead of 450 (issue 22). A worker that leaves output unsent pulls the loop's trigger,
        and so does every finished request: at worst, what a worker left unsent goes out when its request ends.
        """
        if self.will_close or self.close_when_flushed:
            return True
        if not self.total_outbufs_len:
            return False
        if not self.requests:
            return True  # nothing is being served: the loop sends without the lock
        if self.total_outbufs_len < self.adj.send_bytes:
            return False  # handle_write would not send this little while a request runs
        if not self.outbuf_lock.acquire(blocking=False):
            return False
        self.outbuf_lock.release()
        return True


def _with_request_deadline(server: Any, deadline: float) -> None:
    """Close channels whose request has been arriving for longer than `deadline`, on the server's own loop."""
    server.channel_class = _DeadlineChannel
    idle_maintenance = server.maintenance

    def maintenance(now: float) -> None:
        idle_maintenance(now)
        cutoff = time.monotonic() - deadline
        for channel in list(server.active_channels.values()):
            started = getattr(channel, "request_started", None)
            if started is not None and started < cutoff and not channel.requests:
                logger.info("closed a connection from %s: its request took longer than %.0fs", channel.addr[0],
                            deadline)
                channel.will_close = True
                channel.request_started = None

    server.maintenance = maintenance


def create_http_server(app: WSGIApp, *, host: str, port: int, name: str, connection_limit: int = HTTP_CONNECTION_LIMIT,
                       request_deadline: float = REQUEST_DEADLINE, threads: int = HTTP_THREADS) -> Any:
    """The waitress server the bot answers HTTP with (its `run()` serves until closed): HEAD without a body,
    `threads` workers, a connection limit, a deadline for each request, and an event loop that does not spin
    while workers write (_DeadlineChannel). The ack benchmark serves its bare-Bolt baseline with it too."""
    server = waitress.create_server(without_head_body(app), host=host, port=port, threads=threads, ident=name,
                                    connection_limit=connection_limit, cleanup_interval=1)
    _with_request_deadline(server, request_deadline)
    return server


class _HttpServer:
    """waitress in a thread, with a stop that lets in-flight requests finish before closing sockets."""

    def __init__(self, app: Any, *, host: str, port: int, name: str, connection_limit: int = HTTP_CONNECTION_LIMIT,
                 request_deadline: float = REQUEST_DEADLINE) -> None:
        self._server: Any = create_http_server(app, host=host, port=port, name=name,
                                               connection_limit=connection_limit, request_deadline=request_deadline)
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


def freeze_startup_heap() -> int:
    """Put what start-up built (modules, Bolt, SQLAlchemy, the pools: 121,000-134,000 objects) out of the cyclic
    garbage collector's reach for good, and say how many objects that is.

    They live until the process exits, yet every full collection walked them all while holding the GIL, 31-46 ms
    each in a started bot (issue 22), stalling every request in flight; under load a full collection comes every
    few thousand requests. After this one walks only what was made since. The same call pre-fork servers make
    before forking (gc.freeze, Python docs).
    """
    gc.collect()  # start-up's own garbage first, or it would be kept for good
    gc.freeze()
    return gc.get_freeze_count()


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
