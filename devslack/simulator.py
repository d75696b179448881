"""A Slack user stand-in: builds the requests Slack sends to a bot, signed exactly as Slack signs them."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict, Unpack
from urllib.parse import parse_qsl, urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

from devslack import loopback, views_api
from devslack.blockkit import find_element, selection
from devslack.models import FakeMessage, FakeView, JsonDict
from devslack.state import FakeSlackState

if TYPE_CHECKING:
    from slack_bolt import App, BoltResponse

    from devslack.server import RunningFakeSlack
    from devslack.socket_mode import Ack, SocketModeServer

# Which Socket Mode envelope carries each kind of request.
SOCKET_MODE_ENVELOPES = {"slash_command": "slash_commands", "block_actions": "interactive",
                         "view_submission": "interactive", "view_closed": "interactive",
                         "event_callback": "events_api"}
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
# Slack's legacy verification token; Bolt ignores it but real payloads carry one.
VERIFICATION_TOKEN = "fake-verification-token"
# Nothing listens on port 9 of loopback: a bot answering via response_url fails fast, never leaves the host.
NO_RESPONSE_BASE_URL = "http://127.0.0.1:9"


class SignOptions(TypedDict, total=False):
    """Keyword options every builder takes, for security tests."""

    sign: bool
    signature_override: str | None
    timestamp_override: int | str | None


@dataclass(frozen=True)
class SignedRequest:
    """A request as Slack would POST it: the raw body and its headers; `kind` and `view_id` help replay it."""

    body: str
    headers: dict[str, str]
    kind: str = ""
    view_id: str | None = None

    def payload(self) -> JsonDict:
        """The decoded body: the interaction payload, the command's fields or the event JSON."""
        if self.headers.get("Content-Type") == JSON:
            data: JsonDict = json.loads(self.body)
            return data
        fields = dict(parse_qsl(self.body, keep_blank_values=True))
        if "payload" in fields:
            payload: JsonDict = json.loads(fields["payload"])
            return payload
        return dict(fields)


