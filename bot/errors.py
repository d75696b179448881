"""The one error handler: domain and Sinch errors become an ephemeral note; anything else is logged."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from slack_bolt import App, BoltResponse, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.text import escape
from bot.workflow import OnboardingError
from sinch import SinchError

__all__ = ["register_error_handler", "user_message"]

logger = logging.getLogger(__name__)


def user_message(error: BaseException) -> str | None:
    """The text a user may see for an expected error, or None for a bug."""
    if isinstance(error, OnboardingError):
        return str(error)
    if isinstance(error, SinchError):
        return f"Sinch: {error}"
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


def register_error_handler(app: App, settings: Settings) -> None:
    @app.error
    def handle(error: Exception, body: dict[str, Any], client: WebClient, response: BoltResponse | None,
               respond: Respond | None) -> None:
        text = user_message(error)
        if text is not None and response is not None:
            # An expected refusal, explained to the user below: not a server error, so no error banner.
            response.status = 200
            response.body = ""
        if text is None:
            reference = uuid.uuid4().hex[:8]
            logger.error("unexpected error (ref %s) handling %s", reference, body.get("type"), exc_info=error)
            text = f"Something went wrong on our side (ref {reference}); it has been logged. Please try again."
        else:
            logger.info("refused %s: %s", body.get("type"), text)
        if "command" in body and respond is not None:
            # Slash commands answer through response_url: it works even where the bot is not a member.
            respond(text=escape(text), response_type="ephemeral")
            return
        user, channel, thread_ts = _where(body, settings)
        if not user or not channel:
            return
        try:
            client.chat_postEphemeral(channel=channel, user=user, text=escape(text), thread_ts=thread_ts)
        except SlackApiError as exc:
            logger.warning("could not tell %s about an error: %s", user, exc.response.get("error"))
