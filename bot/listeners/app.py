"""Building the Bolt app. No module-level App: `build_app(settings, deps)` makes a fresh one."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.logger import get_bolt_logger
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.middleware import Middleware
from slack_bolt.middleware.authorization.single_team_authorization import SingleTeamAuthorization
from slack_sdk import WebClient
from slack_sdk.web import SlackResponse

from bot.config import Settings
from bot.deps import Deps
from bot.listeners import register_all
from bot.slack.error_handler import register_error_handler
from bot.slack.id_limits import register_id_limits
from bot.slack.request_metrics import MeasuredApp, Observe
from store import leases
from store.db import session_scope

__all__ = ["LISTENER_THREADS", "build_app", "share_identity"]

# Bolt runs each listener (its ack() included) on this pool, and a listener keeps its thread after the ack
# while it calls Slack or Sinch. Bolt's default of 5 threads makes acks queue behind that work as soon as
# a few requests arrive together (python -m bench ack: p99 158 ms against 27 ms for an app that only acks).
LISTENER_THREADS = 64


def build_app(
    settings: Settings,
    deps: Deps,
    *,
    client: WebClient,
    token_verification: bool = True,
    observe_request: Observe | None = None,
) -> App:
    """An App with every listener and the error handler registered, talking to SLACK_API_URL via `client`.

    `process_before_response=True`: Slack gets its answer (the HTTP 200, or the Socket Mode ack) only once
    the listener has finished, so what a person did is committed before Slack hears that it was received.
    A process that dies earlier leaves the request unanswered (Slack shows an error, or retries an event),
    never acknowledged and forgotten. Slow work is not done in the request: an app creation goes to a
    background thread after the commit (`deps.run_later`), and the case's lease hands it to any process's
    sweep should this one die. See docs/replicas.md.
    """
    _quiet_token_skipped_warning()
    app = MeasuredApp(
        observe=observe_request,
        client=client,
        signing_secret=settings.slack_signing_secret.reveal() or None,
        # Socket Mode requests arrive unsigned over the websocket; HTTP requests are always verified.
        request_verification_enabled=not settings.socket_mode,
        token_verification_enabled=token_verification,
        raise_error_for_unhandled_request=False,
        process_before_response=True,
        listener_executor=ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="listener"),
    )
    register_error_handler(app, settings)
    app.use(_SharedClient(client))  # first of ours: nothing has bound Bolt's own client yet (see the class)
    register_id_limits(app)
    app.middleware(_once_per_event(deps))
    register_all(app, deps)
    return app


class _TokenSkippedWarning(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment by itself and, given the bot's own client as well, warns on
    every start that the token "will be unused". The client carries that same token: nothing is wrong."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


def _quiet_token_skipped_warning() -> None:
    bolt_logger = get_bolt_logger(App)
    if not any(isinstance(existing, _TokenSkippedWarning) for existing in bolt_logger.filters):
        bolt_logger.addFilter(_TokenSkippedWarning())


class _SharedClient(Middleware):
    """Listeners call Slack through the bot's own `client`, on its kept-alive connections (bot/slack/keepalive.py).

    Bolt hands each request a plain WebClient of its own (App._init_context, since slack_bolt 1.15, so that an
    app with several workspaces can change one request's token), and a plain WebClient opens a connection per
    call: every form a person opens would pay a TCP and TLS handshake inside the trigger's 3 s. This bot has one
    workspace and one token, which nothing changes, and the shared client keeps a connection per thread.

    A class, not a function: Bolt builds a function middleware's arguments from the context, `say` among them,
    which would bind Bolt's client before this one is in place.
    """

    def __init__(self, client: WebClient) -> None:
        self._client = client

    def process(self, *, req: BoltRequest, resp: BoltResponse,
                next: Callable[[], BoltResponse]) -> BoltResponse | None:  # noqa: A002 - Bolt's argument name
        req.context["client"] = self._client
        return next()


def _once_per_event(deps: Deps) -> Callable[..., Any]:
    """Events API deliveries are applied once: a retry (X-Slack-Retry-Num, or Socket Mode's retry_attempt)
    of an event some process already handled is acknowledged and dropped."""

    def once(body: dict[str, Any], next: Callable[[], Any]) -> Any:  # noqa: A002 - Bolt's argument name
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if not isinstance(event_id, str) or not event_id:
            return next()
        with session_scope(deps.engine) as session:
            if leases.event_seen(session=session, event_id=event_id):
                return BoltResponse(status=200, body="")
        response = next()
        with session_scope(deps.engine) as session:
            leases.record_event_seen(session=session, event_id=event_id, now=deps.clock())
        return response

    return once


def share_identity(app: App, identity: SlackResponse) -> None:
    """Give Bolt the bot's auth.test answer (SlackStartupCheck got it): an App built without token verification
    would otherwise call auth.test inside the first request it handles, before that request's ack."""
    for middleware in app._middleware_list:  # Bolt has no public setter; the list is built once, in App()
        if isinstance(middleware, SingleTeamAuthorization) and not middleware.auth_test_result:
            middleware.auth_test_result = identity