class SlackUserSimulator:
    """Builds signed slash commands, clicks, view submissions and events for the bot's /slack/events."""

    def __init__(
        self,
        state: FakeSlackState,
        *,
        signing_secret: str,
        events_url: str | None = None,
        response_base_url: str | None = None,
        clock: Callable[[], float] = time.time,
        timeout: float = 10.0,
    ) -> None:
        self.state = state
        self.events_url = events_url
        self.response_base_url = (response_base_url or NO_RESPONSE_BASE_URL).rstrip("/")
        # The bot checks timestamps against its own clock, so this one defaults to real time.
        self.clock = clock
        self.timeout = timeout
        self._verifier = SignatureVerifier(signing_secret)

    @classmethod
    def for_server(cls, running: RunningFakeSlack, *, signing_secret: str, events_url: str | None = None,
                   clock: Callable[[], float] = time.time) -> SlackUserSimulator:
        """A simulator whose response_urls point at this running fake."""
        return cls(running.state, signing_secret=signing_secret, events_url=events_url,
                   response_base_url=running.base_url, clock=clock)

    # -- signing ---------------------------------------------------------------------------------

    def signed_headers(
        self,
        body: str,
        content_type: str,
        *,
        sign: bool = True,
        signature_override: str | None = None,
        timestamp_override: int | str | None = None,
    ) -> dict[str, str]:
        """Slack's headers for `body`; the overrides build unsigned, mis-signed or replayed requests."""
        timestamp = str(timestamp_override if timestamp_override is not None else int(self.clock()))
        headers = {"Content-Type": content_type, "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)"}
        if not sign:
            return headers
        signature = self._verifier.generate_signature(timestamp=timestamp, body=body)
        headers["X-Slack-Request-Timestamp"] = timestamp
        headers["X-Slack-Signature"] = signature_override if signature_override is not None else str(signature)
        return headers

    def _finish(self, body: str, content_type: str, kind: str, sign_opts: SignOptions, **extra: Any) -> SignedRequest:
        return SignedRequest(body, self.signed_headers(body, content_type, **sign_opts), kind, **extra)

    def _interaction(self, payload: JsonDict, kind: str, sign_opts: SignOptions, **extra: Any) -> SignedRequest:
        body = urlencode({"payload": json.dumps(payload)})
        return self._finish(body, FORM, kind, sign_opts, **extra)

    # -- shared payload parts -------------------------------------------------------------------

    def _user(self, user_id: str) -> JsonDict:
        name = self.state.user_name(user_id)
        return {"id": user_id, "username": name, "name": name, "team_id": self.state.team_id}

    def _team(self) -> JsonDict:
        return {"id": self.state.team_id, "domain": self.state.team_domain}

    def _response_url(self, user_id: str, channel: str, message_ts: str | None = None) -> str:
        token = secrets.token_hex(12)
        self.state.register_response_url(token, user=user_id, channel=channel, message_ts=message_ts)
        return f"{self.response_base_url}/_fake/response/{token}"

    def _base(self, kind: str, user_id: str) -> JsonDict:
        return {
            "type": kind,
            "user": self._user(user_id),
            "api_app_id": self.state.app_id,
            "token": VERIFICATION_TOKEN,
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
            "trigger_id": self.state.issue_trigger(user_id),
        }

    def _view_payload(self, view: FakeView, values: Mapping[str, Any] | None) -> JsonDict:
        payload = view.to_api(team_id=self.state.team_id, bot_id=self.state.bot_id, app_id=self.state.app_id)
        payload["state"] = {"values": self.state_values(view, values or {})}
        return payload

    def _open_view(self, user_id: str, view_id: str) -> FakeView:
        view = self.state.find_view(view_id)
        if view is None or view.closed:
            raise LookupError(f"view {view_id} is not open")
        if view.user != user_id:
            raise LookupError(f"view {view_id} belongs to {view.user}, not {user_id}")
        return view

    @staticmethod
    def _action(element: JsonDict, block_id: str, value: Any, action_ts: str) -> JsonDict:
        action: JsonDict = {
            "type": element.get("type"),
            "action_id": element.get("action_id"),
            "block_id": block_id,
            "action_ts": action_ts,
            **selection(element, value),
        }
        if "text" in element:
            action["text"] = element["text"]
        return action

    # -- builders -------------------------------------------------------------------------------

    def slash_command(
        self,
        user_id: str,
        command: str = "/onboard",
        text: str = "",
        channel_id: str = "C_ONBOARD",
        **sign_opts: Unpack[SignOptions],
    ) -> SignedRequest:
        """A slash command with a fresh trigger_id and a loopback response_url."""
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.state.team_id,
            "team_domain": self.state.team_domain,
            "channel_id": channel_id,
            "channel_name": self.state.channel_name(channel_id),
            "user_id": user_id,
            "user_name": self.state.user_name(user_id),
            "command": command,
            "text": text,
            "api_app_id": self.state.app_id,
            "is_enterprise_install": "false",
            "response_url": self._response_url(user_id, channel_id),
            "trigger_id": self.state.issue_trigger(user_id),
        }
        return self._finish(urlencode(fields), FORM, "slash_command", sign_opts)

    def click(
        self,
        user_id: str,
        *,
        message: FakeMessage,
        action_id: str,
        value: Any = None,
        block_id: str | None = None,
        allow_missing: bool = False,
        **sign_opts: Unpack[SignOptions],
    ) -> SignedRequest:
        """block_actions for an element of a posted message (it must be there unless `allow_missing`)."""
        found = find_element(message.blocks, action_id)
        if found is None and not allow_missing:
            raise LookupError(f"no element {action_id!r} in message {message.ts}")
        found_block_id, element = found or ("", {"type": "button", "action_id": action_id, "value": value})
        payload = self._base("block_actions", user_id)
        container: JsonDict = {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": message.channel,
            "is_ephemeral": False,
        }
        if message.thread_ts:
            container["thread_ts"] = message.thread_ts
        payload.update(
            {
                "container": container,
                "channel": {"id": message.channel, "name": self.state.channel_name(message.channel)},
                "message": message.to_api(),
                "state": {"values": {}},
                "response_url": self._response_url(user_id, message.channel, message.ts),
                "actions": [self._action(element, block_id or found_block_id, value, self.state.next_ts())],
            }
        )
        return self._interaction(payload, "block_actions", sign_opts)

    def click_in_view(
        self,
        user_id: str,
        *,
        view_id: str,
        action_id: str,
        value: Any = None,
        values: Mapping[str, Any] | None = None,
        **sign_opts: Unpack[SignOptions],
    ) -> SignedRequest:
        """block_actions for an element inside an open modal or Home tab; `values` fills view.state."""
        view = self._open_view(user_id, view_id)
        found = find_element(list(view.view.get("blocks") or []), action_id)
        if found is None:
            raise LookupError(f"no element {action_id!r} in view {view_id}")
        block_id, element = found
        payload = self._base("block_actions", user_id)
        payload.update(
            {
                "container": {"type": "view", "view_id": view.view_id},
                "view": self._view_payload(view, values),
                "actions": [self._action(element, block_id, value, self.state.next_ts())],
            }
        )
        return self._interaction(payload, "block_actions", sign_opts, view_id=view.view_id)

    def click_home(
        self, user_id: str, action_id: str, value: Any = None, **sign_opts: Unpack[SignOptions]
    ) -> SignedRequest:
        """block_actions for an element of the user's published Home tab."""
        home = self.state.home_views.get(user_id)
        if home is None:
            raise LookupError(f"no Home tab published for {user_id}")
        return self.click_in_view(user_id, view_id=home.view_id, action_id=action_id, value=value, **sign_opts)

    def state_values(self, view: FakeView, values: Mapping[str, Any]) -> JsonDict:
        """view.state.values for a modal: each input block's element encoded from values[action_id|block_id]."""
        out: JsonDict = {}
        used: set[str] = set()
        for block in view.view.get("blocks") or []:
            element = block.get("element")
            if block.get("type") != "input" or not isinstance(element, dict):
                continue
            block_id = str(block.get("block_id", ""))
            action_id = str(element.get("action_id", ""))
            key = action_id if action_id in values else block_id
            used.add(key)
            entry = {"type": element.get("type"), **selection(element, values.get(key))}
            out.setdefault(block_id, {})[action_id] = entry
        unknown = set(values) - used
        if unknown:
            # A typo in a test would otherwise silently submit an empty field.
            raise KeyError(f"no input block/action {sorted(unknown)} in view {view.view_id}")
        return out

    def submit_view(
        self, user_id: str, *, view_id: str, values: Mapping[str, Any], **sign_opts: Unpack[SignOptions]
    ) -> SignedRequest:
        """A view_submission of an open modal with the given input values."""
        view = self._open_view(user_id, view_id)
        payload = self._base("view_submission", user_id)
        payload.update({"view": self._view_payload(view, values), "response_urls": []})
        return self._interaction(payload, "view_submission", sign_opts, view_id=view.view_id)

    def close_view(self, user_id: str, *, view_id: str, **sign_opts: Unpack[SignOptions]) -> SignedRequest | None:
        """The user cancels a modal: it closes; the view_closed request exists only with notify_on_close."""
        view = self._open_view(user_id, view_id)
        views_api.close_view(self.state, view_id)
        if not view.view.get("notify_on_close"):
            return None
        payload = self._base("view_closed", user_id)
        payload.pop("trigger_id")
        payload.update({"view": self._view_payload(view, None), "is_cleared": False})
        return self._interaction(payload, "view_closed", sign_opts, view_id=view.view_id)

    def event(
        self,
        event: Mapping[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        **sign_opts: Unpack[SignOptions],
    ) -> SignedRequest:
        """An Events API event_callback; `retry_num` adds Slack's retry headers."""
        body = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.state.team_id,
            "api_app_id": self.state.app_id,
            "event": {"event_ts": self.state.next_ts(), **event},
            "type": "event_callback",
            "event_id": event_id or self.state.next_id("Ev", 8),
            "event_time": int(self.clock()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.state.team_id,
                    "user_id": self.state.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        raw = json.dumps(body)
        headers = self.signed_headers(raw, JSON, **sign_opts)
        if retry_num is not None:
            headers.update({"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"})
        return SignedRequest(raw, headers, "event_callback")

    def url_verification(self, challenge: str = "fake-challenge", **sign_opts: Unpack[SignOptions]) -> SignedRequest:
        """The url_verification handshake Slack sends when the request URL is configured."""
        body = json.dumps({"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"})
        return self._finish(body, JSON, "url_verification", sign_opts)

    # -- delivery --------------------------------------------------------------------------------

    def apply_response(self, req: SignedRequest, status: int, body: str) -> FakeView | None:
        """Let a view_submission answer (close, errors, update, push, clear) act on the fake's views."""
        if req.kind != "view_submission" or req.view_id is None or status != 200:
            return None
        return views_api.apply_view_response(self.state, req.view_id, body)

    def send(self, req: SignedRequest) -> httpx.Response:
        """POST the request to `events_url` over HTTP, as Slack would, and apply view answers."""
        if self.events_url is None:
            raise RuntimeError("SlackUserSimulator.send needs events_url")
        response = loopback.post(self.events_url, content=req.body.encode(), headers=req.headers,
                                 timeout=self.timeout)
        self.apply_response(req, response.status_code, response.text)
        return response

    def deliver(self, hub: SocketModeServer, req: SignedRequest, *, timeout: float = 10.0) -> Ack:
        """Deliver the request over Socket Mode as an envelope, wait for the ack, and apply view answers."""
        envelope_type = SOCKET_MODE_ENVELOPES.get(req.kind)
        if envelope_type is None:
            raise ValueError(f"{req.kind or 'this request'} is not delivered over Socket Mode")
        retry = req.headers.get("X-Slack-Retry-Num")
        envelope = hub.deliver(envelope_type, req.payload(),
                               accepts_response_payload=req.kind in ("slash_command", "view_submission"),
                               retry_attempt=int(retry or 0), retry_reason="http_timeout" if retry else "",
                               wait=timeout)
        ack = hub.wait_for_ack(envelope, timeout)
        self.apply_response(req, 200, json.dumps(ack.payload or {}))
        return ack

    def dispatch(self, app: App, req: SignedRequest) -> BoltResponse:
        """Hand the request to a Bolt App in-process (signature checked as over HTTP)."""
        from slack_bolt.request import BoltRequest

        headers: dict[str, str | Sequence[str]] = dict(req.headers)
        response = app.dispatch(BoltRequest(body=req.body, headers=headers))
        self.apply_response(req, response.status, response.body)
        return response
