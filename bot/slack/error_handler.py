"""The one error handler: domain and Sinch errors become an ephemeral note; anything else is logged."""

from __future__ import annotations

import functools
import inspect
import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from slack_bolt import Ack, App, BoltResponse, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.slack.blocks.refusals import form_did_not_open, incomplete_request, unexpected_error
from bot.slack.mrkdwn import escape
from bot.slack.request_metrics import ERROR, REFUSED, note_outcome
from bot.slack.response_url import answer_by_response_url
from bot.workflow import OnboardingError
from sinch import SinchError

__all__ = [
    "IncompleteRequest", "register_error_handler", "report", "reports_errors", "user_message",
]

logger = logging.getLogger(__name__)
L = TypeVar("L", bound=Callable[..., Any])
# views.open errors that mean the trigger id Slack sent (or a signed client forged) is unusable, not a bug.
_TRIGGER_ERRORS = frozenset({"expired_trigger_id", "invalid_trigger_id", "trigger_exchanged", "invalid_arguments"})


class IncompleteRequest(Exception):
    """A signed request lacks a field the listener needs (Slack always sends it; a careless client may not)."""

    def __init__(self, missing: str) -> None:
        super().__init__(missing)
        self.missing = missing


def user_message(error: BaseException) -> str | None:
    """The text a user may see for an expected error, or None for a bug."""
    if isinstance(error, OnboardingError):
        return str(error)
    if isinstance(error, SinchError):
        return f"Sinch: {error}"
    if isinstance(error, IncompleteRequest):
        return incomplete_request(error.missing)
    if isinstance(error, SlackApiError) and error.response.get("error") in _TRIGGER_ERRORS:
        return form_did_not_open(str(error.response.get("error")))
    return None


def _where(body: Mapping[str, Any], settings: Settings) -> tuple[str | None, str | None, str | None]:
    user = body.get("user")
    user_id = user.get("id") if isinstance(user, Mapping) else body.get("user_id")
    channel = body.get("channel")
    channel_id = channel.get("id") if isinstance(channel, Mapping) else body.get("channel_id")
    message = body.get("message")
    thread_ts = None
    if isinstance(message, Mapping):
        thread_ts = message.get("thread_ts") or message.get("ts")
    return (str(user_id) if user_id else None, str(channel_id or settings.onboarding_channel),
            str(thread_ts) if thread_ts else None)


def report(error: Exception, body: Mapping[str, Any], client: WebClient, settings: Settings,
           respond: Respond | None = None) -> None:
    """Tell whoever triggered `error`: an expected refusal as it is, anything else as a logged reference."""
    text = user_message(error)
    if text is None:
        reference = uuid.uuid4().hex[:8]
        logger.error("unexpected error (ref %s) handling %s", reference, body.get("type"), exc_info=error)
        note_outcome(ERROR)
        text = unexpected_error(reference)
    else:
        logger.info("refused %s: %s", body.get("type"), text)
        note_outcome(REFUSED)
    # Slash commands answer through response_url: it works even where the bot is not a member.
    if "command" in body and respond is not None and answer_by_response_url(respond, text=escape(text)):
        return
    user, channel, thread_ts = _where(body, settings)
    if not user or not channel:
        return
    try:
        client.chat_postEphemeral(channel=channel, user=user, text=escape(text), thread_ts=thread_ts)
    except SlackApiError as exc:
        logger.warning("could not tell %s about an error: %s", user, exc.response.get("error"))


def register_error_handler(app: App, settings: Settings) -> None:
    @app.error
    def handle(error: Exception, body: dict[str, Any], client: WebClient, response: BoltResponse | None,
               respond: Respond | None) -> None:
        if user_message(error) is not None and response is not None:
            # An expected refusal, explained to the user below: not a server error, so no error banner.
            response.status = 200
            response.body = ""
        report(error, body, client, settings, respond)


def reports_errors(settings: Settings) -> Callable[[L], L]:
    """Wrap a listener so that no exception escapes into Bolt: it is reported like `@app.error` would.

    Why not leave it to `@app.error`: when Bolt runs a listener on a worker thread (process_before_response=False,
    how this bot served HTTP before it answered only after the commit) and the listener raises after `ack()`,
    Bolt resets the acknowledgement to None after calling the error handler (slack_bolt/listener/thread_runner.py).
    Unless the request thread happened to see the ack in between, it waits out Slack's 3 s and answers 404
    "unhandled request": every refused click
    ("only approvers can approve", the loser of a double click) became an error in Slack. Caught here,
    the ack stands. A listener that fails before acknowledging is acknowledged here (a modal closes), and
    the person gets the explanation as an ephemeral message.

    The listener must take `ack`, `client` and `body` (or `command`); `respond` is used when present.
    """
    def decorate(listener: L) -> L:
        names = set(inspect.getfullargspec(listener).args)
        if not {"ack", "client"} <= names or not names & {"body", "command"}:
            raise TypeError(f"{listener.__name__} must take ack, client and body (or command) to report errors")

        @functools.wraps(listener)
        def run(**kwargs: Any) -> Any:
            try:
                return listener(**kwargs)
            except Exception as error:
                ack: Ack = kwargs["ack"]
                if ack.response is None:
                    ack()
                body = kwargs.get("body") or kwargs.get("command") or {}
                report(error, body, kwargs["client"], settings, kwargs.get("respond"))
                return None

        return cast(L, run)

    return decorate
