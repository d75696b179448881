"""Bolt's WSGI handler, reading a body once and a slash command's form as Slack meant it.

Bolt takes any form body in which the word "payload" appears for an interactive payload (`payload=<json>`,
slack_bolt/request/internals.py `parse_body`), and one without that field for an empty body. A slash
command whose text, channel or user name says "payload" (`/onboard status payload-labs`) then matches no
listener, Bolt answers 404, and Slack shows the person "dispatch_failed". Such a body is read here as the
plain form it is, before any listener sees it; the signature is Bolt's to check on the raw bytes, as ever.

The HTTP entry (bot/runtime.py) has already read and checked the body (bot/slack/envelope.py) and leaves
that reading in the WSGI environ under PARSED_BODY; Bolt gets it rather than decoding the form again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.context import BoltContext
from slack_bolt.request.internals import build_context

from bot.slack.envelope import parse_form

__all__ = ["PARSED_BODY", "FormReadingHandler", "read_request"]

# The WSGI environ key under which the HTTP entry leaves the body it read and checked.
PARSED_BODY = "onboarding_bot.parsed_body"


def read_request(raw_body: str, *, query: str, headers: dict[str, str | Sequence[str]],
                 parsed: dict[str, Any] | None = None) -> BoltRequest:
    """The BoltRequest for an HTTP body, with a form that merely mentions "payload" read as that form.

    `parsed`: the body already read from `raw_body` the same way (bot/slack/envelope.py), used as it is.
    """
    if parsed is not None:
        # Built empty, then given the raw bytes (Bolt verifies the signature on them) and the reading.
        request = BoltRequest(body="", query=query, headers=headers)
        request.raw_body = raw_body
        return _with_body(request, parsed)
    request = BoltRequest(body=raw_body, query=query, headers=headers)
    if request.body or "payload" not in raw_body:  # read as it came (JSON never reads as empty here)
        return request
    fields = parse_form(raw_body)
    # A real interactive payload field, even an empty one, stays Bolt's reading.
    return request if "payload" in fields else _with_body(request, fields)


def _with_body(request: BoltRequest, body: dict[str, Any]) -> BoltRequest:
    request.body = body
    request.context = build_context(BoltContext(), body)
    return request


class FormReadingHandler(SlackRequestHandler):
    """SlackRequestHandler whose requests are read by `read_request`."""

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        return self.app.dispatch(read_request(request.get_body(), query=request.query_string,
                                              headers=request.get_headers(),
                                              parsed=request.environ.get(PARSED_BODY)))
