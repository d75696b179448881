"""Bolt's WSGI handler, reading a slash command's form body as Slack meant it.

Bolt takes any form body in which the word "payload" appears for an interactive payload (`payload=<json>`,
slack_bolt/request/internals.py `parse_body`), and one without that field for an empty body. A slash
command whose text, channel or user name says "payload" (`/onboard status payload-labs`) then matches no
listener, Bolt answers 404, and Slack shows the person "dispatch_failed". Such a body is read here as the
plain form it is, before any listener sees it; the signature is Bolt's to check on the raw bytes, as ever.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import parse_qsl

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.context import BoltContext
from slack_bolt.request.internals import build_context

__all__ = ["FormReadingHandler", "read_request"]


def read_request(raw_body: str, *, query: str, headers: dict[str, str | Sequence[str]]) -> BoltRequest:
    """The BoltRequest for an HTTP body, with a form that merely mentions "payload" read as that form."""
    request = BoltRequest(body=raw_body, query=query, headers=headers)
    if request.body or "payload" not in raw_body:  # read as it came (JSON never reads as empty here)
        return request
    fields = dict(parse_qsl(raw_body, keep_blank_values=True))
    if "payload" not in fields:  # a real interactive payload field, even an empty one, stays Bolt's reading
        request.body = fields
        request.context = build_context(BoltContext(), fields)
    return request


class FormReadingHandler(SlackRequestHandler):
    """SlackRequestHandler whose requests are read by `read_request`."""

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        return self.app.dispatch(read_request(request.get_body(), query=request.query_string,
                                              headers=request.get_headers()))
