"""Socket Mode: one WebSocket to Slack, kept alive and replaced fast, each envelope handed to Bolt once.

Why not Bolt's stock adapters: measured against devslack's Socket Mode stand-in (docs/operations.md), the
built-in client notices a clean close only at its next 10 s health check, waits out a 3 s read timeout before
the first envelope after a `disconnect` is acked (past Slack's 3 s), and needs ~55 s after a TCP reset; the
websocket-client one has no pong deadline at all. This connector keeps the parts Bolt defines (the
SocketModeRequest shape, `run_bolt_app`) and runs the connection itself on `websockets`' threaded client:
- a reader thread per connection; the end of the current one (close frame, reset, missed pong) or a
  `disconnect` message wakes the supervisor at once, which opens the next connection;
- a ping every `ping_interval` seconds and a `ping_timeout` deadline for the pong, so a silent peer is
  detected within their sum;
- after a `disconnect` the old connection stays open for `retire_after` seconds so envelopes it delivered can
  still be acked on it, while new ones arrive on the new connection;
- while Slack refuses, retries back off exponentially with jitter up to `Backoff.maximum` (4 s: back within
  5 s of Slack's recovery however long the outage, at ~20 tries a minute);
- an app token Slack rejects ends the connector with `SocketModeAuthError` (one clear line for `run`).
"""

from __future__ import annotations

import json
import logging
import queue
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from slack_bolt import App
from slack_bolt.adapter.socket_mode.internals import run_bolt_app
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.request import SocketModeRequest
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.sync.client import ClientConnection, connect

from bot.slack.envelope import payload_problem

__all__ = ["Backoff", "SocketModeAuthError", "SocketModeConnector"]

logger = logging.getLogger(__name__)

# apps.connections.open errors that no retry can fix: the app token itself is wrong.
FATAL_TOKEN_ERRORS = frozenset({"invalid_auth", "not_authed", "not_allowed_token_type", "token_revoked",
                                "account_inactive", "token_expired", "missing_scope"})
# How long an envelope id is remembered to refuse a redelivery a second run and ack: longer than Slack's retry
# window (its last retry comes about 5 minutes after the first delivery), so no count of other envelopes in
# between can make one run twice.
SEEN_FOR = 15 * 60.0


def _envelope_problem(message: dict[str, Any]) -> str | None:
    """What makes this envelope unusable, or None: the frame fields the connector and Bolt rely on."""
    if not isinstance(message.get("envelope_id"), str) or not isinstance(message.get("type"), str):
        return "`envelope_id` and `type` must be strings"
    if not isinstance(message.get("payload"), dict):
        return "`payload` must be an object"
    return payload_problem(message["payload"])  # the HTTP endpoint's check, so Bolt never sees what it refuses


class SocketModeAuthError(Exception):
    """Slack refuses the app token (SLACK_APP_TOKEN)."""


@dataclass
class Backoff:
    """Exponential back-off with full jitter: the n-th retry waits up to initial * 2**n, capped."""

    initial: float = 0.5
    # Low enough that the bot is back within 5 s of Slack's recovery (the wait after it is at most this plus
    # one handshake), high enough that an hour-long outage costs ~20 apps.connections.open calls a minute.
    maximum: float = 4.0
    rng: random.Random | None = None
    attempts: int = 0

    def next_delay(self) -> float:
        ceiling = min(self.maximum, self.initial * 2 ** self.attempts)
        self.attempts += 1
        jitter = (self.rng or random).uniform(0, ceiling / 2)
        return float(ceiling / 2 + jitter)  # never less than half: no hammering when unlucky

    def reset(self) -> None:
        self.attempts = 0


