"""Assembling a running bot from settings: deps, the Bolt app, the scheduler and the outbox thread."""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from apscheduler.schedulers.background import BackgroundScheduler
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.background.outbox import OutboxDispatcher
from bot.background.scheduler import build_scheduler
from bot.config import Settings
from bot.deps import Deps
from bot.slack.app import build_app
from bot.slack.approvers import ApproverDirectory
from bot.slack.client import make_web_client
from bot.slack.envelope import MAX_BODY_BYTES
from bot.slack.envelope import problem as envelope_problem
from sinch import SinchClient, SinchEndpoints
from store.db import make_engine, migrate
from store.models import utcnow
from store.secrets import SecretBox

__all__ = ["Runtime", "build_runtime", "make_wsgi_app", "serve"]

logger = logging.getLogger(__name__)
INTERACTIVE_SINCH_TIMEOUT = 2.0  # a key check happens inside a modal submission, which Slack gives 3 s

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass
class Runtime:
    settings: Settings
    deps: Deps
    app: App
    scheduler: BackgroundScheduler
    stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start_background(self) -> None:
        """Start the outbox delivery thread and the scheduler."""
        thread = threading.Thread(target=self.deps.outbox.run, args=(self.stop,), name="outbox", daemon=True)
        thread.start()
        self._threads.append(thread)
        self.scheduler.start()
        self.deps.outbox.wake()  # deliver whatever a previous run left queued

    def shutdown(self) -> None:
        self.stop.set()
        self.deps.outbox.wake()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        for thread in self._threads:
            thread.join(timeout=10)
        self.deps.sinch.close()
        self.deps.sinch_interactive.close()
        self.deps.engine.dispose()


def build_runtime(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utcnow,
    sinch_transport: httpx.BaseTransport | None = None,
    post_interval: float = 1.0,
    token_verification: bool = True,
    process_before_response: bool = False,
) -> Runtime:
    """Everything `python -m bot run` needs, migrated and wired, nothing started yet."""
    engine = make_engine(settings.database_url)
    migrate(engine)
    endpoints = SinchEndpoints(auth_url=settings.sinch_auth_url, conversation_url=settings.sinch_conversation_url,
                               provisioning_url=settings.sinch_provisioning_url)
    # Background work retries through the database, not in-line: a failed poll or app creation is
    # rescheduled (honouring Retry-After) by its job. Sleeping out retries here would hold a sweep worker
    # for up to minutes and, with max_instances=1, delay the next sweep for every other case.
    sinch = SinchClient.create(endpoints=endpoints, use_provisioning=settings.sinch_use_provisioning,
                               transport=sinch_transport, max_attempts=1)
    sinch_interactive = SinchClient.create(endpoints=endpoints, use_provisioning=settings.sinch_use_provisioning,
                                           transport=sinch_transport, timeout=INTERACTIVE_SINCH_TIMEOUT,
                                           max_attempts=1)
    listener_client = make_web_client(settings, background=False)
    background_client = make_web_client(settings, background=True)
    approvers = ApproverDirectory(background_client, users=settings.approver_users, groups=settings.approver_groups)
    outbox = OutboxDispatcher(engine=engine, client=background_client, approvers=approvers.mentions, clock=clock,
                              post_interval=post_interval, monotonic=time.monotonic)
    deps = Deps(settings=settings, engine=engine, sinch=sinch, sinch_interactive=sinch_interactive,
                secrets=SecretBox(settings.bot_secret_key.reveal()), approvers=approvers, outbox=outbox, clock=clock)
    app = build_app(settings, deps, client=listener_client, token_verification=token_verification,
                    process_before_response=process_before_response)
    scheduler = build_scheduler(deps, client=background_client)
    return Runtime(settings=settings, deps=deps, app=app, scheduler=scheduler)


def make_wsgi_app(app: App) -> WSGIApp:
    """`/slack/events` to Bolt (which verifies signatures before any listener), `/healthz` says only "ok".

    Before Bolt: signature headers its check would crash on get 401, a body it cannot parse (see
    bot/envelope.py) 400, an oversized one 413, so malformed input gets a 4xx answer, never a 500.
    """
    slack = SlackRequestHandler(app, path="/slack/events")

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", "2")])
            return [b"ok"]
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
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
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
    """Read the body once, check its envelope, and put it back for Bolt; (status, reason) to refuse it."""
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
    problem = envelope_problem(raw, environ.get("CONTENT_TYPE"))
    return ("400 Bad Request", problem) if problem else None


def serve(runtime: Runtime, *, host: str = "0.0.0.0") -> None:
    """Block serving Slack: over Socket Mode, or HTTP through waitress (a production WSGI server)."""
    settings = runtime.settings
    if settings.socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        logger.info("connecting to Slack in Socket Mode")
        SocketModeHandler(runtime.app, settings.slack_app_token.reveal()).start()
        return
    import waitress

    logger.info("listening for Slack on http://%s:%s/slack/events", host, settings.port)
    waitress.serve(make_wsgi_app(runtime.app), host=host, port=settings.port, threads=16, ident="onboarding-bot")
