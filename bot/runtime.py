"""Assembling a running bot from settings: deps, the Bolt app, the scheduler and the outbox thread.

Serving it (HTTP or Socket Mode, signals, graceful stop) is bot/serving.py.
"""

from __future__ import annotations

import io
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from apscheduler.schedulers.background import BackgroundScheduler
from slack_bolt import App

from bot.background.outbox import OutboxDispatcher
from bot.background.scheduler import build_scheduler
from bot.background.wal import keep_wal_short
from bot.config import Settings
from bot.deps import Deps
from bot.health import HEALTH_PATHS, Readiness, health_response
from bot.listeners.app import build_app, share_identity
from bot.log_hygiene import install_log_hygiene
from bot.metrics import Metrics
from bot.slack import envelope
from bot.slack.approvers import ApproverDirectory
from bot.slack.client import make_web_client
from bot.slack.envelope import MAX_BODY_BYTES
from bot.slack.home_viewers import HomeViewers
from bot.slack.http_request import PARSED_BODY, FormReadingHandler
from bot.slack.keepalive import KeepAliveWebClient
from bot.slack.socket_mode import SocketModeConnector
from bot.slack.startup import SlackStartupCheck
from sinch import SinchClient, SinchEndpoints
from store.db import make_engine, migrate, on_secret_erased
from store.models import utcnow
from store.secrets import SecretBox
from store.sqlite import keeps_a_wal
from store.write_lock import background_writes

__all__ = ["Runtime", "build_runtime", "make_wsgi_app"]

logger = logging.getLogger(__name__)
INTERACTIVE_SINCH_TIMEOUT = 2.0  # a key check happens inside a modal submission, which Slack gives 3 s
BACKGROUND_SINCH_TIMEOUT = 10.0
AFTER_ACK_THREADS = 4
FORM_THREADS = 4  # views.open calls, each one Slack round trip

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass
class Runtime:
    settings: Settings
    deps: Deps
    app: App
    scheduler: BackgroundScheduler
    metrics: Metrics = field(default_factory=Metrics)
    connector: SocketModeConnector | None = None  # set by serve() in Socket Mode
    slack_check: SlackStartupCheck | None = None  # auth.test at start, retried until Slack answers
    after_ack: ThreadPoolExecutor | None = None
    forms: ThreadPoolExecutor | None = None
    slack_clients: tuple[KeepAliveWebClient, ...] = ()  # closed last, after everything that posts
    stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __post_init__(self) -> None:
        readiness = self.readiness()
        self.metrics.watch_readiness(lambda: all(check.ok for check in readiness.checks()))

    def readiness(self) -> Readiness:
        """The /readyz checks for this runtime (Socket Mode's connection counts once serve() has set it)."""
        return Readiness(engine=self.deps.engine, clock=self.deps.clock,
                         outbox_max_age=self.settings.ready_outbox_age,
                         scheduler_running=lambda: bool(self.scheduler.running),
                         socket_mode_connected=(lambda: self.connector is not None and self.connector.connected)
                         if self.settings.socket_mode else None,
                         slack=self._slack_status if self.slack_check is not None else None)

    def _slack_status(self) -> tuple[bool, str]:
        if self.slack_check is None:
            return True, "not checked"
        status = self.slack_check.status()
        return status.ok, status.detail

    def start_background(self) -> None:
        """Start the outbox delivery thread, the scheduler, on SQLite the WAL checkpoints (bot/background/wal.py),
        and the Slack token check, retried until it passes."""
        if self.slack_check is not None and (checker := self.slack_check.start(self.stop)) is not None:
            self._threads.append(checker)
        thread = threading.Thread(target=self.deps.outbox.run, args=(self.stop,), name="outbox", daemon=True)
        thread.start()
        self._threads.append(thread)
        if keeps_a_wal(self.deps.engine):
            thread = threading.Thread(target=keep_wal_short, args=(self.deps.engine, self.stop), name="wal-checkpoint",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)
        self.scheduler.start()
        self.deps.outbox.wake()  # deliver whatever a previous run left queued

    def shutdown(self, timeout: float | None = None) -> None:
        """Stop background work within `timeout` (default SHUTDOWN_TIMEOUT): listeners already running and the
        Slack post being delivered finish; nothing new starts; then clients and the engine close."""
        deadline = time.monotonic() + (self.settings.shutdown_timeout if timeout is None else timeout)

        def left() -> float:
            return max(0.1, deadline - time.monotonic())

        self.stop.set()
        self.deps.outbox.wake()
        _bounded(self.app.listener_runner.listener_executor.shutdown, left(), "listeners")
        if self.scheduler.running:
            # Paused first so no job starts while running ones finish.
            self.scheduler.pause()
            _bounded(lambda: self.scheduler.shutdown(wait=True), left(), "scheduled jobs")
        for thread in self._threads:
            thread.join(timeout=left())
            if thread.is_alive():
                logger.warning("shutdown: %s still busy after the shutdown timeout", thread.name)
        for pool in (self.after_ack, self.forms):
            if pool is not None:
                pool.shutdown(wait=True)
        self.deps.sinch.close()
        self.deps.sinch_interactive.close()
        for client in self.slack_clients:
            client.close()
        self.deps.engine.dispose()


