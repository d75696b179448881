"""Plain records kept by the fake Slack: messages, views, recorded calls, faults."""

from __future__ import annotations

import copy
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

JsonDict = dict[str, Any]


def make_user(
    team_id: str,
    user_id: str,
    name: str,
    real_name: str | None = None,
    *,
    email: str | None = None,
    tz: str = "UTC",
    is_bot: bool = False,
    deleted: bool = False,
) -> JsonDict:
    """A member object shaped like users.info's `user` (tz_offset computed for today)."""
    real = real_name or name
    profile: JsonDict = {"real_name": real, "display_name": name, "real_name_normalized": real}
    if email:
        profile["email"] = email
    try:
        offset = datetime.now(ZoneInfo(tz)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        offset = None
    return {
        "id": user_id,
        "team_id": team_id,
        "name": name,
        "real_name": real,
        "deleted": deleted,
        "is_bot": is_bot,
        "tz": tz,
        "tz_offset": int(offset.total_seconds()) if offset else 0,
        "profile": profile,
    }


class FakeSlackError(Exception):
    """A Slack Web API error code (`{"ok": false, "error": code}`) raised inside the fake."""

    def __init__(
        self,
        code: str,
        *,
        messages: list[str] | None = None,
        status: int = 200,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(code)
        self.code = code
        # Slack explains invalid_blocks / invalid_arguments in response_metadata.messages.
        self.messages = messages or []
        # Slack answers API errors with HTTP 200; only rate limits (429 + Retry-After) differ.
        self.status = status
        self.retry_after = retry_after


class ManualClock:
    """A clock that only moves when told to; pass it as `clock=` to keep tests sleep-free."""

    def __init__(self, start: float = 1_764_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by `seconds`."""
        with self._lock:
            self._now += seconds

    def sleep(self, seconds: float) -> None:
        """Stand-in for time.sleep that advances the clock instead of blocking."""
        self.advance(seconds)


@dataclass
class MessageVersion:
    """A previous version of a message, kept when chat.update replaces it."""

    text: str
    blocks: list[JsonDict]
    metadata: JsonDict | None
    replaced_at: float


@dataclass
class FakeMessage:
    """A message in a channel (a thread parent, a reply or a plain message)."""

    channel: str
    ts: str
    text: str
    blocks: list[JsonDict] = field(default_factory=list)
    thread_ts: str | None = None
    metadata: JsonDict | None = None
    user: str = ""
    bot_id: str | None = None
    reply_broadcast: bool = False
    edits: list[MessageVersion] = field(default_factory=list)
    deleted: bool = False

    @property
    def is_reply(self) -> bool:
        """True for a thread reply (thread_ts set and different from ts)."""
        return self.thread_ts is not None and self.thread_ts != self.ts

    def to_dump(self) -> JsonDict:
        """A JSON-ready record for GET /_fake/state (edits reduced to a count)."""
        out = asdict(self)
        out["edit_count"] = len(out.pop("edits"))
        return out

    def to_api(self, *, include_metadata: bool = True) -> JsonDict:
        """The message as conversations.history / chat.postMessage return it."""
        out: JsonDict = {"type": "message", "user": self.user, "text": self.text, "ts": self.ts}
        if self.bot_id:
            out["bot_id"] = self.bot_id
        if self.blocks:
            out["blocks"] = copy.deepcopy(self.blocks)
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.edits:
            out["edited"] = {"user": self.user, "ts": self.ts}
        if include_metadata and self.metadata is not None:
            out["metadata"] = {
                "event_type": self.metadata.get("event_type"),
                "event_payload": copy.deepcopy(self.metadata.get("event_payload", {})),
            }
        return out


@dataclass
class EphemeralMessage:
    """A message only `user` can see (chat.postEphemeral or a response_url answer)."""

    channel: str
    user: str
    text: str
    blocks: list[JsonDict] = field(default_factory=list)
    thread_ts: str | None = None
    ts: str = ""


@dataclass
class FakeView:
    """A modal or Home tab as the fake holds it; `view` is the payload the bot sent."""

    view_id: str
    hash: str
    user: str
    view: JsonDict
    type: str = "modal"
    trigger_id: str | None = None
    root_view_id: str | None = None
    previous_view_id: str | None = None
    external_id: str | None = None
    closed: bool = False
    # The `errors` map of the last `response_action: errors` answer to a submission.
    errors: dict[str, str] | None = None
    versions: list[JsonDict] = field(default_factory=list)

    @property
    def callback_id(self) -> str | None:
        """The view's callback_id, if any."""
        value = self.view.get("callback_id")
        return str(value) if value is not None else None

    @property
    def private_metadata(self) -> str:
        """The view's private_metadata ('' when absent)."""
        return str(self.view.get("private_metadata", ""))

    def to_dump(self) -> JsonDict:
        """A JSON-ready record for GET /_fake/state (without the version history)."""
        out = asdict(self)
        del out["versions"]
        return out

    def to_api(self, *, team_id: str, bot_id: str, app_id: str) -> JsonDict:
        """The view object as Slack returns it (views.* responses, interaction payloads)."""
        out = copy.deepcopy(self.view)
        out.setdefault("blocks", [])
        out.setdefault("private_metadata", "")
        out.setdefault("callback_id", "")
        out.update(
            {
                "id": self.view_id,
                "team_id": team_id,
                "type": self.type,
                "state": {"values": {}},
                "hash": self.hash,
                "root_view_id": self.root_view_id,
                "previous_view_id": self.previous_view_id,
                "app_id": app_id,
                "bot_id": bot_id,
                "external_id": self.external_id or "",
            }
        )
        return out


@dataclass
class RecordedCall:
    """One Web API request as received, with the token removed, and how it was answered."""

    method: str
    params: JsonDict
    time: float
    status: int = 200
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the call succeeded."""
        return self.status == 200 and self.error is None


@dataclass
class ResponsePost:
    """A body posted to a fake `response_url`."""

    token: str
    body: JsonDict
    time: float
    status: int = 200


@dataclass
class Fault:
    """An injected failure for the next `count` calls to `method` ('*' matches any method)."""

    method: str
    status: int = 429
    retry_after: int | None = 1
    error: str = "ratelimited"
    count: int = 1
    latency_ms: int = 0


@dataclass
class IssuedTrigger:
    """A trigger_id handed to a user, valid once and briefly."""

    user: str
    issued_at: float
    used: bool = False


@dataclass
class ResponseTarget:
    """Where a response_url answer lands: the user, channel and (for clicks) the message."""

    user: str
    channel: str
    message_ts: str | None
    issued_at: float
    uses: int = 0


@dataclass
class ChannelConfig:
    """A declared channel: its name and whether the bot is a member."""

    name: str
    is_member: bool


@dataclass
class ApiResult:
    """What the fake answers to one Web API call."""

    body: JsonDict
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def error(self) -> str | None:
        """The Slack error code, if the call failed."""
        if self.body.get("ok"):
            return None
        return str(self.body.get("error", "unknown_error"))
