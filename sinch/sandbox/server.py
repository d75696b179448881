"""Serving the sandbox on a real port with waitress: blocking (`serve`) or in a thread."""

from __future__ import annotations

import logging
import socket
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from waitress.channel import ClientDisconnected
from waitress.server import create_server

from sinch.models import SinchEndpoints
from sinch.sandbox.app import ConnectionDropped, SandboxApp, make_app
from sinch.sandbox.wsgi import StartResponse, WSGIEnviron

__all__ = ["RunningSandbox", "endpoints_for", "serve", "start_in_thread"]

logger = logging.getLogger(__name__)


def endpoints_for(url: str) -> SinchEndpoints:
    """The SinchEndpoints that point a client at a sandbox at `url` (e.g. http://127.0.0.1:8765)."""
    base = url.rstrip("/")
    return SinchEndpoints(
        auth_url=base,
        conversation_url=f"{base}/conversation/{{region}}",
        provisioning_url=f"{base}/provisioning",
        subprojects_url=f"{base}/subprojects",
    )


class _Waitress:
    """Adapts the app to waitress: a dropped connection closes the socket without a response."""

    def __init__(self, app: SandboxApp) -> None:
        self.app = app

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        try:
            return self.app(environ, start_response)
        except ConnectionDropped:
            # waitress answers ClientDisconnected by closing the channel without writing anything.
            raise ClientDisconnected() from None


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family)


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(host: str = "127.0.0.1", port: int = 8765, *, threads: int = 32, app: SandboxApp | None = None) -> None:
    """Serve a sandbox until interrupted, after printing "Sinch sandbox listening on http://HOST:PORT"."""
    with _listen(host, port) as listener:
        server = create_server(_Waitress(app or make_app()), sockets=[listener], threads=threads, connection_limit=1000)
        bound_host, bound_port = listener.getsockname()[:2]
        # stdout, not logging: scripts and the end-to-end tests wait for exactly this line.
        sys.stdout.write(f"Sinch sandbox listening on {_url(bound_host, bound_port)}\n")
        sys.stdout.flush()
        try:
            server.run()
        finally:
            server.close()


@dataclass
class RunningSandbox:
    """A sandbox served from a background thread; `stop()` shuts it down and frees the port."""

    url: str
    app: SandboxApp
    _server: Any = field(repr=False)
    _map: dict[int, Any] = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _stopping: threading.Event = field(repr=False)

    @property
    def endpoints(self) -> SinchEndpoints:
        """SinchEndpoints pointing at this sandbox."""
        return endpoints_for(self.url)

    def stop(self) -> None:
        """Stop serving; waits for requests in flight (up to a few seconds)."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._server.pull_trigger()  # wake the select() so the loop sees the flag now
        self._thread.join(timeout=5)
        self._server.task_dispatcher.shutdown(timeout=5)
        # Safe only now that the loop thread has exited: close every socket and the trigger pipe.
        for dispatcher in list(self._map.values()):
            dispatcher.close()
        self._map.clear()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_in_thread(
    host: str = "127.0.0.1", port: int = 0, *, app: SandboxApp | None = None, threads: int = 8
) -> RunningSandbox:
    """Serve a sandbox from a daemon thread on a real loopback port (0: any free port)."""
    app = app or make_app()
    listener = _listen(host, port)
    socket_map: dict[int, Any] = {}
    server = create_server(_Waitress(app), map=socket_map, sockets=[listener], threads=threads)
    stopping = threading.Event()

    def loop() -> None:
        while not stopping.is_set():
            server.asyncore.loop(timeout=1.0, map=socket_map, use_poll=server.adj.asyncore_use_poll, count=1)

    thread = threading.Thread(target=loop, name="sinch-sandbox", daemon=True)
    thread.start()
    bound_host, bound_port = listener.getsockname()[:2]
    running = RunningSandbox(
        url=_url(bound_host, bound_port),
        app=app,
        _server=server,
        _map=socket_map,
        _thread=thread,
        _stopping=stopping,
    )
    logger.info("Sinch sandbox serving on %s", running.url)
    return running