def _bounded(work: Callable[[], object], timeout: float, what: str) -> None:
    """Run `work` in a helper thread and wait at most `timeout` for it."""
    helper = threading.Thread(target=work, name=f"shutdown-{what}", daemon=True)
    helper.start()
    helper.join(timeout)
    if helper.is_alive():
        logger.warning("shutdown: %s still running after the shutdown timeout", what)


def build_runtime(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utcnow,
    sinch_transport: httpx.BaseTransport | None = None,
    post_interval: float | None = None,
    token_verification: bool = True,
    run_later: Callable[[Callable[[], None]], None] | None = None,
) -> Runtime:
    """Everything `python -m bot run` needs, migrated and wired, nothing started yet.

    `run_later` runs what a listener starts after its commit (an app creation), and forms that open after the
    answer; by default two small thread pools (Deps.run_later, Deps.run_soon), so the request is answered
    first. Tests pass one that runs it at once.
    """
    install_log_hygiene(_secret_values(settings))
    engine = make_engine(settings.database_url)
    migrate(engine)
    endpoints = SinchEndpoints(auth_url=settings.sinch_auth_url, conversation_url=settings.sinch_conversation_url,
                               provisioning_url=settings.sinch_provisioning_url,
                               subprojects_url=settings.sinch_subprojects_url)
    # Background work retries through the database, not in-line: a failed poll or app creation is
    # rescheduled (honouring Retry-After) by its job. Sleeping out retries here would hold a sweep worker
    # for up to minutes and, with max_instances=1, delay the next sweep for every other case.
    metrics = Metrics()
    # A call to Sinch must end well within the lease of the case it works on, or another process could take
    # the case over while Sinch is still creating its app (an app creation makes up to three calls).
    background_timeout = min(BACKGROUND_SINCH_TIMEOUT, settings.lease_ttl.total_seconds() / 4)
    sinch = SinchClient.create(endpoints=endpoints, use_provisioning=settings.sinch_use_provisioning,
                               transport=sinch_transport, timeout=background_timeout, max_attempts=1,
                               observer=metrics.observe_sinch)
    sinch_interactive = SinchClient.create(endpoints=endpoints, use_provisioning=settings.sinch_use_provisioning,
                                           transport=sinch_transport, timeout=INTERACTIVE_SINCH_TIMEOUT,
                                           max_attempts=1, observer=metrics.observe_sinch)
    listener_client = make_web_client(settings, background=False)
    dispatchers: list[OutboxDispatcher] = []

    def rate_limited(seconds: float) -> None:
        metrics.slack_rate_limited.inc()
        # A card update waiting out a 429 keeps its outbox row claimed meanwhile (on the dispatcher's thread).
        for dispatcher in dispatchers:
            dispatcher.extend_lease(seconds)

    background_client = make_web_client(settings, background=True, on_rate_limit=rate_limited)
    approvers = ApproverDirectory(background_client, users=settings.approver_users, groups=settings.approver_groups)
    worker_id = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"
    outbox = OutboxDispatcher(engine=engine, client=background_client, approvers=approvers.mentions, clock=clock,
                              owner=worker_id, lease_ttl=settings.lease_ttl,
                              post_interval=settings.slack_post_interval.total_seconds() if post_interval is None
                              else post_interval, on_rate_limit=lambda seconds: metrics.slack_rate_limited.inc())
    dispatchers.append(outbox)
    after_ack = forms = None
    if run_later is None:
        after_ack = ThreadPoolExecutor(max_workers=AFTER_ACK_THREADS, thread_name_prefix="after-ack")
        forms = ThreadPoolExecutor(max_workers=FORM_THREADS, thread_name_prefix="forms")
        run_later = _submitter(after_ack, on_error=metrics.listener_errors.inc)
        run_soon = _submitter(forms, on_error=metrics.listener_errors.inc)
    else:
        run_soon = run_later

    # A key whose secret the workflow erased (a case ended) keeps no cached token either, whichever
    # transaction (listener or job) committed the erase.
    def forget_tokens(key_ids: frozenset[str]) -> None:
        for key_id in key_ids:
            sinch.forget_key(key_id)
            sinch_interactive.forget_key(key_id)

    on_secret_erased(engine, forget_tokens)
    deps = Deps(settings=settings, engine=engine, sinch=sinch, sinch_interactive=sinch_interactive,
                secrets=SecretBox(settings.bot_secret_key.reveal()), approvers=approvers, outbox=outbox, clock=clock,
                home_viewers=HomeViewers(engine), worker_id=worker_id, run_later=run_later, run_soon=run_soon,
                on_poll=lambda outcome: metrics.polls.labels(outcome).inc())
    metrics.watch(engine=engine, clock=clock, removal_due_after=settings.timers.revoke_escalate_after,
                  delivery=outbox.stats)
    # Bolt's own auth.test at construction would make a Slack outage fatal at start: SlackStartupCheck makes
    # it instead, retried in the background (`token_verification=False` skips it, for tests of other things).
    app = build_app(settings, deps, client=listener_client, token_verification=False,
                    observe_request=metrics.observe_request)
    scheduler = build_scheduler(deps, client=background_client)
    slack_check = None
    if token_verification:
        slack_check = SlackStartupCheck(listener_client, on_success=lambda identity: share_identity(app, identity))
        slack_check.check_once()  # quick when Slack answers; otherwise start_background() keeps trying
    return Runtime(settings=settings, deps=deps, app=app, scheduler=scheduler, metrics=metrics, after_ack=after_ack,
                   forms=forms, slack_check=slack_check, slack_clients=(listener_client, background_client))


