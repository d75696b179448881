"""Building the Bolt app. No module-level App: `build_app(settings, deps)` makes a fresh one."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from slack_sdk import WebClient

from bot.config import Settings
from bot.deps import Deps
from bot.slack.error_handler import register_error_handler
from bot.slack.id_limits import register_id_limits
from bot.slack.listeners import register_all

__all__ = ["LISTENER_THREADS", "build_app"]

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
    process_before_response: bool = False,
) -> App:
    """An App with every listener and the error handler registered, talking to SLACK_API_URL via `client`.

    `process_before_response=True` makes a dispatch return only once its listener has finished, which
    in-process tests use to observe the outcome deterministically; servers keep the default.
    """
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret.reveal() or None,
        # Socket Mode requests arrive unsigned over the websocket; HTTP requests are always verified.
        request_verification_enabled=not settings.socket_mode,
        token_verification_enabled=token_verification,
        raise_error_for_unhandled_request=False,
        process_before_response=process_before_response,
        listener_executor=ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="listener"),
    )
    register_error_handler(app, settings)
    register_id_limits(app)
    register_all(app, deps)
    return app