class SocketModeConnector:
    """Keeps the bot connected to Slack over Socket Mode and dispatches envelopes to the Bolt app."""

    def __init__(self, app: App, app_token: str, *, web_client: WebClient | None = None,
                 ping_interval: float = 1.5, ping_timeout: float = 1.5, open_timeout: float = 5.0,
                 retire_after: float = 3.0, backoff: Backoff | None = None, workers: int = 10,
                 proxy: str | Literal[True] | None = True, on_connect: Callable[[int], None] | None = None,
                 monotonic: Callable[[], float] = time.monotonic,
                 pause: Callable[[float], object] | None = None) -> None:
        self.app = app
        self._app_token = app_token
        self._web_client = web_client or app.client
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.open_timeout = open_timeout
        self.retire_after = retire_after
        self.backoff = backoff or Backoff()
        self.proxy = proxy
        self.on_connect = on_connect
        self.connections_opened = 0
        self.fatal: SocketModeAuthError | None = None
        self.stopped = threading.Event()  # set when the connector has ended (stop() or a fatal error)
        self._lock = threading.Lock()
        self._current: ClientConnection | None = None
        self._hello = threading.Event()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._accepting = True
        self._monotonic = monotonic
        self._pause = pause  # the wait between refused attempts; tests pass one that moves a fake clock
        self._seen: OrderedDict[str, float] = OrderedDict()  # envelope id -> when first seen, oldest first
        self._workers = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="socket-mode-listener")
        self._supervisor: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Check the app token (raising SocketModeAuthError), then connect and keep connecting in a thread."""
        self._issue_url()  # a bad token fails here, before anything runs
        self._supervisor = threading.Thread(target=self._supervise, name="socket-mode", daemon=True)
        self._supervisor.start()

    @property
    def connected(self) -> bool:
        """True while a connection is open and Slack has said hello on it."""
        with self._lock:
            return self._current is not None and self._hello.is_set()

    def stop_accepting(self) -> None:
        """Take no new envelopes (Slack redelivers what it cannot hand over); in-flight ones finish."""
        self._accepting = False

    def drain(self, timeout: float) -> bool:
        """Stop taking envelopes and wait up to `timeout` for those in hand to be acked; True if all were."""
        self.stop_accepting()
        drained = threading.Thread(target=self._workers.shutdown, name="socket-mode-drain", daemon=True)
        drained.start()
        drained.join(timeout)
        if drained.is_alive():
            logger.warning("Socket Mode: listeners still running after %.0fs; closing anyway", timeout)
        return not drained.is_alive()

    def close(self) -> None:
        """Close the connection and stop reconnecting."""
        self.stop_accepting()
        self._stopping.set()
        self._wake.set()
        with self._lock:
            current, self._current = self._current, None
        if current is not None:
            current.close(1000, "shutting down")
        if self._supervisor is not None:
            self._supervisor.join(timeout=self.open_timeout + 1)
        self.stopped.set()

    def stop(self, timeout: float = 10.0) -> None:
        """drain() then close()."""
        self.drain(timeout)
        self.close()

    # -- connecting ----------------------------------------------------------------------------

    def _issue_url(self) -> str:
        try:
            response = self._web_client.apps_connections_open(app_token=self._app_token)
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            if error in FATAL_TOKEN_ERRORS:
                raise SocketModeAuthError(f"Slack refused SLACK_APP_TOKEN ({error}): create an app-level token "
                                          "with connections:write and set it again") from None
            raise
        return str(response["url"])

    def _open(self) -> tuple[ClientConnection, threading.Event] | None:
        """The next connection and the event that lets its reader start; None once stopping or refused."""
        while not self._stopping.is_set():
            try:
                url = self._issue_url()
                opened = self._connect(url)
            except SocketModeAuthError as exc:
                self.fatal = exc
                logger.error("%s", exc)
                self._stopping.set()
                self.stopped.set()
                return None
            except (SlackApiError, OSError, WebSocketException, TimeoutError) as exc:
                delay = self.backoff.next_delay()
                logger.warning("Socket Mode: cannot connect (%s: %s); retrying in %.1fs", type(exc).__name__,
                               exc, delay)
                if self._pause is not None:
                    self._pause(delay)
                else:
                    self._stopping.wait(delay)
                continue
            self.backoff.reset()
            return opened
        return None

    def _connect(self, url: str) -> tuple[ClientConnection, threading.Event]:
        """Open a connection in its own thread (websockets wants `with connect(...)`), which then reads it
        once the supervisor has made it current."""
        outcome: queue.Queue[ClientConnection | BaseException] = queue.Queue()
        installed = threading.Event()

        def session() -> None:
            try:
                with connect(url, open_timeout=self.open_timeout, ping_interval=self.ping_interval,
                             ping_timeout=self.ping_timeout, close_timeout=0.5, compression=None,
                             proxy=self.proxy, logger=logger) as websocket:
                    outcome.put(websocket)
                    installed.wait()
                    self._read(websocket)
            except (OSError, WebSocketException, TimeoutError) as exc:
                outcome.put(exc)

        threading.Thread(target=session, name=f"socket-mode-{self.connections_opened + 1}", daemon=True).start()
        result = outcome.get()  # connect() gives up after open_timeout
        if isinstance(result, BaseException):
            raise result
        return result, installed

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            opened = self._open()
            if opened is None:
                break
            websocket, installed = opened
            with self._lock:
                previous, self._current = self._current, websocket
                self._hello.clear()
                self._wake.clear()
            installed.set()
            self.connections_opened += 1
            if self.on_connect is not None:
                self.on_connect(self.connections_opened)
            if previous is not None:
                # Envelopes it delivered may still be acking on it; Slack closes it soon anyway.
                retire = threading.Timer(self.retire_after, previous.close)
                retire.daemon = True
                retire.start()
            self._wake.wait()
        logger.info("Socket Mode: connection supervisor stopped")

    # -- reading and dispatching -----------------------------------------------------------------

    def _read(self, websocket: ClientConnection) -> None:
        try:
            for raw in websocket:
                try:
                    self._on_message(websocket, raw)
                except Exception as exc:  # one bad frame must not end the reader (and with it every ack)
                    logger.warning("Socket Mode: skipped a frame that could not be handled (%s: %s)",
                                   type(exc).__name__, str(exc)[:200])
        except ConnectionClosed as exc:
            logger.info("Socket Mode: connection closed (%s)", exc)
        except (OSError, WebSocketException) as exc:
            logger.warning("Socket Mode: connection failed (%s: %s)", type(exc).__name__, exc)
        except Exception as exc:  # whatever ended the reader, the supervisor must hear of it and reconnect
            logger.error("Socket Mode: reader stopped (%s: %s); reconnecting", type(exc).__name__, exc)
        finally:
            with self._lock:
                is_current = websocket is self._current
                if is_current:
                    self._hello.clear()  # not ready until a new connection says hello
            if is_current:
                self._wake.set()

    def _on_message(self, websocket: ClientConnection, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            logger.warning("Socket Mode: skipped a frame that is not JSON")
            return
        if not isinstance(message, dict):
            logger.warning("Socket Mode: skipped a frame that is not a JSON object (%s)", type(message).__name__)
            return
        kind = message.get("type")
        if kind == "hello":
            with self._lock:
                if websocket is self._current:
                    self._hello.set()
            logger.info("Socket Mode: connected (%s connection(s) open for this app)", message.get("num_connections"))
        elif kind == "disconnect":
            logger.info("Socket Mode: Slack asks to reconnect (%s)", message.get("reason"))
            with self._lock:
                is_current = websocket is self._current
            if is_current:
                self._wake.set()
        elif message.get("envelope_id"):
            wrong = _envelope_problem(message)
            if wrong is not None:
                logger.warning("Socket Mode: skipped an envelope: %s", wrong)
                return
            self._accept(websocket, message)

    def _accept(self, websocket: ClientConnection, message: dict[str, Any]) -> None:
        envelope_id = str(message["envelope_id"])
        with self._lock:
            if not self._accepting:
                return  # unacked, so Slack delivers it again, to another replica or after the restart
            now = self._monotonic()
            while self._seen and next(iter(self._seen.values())) < now - SEEN_FOR:
                self._seen.popitem(last=False)
            if envelope_id in self._seen:
                logger.info("Socket Mode: envelope %s delivered twice; handled once", envelope_id)
                return
            self._seen[envelope_id] = now
        request = SocketModeRequest.from_dict(message)
        if request is None:
            return
        try:
            self._workers.submit(self._dispatch, websocket, request)
        except RuntimeError:  # the pool is shutting down: Slack will redeliver
            pass

    def _dispatch(self, websocket: ClientConnection, request: SocketModeRequest) -> None:
        response = run_bolt_app(self.app, request)
        if response.status != 200:
            logger.info("Socket Mode: no ack for %s envelope (Bolt answered %s)", request.type, response.status)
            return
        ack: dict[str, Any] = {"envelope_id": request.envelope_id}
        if response.body:
            content_type = (response.headers.get("content-type") or [""])[0]
            ack["payload"] = (json.loads(response.body) if content_type.startswith("application/json")
                              else {"text": response.body})
        self._send_ack(websocket, json.dumps(ack))

    def _send_ack(self, websocket: ClientConnection, ack: str) -> None:
        """On the connection the envelope came by; if that one is gone, on the current one (never both)."""
        try:
            websocket.send(ack)
            return
        except (ConnectionClosed, OSError):
            pass
        with self._lock:
            current = self._current
        if current is not None and current is not websocket:
            try:
                current.send(ack)
                return
            except (ConnectionClosed, OSError):
                pass
        logger.warning("Socket Mode: an ack could not be sent; Slack will retry the envelope")
