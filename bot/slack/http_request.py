"""Bolt's WSGI handler, reading a body once and a slash command's form as Slack meant it.

Bolt takes any form body in which the word "payload" appears for an interactive payload (`payload=<json>`,
slack_bolt/request/internals.py `parse_body`), and one without that field for an empty body. A slash
command whose text, channel or user name says "payload" (`/onboard status payload-labs`) then matches no
listener, Bolt answers 404, and Slack shows the person "dispatch_failed". Bolt is therefore never left to
read a body: bot/slack/envelope.py `parse_body` reads such a body as the plain form it is, before any listener
sees it; the signature is Bolt's to check on the raw bytes, as ever.

The HTTP entry (bot/runtime.py) has already read and checked the body and leaves that reading in the WSGI
environ under PARSED_BODY; Bolt gets it rather than decoding the form again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.context import BoltContext
from slack_bolt.request.internals import build_context

from bot.slack.envelope import parse_body

__all__ = ["PARSED_BODY", "FormReadingHandler", "read_request"]

# The WSGI environ key under which the HTTP entry leaves the body it read and checked.
PARSED_BODY = "onboarding_bot.parsed_body"


def read_request(raw_body: str, *, query: str, headers: dict[str, str | Sequence[str]],
                 parsed: dict[str, Any] | None = None) -> BoltRequest:
    """The BoltRequest for an HTTP body, read as bot/slack/envelope.py reads it (a form that merely mentions
    "payload" is that form).

    `parsed`: that reading, already made by the HTTP entry, used as it is; without it the body is read here.
    """
    # Built empty, then given the raw bytes (Bolt verifies the signature on them) and the one reading.
    request = BoltRequest(body="", query=query, headers=headers)
    request.raw_body = raw_body
    body = parsed if parsed is not None else parse_body(raw_body, request.content_type)
    request.body = body
    request.context = build_context(BoltContext(), body)
    return request


class FormReadingHandler(SlackRequestHandler):
    """SlackRequestHandler whose requests are read by `read_request`."""

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        return self.app.dispatch(read_request(request.get_body(), query=request.query_string,
                                              headers=request.get_headers(),
                                              parsed=request.environ.get(PARSED_BODY)))
