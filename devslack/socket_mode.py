"""Slack's Socket Mode endpoint on loopback: `apps.connections.open` URLs, a WebSocket server, envelopes and acks.

It behaves as Slack does where a bot can tell: a single-use URL per `apps.connections.open`, `hello` on connect,
each envelope delivered to one open connection, acks matched by `envelope_id`. Tests steer the unhappy paths:
a clean close, a `disconnect` message, an abrupt TCP reset, a peer gone silent, and refusing new connections
for a while.

The server is `websockets`' threaded (sync) implementation: one thread per connection, no event loop to host.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from devslack.models import JsonDict

__all__ = ["Ack", "Envelope", "SocketConnection", "SocketModeServer"]

logger = logging.getLogger(__name__)

ENVELOPE_TYPES = frozenset({"slash_commands", "interactive", "events_api"})


@dataclass
class Ack:
    """The bot's answer to one envelope."""

    envelope_id: str
    connection_id: int
    latency: float
    payload: JsonDict | None


@dataclass
class Envelope:
    """One delivery to the bot; `acked` is set when the first ack for it arrives."""

    envelope_id: str
    type: str
    payload: JsonDict
    connection_id: int
    sent_at: float
    acked: threading.Event = field(default_factory=threading.Event)
    ack: Ack | None = None


@dataclass
class SocketConnection:
    """One WebSocket connection of the app, as the stand-in sees it."""

    connection_id: int
    opened_at: float
    websocket: ServerConnection
    retiring: bool = False  # a `disconnect` was sent: nothing new is delivered here
    silenced: bool = False
    closed_at: float | None = None

    @property
    def open(self) -> bool:
        return self.closed_at is None