def _submitter(pool: ThreadPoolExecutor, *, on_error: Callable[[], None]) -> Callable[[Callable[[], None]], None]:
    def submit(work: Callable[[], None]) -> None:
        future = pool.submit(_in_background, work)
        future.add_done_callback(lambda done: _log_failure(done, on_error))

    return submit


def _in_background(work: Callable[[], None]) -> None:
    """After the ack nobody waits: the work's transactions give way to requests' for SQLite's write lock."""
    with background_writes():
        work()


def _log_failure(future: Future[None], on_error: Callable[[], None]) -> None:
    error = future.exception()
    if error is not None:
        on_error()
        # The work's claim runs out and a sweep picks it up again; say why it did not finish here.
        logger.error("work started after an ack failed: %r", error)


def _secret_values(settings: Settings) -> list[str]:
    """Every secret in the settings, and each key of the BOT_SECRET_KEY keyring on its own."""
    keyring = settings.bot_secret_key.reveal()
    values = [settings.slack_bot_token.reveal(), settings.slack_signing_secret.reveal(),
              settings.slack_app_token.reveal(), keyring]
    return values + [key.strip() for key in keyring.split(",")]


def make_wsgi_app(app: App, *, readiness: Readiness | None = None, metrics: Metrics | None = None) -> WSGIApp:
    """`/slack/events` to Bolt (which verifies signatures before any listener); /healthz, /readyz, /metrics.

    Before Bolt: signature headers its check would crash on get 401, a body it cannot parse (see
    bot/slack/envelope.py) 400, an oversized one 413, so malformed input gets a 4xx answer, never a 500.
    """
    slack = FormReadingHandler(app, path="/slack/events")

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path in HEALTH_PATHS and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            answer = health_response(path, readiness=readiness, metrics=metrics)
            if answer is not None:
                status, content_type, body = answer
                start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
                return [body]
        if path == "/slack/events":
            if environ.get("REQUEST_METHOD") == "POST":
                refusal = _unverifiable(environ) or _read_body(environ)
                if refusal is not None:
                    status, reason = refusal
                    logger.info("refused a request to /slack/events: %s", reason)
                    # The same answer Bolt gives a request that fails its signature check.
                    body = b'{"error": "invalid request"}' if status.startswith("401") else status[4:].encode()
                    start_response(status, [("Content-Type", "application/json" if status.startswith("401")
                                             else "text/plain; charset=utf-8")])
                    return [body]
            return slack(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", "9")])
        return [b"not found"]

    return application


def _unverifiable(environ: dict[str, Any]) -> tuple[str, str] | None:
    """Signature headers Bolt's check cannot even compare: it would raise (a 500) instead of saying no.

    slack_sdk's SignatureVerifier calls int() on the timestamp and hmac.compare_digest() on the signature,
    which raises for a non-numeric timestamp or a non-ASCII signature. Both are forgeries: 401.
    """
    timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
    if timestamp is not None:
        try:
            int(timestamp)
        except ValueError:
            return "401 Unauthorized", "a non-numeric X-Slack-Request-Timestamp"
    signature = environ.get("HTTP_X_SLACK_SIGNATURE")
    if signature is not None and not signature.isascii():
        return "401 Unauthorized", "a non-ASCII X-Slack-Signature"
    return None


def _read_body(environ: dict[str, Any]) -> tuple[str, str] | None:
    """Read the body once, check its envelope, and leave both the bytes and their reading for Bolt;
    (status, reason) to refuse it."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return "400 Bad Request", "invalid Content-Length"
    if length < 0:
        return "400 Bad Request", "invalid Content-Length"
    if length > MAX_BODY_BYTES:
        return "413 Content Too Large", f"body of {length} bytes"
    raw = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(raw)
    environ["CONTENT_LENGTH"] = str(len(raw))
    reading = envelope.read(raw, environ.get("CONTENT_TYPE"))
    if reading.problem is not None:
        return "400 Bad Request", reading.problem
    environ[PARSED_BODY] = reading.body
    return None
