"""Answers through a request's response_url, as the listener's thread posts them before Slack gets its ack."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Respond
from slack_sdk.errors import SlackClientError
from slack_sdk.webhook import WebhookClient

__all__ = ["RESPONSE_URL_TIMEOUT_S", "answer_by_response_url"]

logger = logging.getLogger(__name__)
# Well inside Slack's 3 s for the ack, which waits for the answer.
RESPONSE_URL_TIMEOUT_S = 2


def answer_by_response_url(respond: Respond, **message: Any) -> bool:
    """Post an ephemeral answer to the request's response_url; False (logged, never raised) if that fails.

    A signed request may still carry no response_url, or one that is not a URL: then the reporter must
    not become a second error. The caller decides what else to do (the error handler and the commands fall
    back to an ephemeral message through the Web API).

    Posted with one try and a short timeout, not through `respond` itself: the request thread waits for this
    before Slack gets its ack, and Bolt's `respond` retries a refused connection after a back-off of 0.5 s or
    more, and waits up to 30 s for an answer. A failure falls back at once instead.
    """
    if respond.response_url is None:
        logger.warning("could not answer through response_url: the request has none")
        return False
    webhook = WebhookClient(url=respond.response_url, proxy=respond.proxy, ssl=respond.ssl,
                            timeout=RESPONSE_URL_TIMEOUT_S, retry_handlers=[])
    try:
        answer = webhook.send(response_type="ephemeral", **message)
    except (ValueError, OSError, SlackClientError) as exc:  # a junk URL, an unreachable host
        logger.warning("could not answer through response_url: %s", type(exc).__name__)
        return False
    if answer.status_code >= 400:  # e.g. an expired or unknown response_url
        logger.warning("could not answer through response_url: HTTP %s", answer.status_code)
        return False
    return True