class SocketModeServer:
    """The Socket Mode side of a fake workspace; `issue_url()` is what `apps.connections.open` answers."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, app_id: str = "A0FAKE",
                 monotonic: Callable[[], float] = time.monotonic, rng: random.Random | None = None) -> None:
        self.host = host
        self.app_id = app_id
        self.monotonic = monotonic
        self.rng = rng or random.Random()
        self.lock = threading.Condition()
        self.connections: list[SocketConnection] = []
        self.envelopes: dict[str, Envelope] = {}
        self.acks: list[Ack] = []
        self.duplicate_acks: list[str] = []
        self.unknown_acks: list[str] = []
        self.refused_handshakes = 0
        self._tickets: set[str] = set()
        self._refuse_until = 0.0
        self._next_connection_id = 0
        self._server: Server = serve(self._handle, host, port, process_request=self._admit, ping_interval=None,
                                     compression=None, logger=logger)
        self.port = int(self._server.socket.getsockname()[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"fake-socket-mode-{self.port}",
                                        daemon=True)
        self._thread.start()

    # -- what apps.connections.open hands out -------------------------------------------------------

    def issue_url(self) -> str:
        """A fresh single-use WebSocket URL, as `apps.connections.open` returns."""
        ticket = secrets.token_hex(16)
        with self.lock:
            self._tickets.add(ticket)
        return f"ws://{self.host}:{self.port}/link/?ticket={ticket}&app_id={self.app_id}"

    def refuse_connections(self, seconds: float) -> None:
        """Answer WebSocket handshakes with 503 for the next `seconds` (Slack being unreachable)."""
        with self.lock:
            self._refuse_until = self.monotonic() + seconds

    def _admit(self, connection: ServerConnection, request: Request) -> Response | None:
        ticket = parse_qs(urlsplit(request.path).query).get("ticket", [""])[0]
        with self.lock:
            if self.monotonic() < self._refuse_until:
                self.refused_handshakes += 1
                return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "try again later\n")
            if ticket not in self._tickets:
                return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid or used ticket\n")
            self._tickets.discard(ticket)
        return None

    # -- one connection --------------------------------------------------------------------------

    def _handle(self, websocket: ServerConnection) -> None:
        with self.lock:
            self._next_connection_id += 1
            conn = SocketConnection(self._next_connection_id, self.monotonic(), websocket)
            self.connections.append(conn)
            count = len(self.open_connections())
            self.lock.notify_all()
        websocket.send(json.dumps({
            "type": "hello", "num_connections": count,
            "debug_info": {"host": "fake-socket-mode", "approximate_connection_time": 3600},
            "connection_info": {"app_id": self.app_id},
        }))
        try:
            for message in websocket:
                self._on_message(conn, message)
        except ConnectionClosed:
            pass
        finally:
            with self.lock:
                conn.closed_at = self.monotonic()
                self.lock.notify_all()

    def _on_message(self, conn: SocketConnection, message: str | bytes) -> None:
        try:
            data = json.loads(message)
            envelope_id = str(data["envelope_id"])
        except (ValueError, KeyError, TypeError):
            logger.warning("fake Socket Mode: not an ack on connection %s: %r", conn.connection_id, message[:200])
            return
        with self.lock:
            envelope = self.envelopes.get(envelope_id)
            if envelope is None:
                self.unknown_acks.append(envelope_id)
            elif envelope.ack is not None:
                self.duplicate_acks.append(envelope_id)
            else:
                payload = data.get("payload")
                envelope.ack = Ack(envelope_id, conn.connection_id, self.monotonic() - envelope.sent_at,
                                   payload if isinstance(payload, dict) else None)
                self.acks.append(envelope.ack)
                envelope.acked.set()
            self.lock.notify_all()

    # -- delivering ------------------------------------------------------------------------------

    def open_connections(self, *, deliverable: bool = False) -> list[SocketConnection]:
        """Connections still open (and, with `deliverable`, not asked to disconnect)."""
        with self.lock:
            return [c for c in self.connections if c.open and not (deliverable and c.retiring)]

    def wait_for_connection(self, *, newer_than: int = 0, timeout: float = 10.0) -> SocketConnection:
        """The first deliverable connection with an id above `newer_than`, waiting up to `timeout`."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                for conn in self.open_connections(deliverable=True):
                    if conn.connection_id > newer_than:
                        return conn
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no Socket Mode connection newer than #{newer_than} within {timeout}s")
                self.lock.wait(left)

    def deliver(self, envelope_type: str, payload: JsonDict, *, accepts_response_payload: bool = False,
                retry_attempt: int = 0, retry_reason: str = "", wait: float = 10.0) -> Envelope:
        """Send one envelope to one deliverable connection (chosen at random), waiting up to `wait` for one.

        `sent_at` is taken before waiting, so an ack's latency includes any time without a connection,
        as the person clicking would feel it.
        """
        if envelope_type not in ENVELOPE_TYPES:
            raise ValueError(f"unknown envelope type {envelope_type!r}")
        sent_at = self.monotonic()
        deadline = time.monotonic() + wait
        while True:
            self.wait_for_connection(timeout=max(0.0, deadline - time.monotonic()))
            with self.lock:
                candidates = self.open_connections(deliverable=True)
                if not candidates:
                    continue
                conn = self.rng.choice(candidates)
                envelope = Envelope(secrets.token_hex(12), envelope_type, payload, conn.connection_id, sent_at)
                self.envelopes[envelope.envelope_id] = envelope
            message = {"envelope_id": envelope.envelope_id, "type": envelope_type, "payload": payload,
                       "accepts_response_payload": accepts_response_payload,
                       "retry_attempt": retry_attempt, "retry_reason": retry_reason}
            try:
                conn.websocket.send(json.dumps(message))
                return envelope
            except ConnectionClosed:
                with self.lock:  # it closed between the choice and the send: choose again
                    del self.envelopes[envelope.envelope_id]
                    conn.closed_at = conn.closed_at or self.monotonic()

    def send_raw(self, conn: SocketConnection, frame: str) -> None:
        """Send one text frame as is (malformed on purpose: not JSON, not an object, a bad payload)."""
        conn.websocket.send(frame)

    def redeliver(self, envelope: Envelope) -> None:
        """Send the same envelope (same id) again, as Slack may when it did not see the ack in time."""
        with self.lock:
            conn = next(c for c in self.open_connections(deliverable=True))
        conn.websocket.send(json.dumps({"envelope_id": envelope.envelope_id, "type": envelope.type,
                                        "payload": envelope.payload, "accepts_response_payload": False,
                                        "retry_attempt": 1, "retry_reason": "timeout"}))

    def wait_for_ack(self, envelope: Envelope, timeout: float = 10.0) -> Ack:
        """The envelope's ack, waiting up to `timeout` seconds for it."""
        if not envelope.acked.wait(timeout):
            raise TimeoutError(f"envelope {envelope.envelope_id} ({envelope.type}) not acked within {timeout}s")
        assert envelope.ack is not None
        return envelope.ack

    # -- the unhappy paths ----------------------------------------------------------------------

    def close(self, conn: SocketConnection, *, code: int = 1001, reason: str = "going away") -> None:
        """Close one connection with a WebSocket close frame, as Slack does when it recycles a host."""
        self._unsilence(conn)
        conn.websocket.close(code, reason)

    def send_disconnect(self, conn: SocketConnection, reason: str = "refresh_requested") -> None:
        """Ask the app to reconnect (`refresh_requested` or `warning`); deliver nothing more here."""
        with self.lock:
            conn.retiring = True
        conn.websocket.send(json.dumps({"type": "disconnect", "reason": reason,
                                        "debug_info": {"host": "fake-socket-mode"}}))

    def drop(self, conn: SocketConnection) -> None:
        """Reset the TCP connection without a close frame (a crashed edge host or a broken network path)."""
        sock = conn.websocket.socket
        try:
            # Linger 0 turns close() into a RST; SHUT_RD wakes the server's reader without sending a FIN.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass
        sock.close()

    def silence(self, conn: SocketConnection) -> None:
        """Stop answering on this connection, pings included: a peer gone without a FIN or RST.

        Holds the connection's protocol lock, which its reader needs for every frame it handles; tests
        are the only users, and stop() lets go of it.
        """
        with self.lock:
            conn.retiring = True
            conn.silenced = True
        conn.websocket.protocol_mutex.acquire()

    def _unsilence(self, conn: SocketConnection) -> None:
        with self.lock:
            was_silenced, conn.silenced = conn.silenced, False
        if was_silenced:
            conn.websocket.protocol_mutex.release()

    def stop(self) -> None:
        """Close every connection and stop serving."""
        for conn in list(self.connections):
            self._unsilence(conn)
        for conn in self.open_connections():
            try:
                conn.websocket.close(1001, "server shutting down")
            except Exception:  # noqa: BLE001 - a connection already gone needs no closing
                pass
        self._server.shutdown()
        self._thread.join(timeout=5)

    def summary(self) -> dict[str, Any]:
        """Counts for GET /_fake/state."""
        with self.lock:
            return {"connections_open": len(self.open_connections()), "connections_total": len(self.connections),
                    "envelopes": len(self.envelopes), "acks": len(self.acks),
                    "duplicate_acks": len(self.duplicate_acks), "refused_handshakes": self.refused_handshakes}

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
