"""The in-memory workspace behind the fake Slack: one lock guards everything in it."""

from __future__ import annotations

import copy
import hmac
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict
from typing import TYPE_CHECKING

from devslack.models import (
    ChannelConfig,
    EphemeralMessage,
    FakeMessage,
    FakeSlackError,
    FakeView,
    Fault,
    IssuedTrigger,
    JsonDict,
    MessageVersion,
    RecordedCall,
    ResponsePost,
    ResponseTarget,
    make_user,
)
from devslack.pacing import TokenBuckets
from devslack.recording import CallRecorder

if TYPE_CHECKING:
    from devslack.socket_mode import SocketModeServer

# Slack documents that a trigger_id expires 3 s after it was issued and works once.
TRIGGER_LIFETIME_S = 3.0
# response_url limits are third-party documented (5 uses within 30 minutes).
RESPONSE_URL_MAX_USES = 5
RESPONSE_URL_LIFETIME_S = 30 * 60


class FakeSlackState(CallRecorder):
    """Thread-safe state of one fake workspace, shared by the HTTP server, the simulator and tests."""

    def __init__(
        self,
        *,
        team_id: str = "T0FAKE",
        team_domain: str = "fake-workspace",
        bot_user_id: str = "UBOT",
        bot_id: str = "B0FAKE",
        app_id: str = "A0FAKE",
        bot_name: str = "onboarding-bot",
        bot_token: str = "xoxb-fake-token",
        app_token: str = "xapp-1-fake-token",
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        strict_channels: bool = False,
        scopes: Iterable[str] = ("commands", "chat:write", "channels:history", "groups:history", "usergroups:read",
                                 "users:read"),
    ) -> None:
        self.lock = threading.RLock()
        self.team_id = team_id
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.bot_name = bot_name
        self.bot_token = bot_token
        self.app_token = app_token
        # Set by the Socket Mode stand-in when it runs; apps.connections.open hands out its URLs.
        self.socket_mode: SocketModeServer | None = None
        self.clock = clock
        self.sleep = sleep
        self.strict_channels = strict_channels
        self.scopes = list(scopes)
        self.latency_ms = 0
        self.users: dict[str, JsonDict] = {}
        self.usergroups: dict[str, list[str]] = {}
        self._channel_config: dict[str, ChannelConfig] = {}
        self._ts_micros = 0
        self._counters: Counter[str] = Counter()
        self._post_limiter: TokenBuckets | None = None
        self.add_user(bot_user_id, bot_name, is_bot=True)
        self._clear_activity()

    def _clear_activity(self) -> None:
        self.channels: dict[str, list[FakeMessage]] = {}
        self.ephemerals: list[EphemeralMessage] = []
        self.views: dict[str, FakeView] = {}
        self.home_views: dict[str, FakeView] = {}
        self.view_stacks: dict[str, list[str]] = {}
        self.response_posts: list[ResponsePost] = []
        self.response_targets: dict[str, ResponseTarget] = {}
        self.calls: list[RecordedCall] = []
        self.faults: list[Fault] = []
        self._triggers: dict[str, IssuedTrigger] = {}

    def reset(self) -> None:
        """Forget all activity (messages, views, calls, faults); keep identity, users, groups, channels."""
        with self.lock:
            self._clear_activity()
            self.latency_ms = 0
            self._post_limiter = None

    # -- identity, ids and time ---------------------------------------------------------------

    def now(self) -> float:
        """The injected clock's current time."""
        return self.clock()

    def next_ts(self) -> str:
        """A unique, increasing Slack ts ("1764000000.000100") derived from the clock."""
        with self.lock:
            micros = int(self.clock() * 1_000_000)
            self._ts_micros = max(micros, self._ts_micros + 1)
            return f"{self._ts_micros // 1_000_000}.{self._ts_micros % 1_000_000:06d}"

    def next_id(self, prefix: str, width: int = 4) -> str:
        """A unique id such as "V0001" (one counter per prefix)."""
        with self.lock:
            self._counters[prefix] += 1
            return f"{prefix}{self._counters[prefix]:0{width}d}"

    def check_token(self, token: str | None, *, app_level: bool = False) -> str | None:
        """The Slack error for this bearer token, or None when it is the bot's (or, `app_level`, the app's)."""
        if not token:
            return "not_authed"
        if app_level != token.startswith("xapp-"):
            return "not_allowed_token_type"
        expected = self.app_token if app_level else self.bot_token
        return None if hmac.compare_digest(token.encode(), expected.encode()) else "invalid_auth"

    # -- directory ----------------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        name: str,
        real_name: str | None = None,
        *,
        email: str | None = None,
        tz: str = "UTC",
        is_bot: bool = False,
        deleted: bool = False,
    ) -> JsonDict:
        """Add (or replace) a workspace member, shaped like users.info's `user`."""
        user = make_user(self.team_id, user_id, name, real_name, email=email, tz=tz, is_bot=is_bot, deleted=deleted)
        with self.lock:
            self.users[user_id] = user
        return user

    def add_usergroup(self, group_id: str, users: Iterable[str]) -> None:
        """Add (or replace) a user group with its members."""
        with self.lock:
            self.usergroups[group_id] = list(users)

    def add_channel(self, channel_id: str, *, name: str | None = None, is_member: bool = True) -> None:
        """Declare a channel; `is_member=False` makes chat.postMessage answer not_in_channel."""
        with self.lock:
            self._channel_config[channel_id] = ChannelConfig(name or channel_id.lower(), is_member)
            self.channels.setdefault(channel_id, [])

    def channel_name(self, channel_id: str) -> str:
        """The configured channel name (or the lower-cased id)."""
        with self.lock:
            config = self._channel_config.get(channel_id)
            return config.name if config else channel_id.lower()

    def user_name(self, user_id: str) -> str:
        """The member's name, or the id itself for unknown users."""
        with self.lock:
            user = self.users.get(user_id)
            return str(user["name"]) if user else user_id

    def resolve_channel(self, channel: str, *, for_post: bool = False, for_read: bool = False) -> str:
        """Map a channel argument (id, #name, or a user id for the app's DM) to a channel id.

        `for_post`/`for_read`: a declared channel the bot is not in answers not_in_channel, as Slack does.
        """
        with self.lock:
            if channel[:1] in ("U", "W") and channel in self.users:
                return "D" + channel[1:]
            if channel.startswith("#"):
                by_name = [cid for cid, c in self._channel_config.items() if c.name == channel[1:]]
                if not by_name:
                    raise FakeSlackError("channel_not_found")
                channel = by_name[0]
            config = self._channel_config.get(channel)
            if config is None and self.strict_channels and not channel.startswith("D"):
                raise FakeSlackError("channel_not_found")
            if (for_post or for_read) and config is not None and not config.is_member:
                raise FakeSlackError("not_in_channel")
            return channel

    # -- messages -----------------------------------------------------------------------------

    def post_message(
        self,
        channel: str,
        *,
        text: str,
        blocks: list[JsonDict] | None = None,
        thread_ts: str | None = None,
        metadata: JsonDict | None = None,
        user: str | None = None,
        reply_broadcast: bool = False,
    ) -> FakeMessage:
        """Store a new message (the bot's unless `user` is given) and return it."""
        with self.lock:
            author = user or self.bot_user_id
            if thread_ts is not None:
                parent = self.find_message(channel, thread_ts)
                if parent is None:
                    # Stricter than Slack on purpose: replying to an unknown parent is a bot bug.
                    raise FakeSlackError("thread_not_found")
                # A reply to a reply lands in the parent's thread, as in the Slack client.
                thread_ts = parent.thread_ts or parent.ts
            msg = FakeMessage(
                channel=channel,
                ts=self.next_ts(),
                text=text,
                blocks=copy.deepcopy(blocks or []),
                thread_ts=thread_ts,
                metadata=copy.deepcopy(metadata),
                user=author,
                bot_id=self.bot_id if author == self.bot_user_id else None,
                reply_broadcast=reply_broadcast,
            )
            self.channels.setdefault(channel, []).append(msg)
            return msg

    def post_user_message(self, channel: str, user: str, text: str, *, thread_ts: str | None = None) -> FakeMessage:
        """Store a message written by a person (the bot may not update it: cant_update_message)."""
        return self.post_message(channel, text=text, thread_ts=thread_ts, user=user)

    def update_message(
        self,
        channel: str,
        ts: str,
        *,
        text: str | None = None,
        blocks: list[JsonDict] | None = None,
        metadata: JsonDict | None = None,
        as_user: str | None = None,
    ) -> FakeMessage:
        """Replace a message's content, keeping the previous version in `edits`."""
        with self.lock:
            msg = self.find_message(channel, ts)
            if msg is None:
                raise FakeSlackError("message_not_found")
            if msg.user != (as_user or self.bot_user_id):
                raise FakeSlackError("cant_update_message")
            msg.edits.append(MessageVersion(msg.text, copy.deepcopy(msg.blocks), msg.metadata, self.now()))
            # Slack keeps fields that chat.update omits; an explicit empty blocks list removes them.
            if text is not None:
                msg.text = text
            if blocks is not None:
                msg.blocks = copy.deepcopy(blocks)
            if metadata is not None:
                msg.metadata = copy.deepcopy(metadata)
            return msg

    def delete_message(self, channel: str, ts: str) -> FakeMessage:
        """Remove one of the bot's messages from its channel."""
        with self.lock:
            msg = self.find_message(channel, ts)
            if msg is None:
                raise FakeSlackError("message_not_found")
            if msg.user != self.bot_user_id:
                raise FakeSlackError("cant_delete_message")
            msg.deleted = True
            self.channels[channel].remove(msg)
            return msg

    def post_ephemeral(
        self,
        channel: str,
        user: str,
        *,
        text: str,
        blocks: list[JsonDict] | None = None,
        thread_ts: str | None = None,
    ) -> EphemeralMessage:
        """Store a message only `user` sees."""
        with self.lock:
            eph = EphemeralMessage(channel, user, text, copy.deepcopy(blocks or []), thread_ts, self.next_ts())
            self.ephemerals.append(eph)
            return eph

    def find_message(self, channel: str, ts: str) -> FakeMessage | None:
        """The message with this ts in this channel, or None."""
        with self.lock:
            for msg in self.channels.get(channel, []):
                if msg.ts == ts:
                    return msg
            return None

    def messages(self, channel: str, *, top_level_only: bool = False) -> list[FakeMessage]:
        """Messages of a channel in posting order (replies included unless `top_level_only`)."""
        with self.lock:
            msgs = list(self.channels.get(channel, []))
        if top_level_only:
            msgs = [m for m in msgs if not m.is_reply or m.reply_broadcast]
        return msgs

    def thread(self, channel: str, ts: str) -> list[FakeMessage]:
        """The parent message followed by its replies in order ([] if the parent is unknown)."""
        with self.lock:
            parent = self.find_message(channel, ts)
            if parent is None:
                return []
            replies = [m for m in self.channels[channel] if m.thread_ts == ts and m.ts != ts]
            return [parent, *replies]

    def ephemerals_for(self, user: str) -> list[EphemeralMessage]:
        """Ephemeral messages shown to `user`, oldest first."""
        with self.lock:
            return [e for e in self.ephemerals if e.user == user]

    # -- views and triggers ------------------------------------------------------------------

    def issue_trigger(self, user: str) -> str:
        """A fresh trigger_id for `user`, valid once for TRIGGER_LIFETIME_S of the clock."""
        with self.lock:
            serial = self.next_id("", width=1)
            trigger_id = f"{serial}.{int(self.now())}.{secrets.token_hex(8)}"
            self._triggers[trigger_id] = IssuedTrigger(user, self.now())
            return trigger_id

    def consume_trigger(self, trigger_id: str | None) -> str:
        """Mark a trigger used and return its user, or raise the error Slack would give."""
        with self.lock:
            trigger = self._triggers.get(trigger_id or "")
            if trigger is None:
                raise FakeSlackError("invalid_trigger_id")
            if trigger.used:
                raise FakeSlackError("exchanged_trigger_id")
            if self.now() - trigger.issued_at > TRIGGER_LIFETIME_S:
                raise FakeSlackError("expired_trigger_id")
            trigger.used = True
            return trigger.user

    def find_view(self, view_id: str) -> FakeView | None:
        """The modal or Home view with this id, or None."""
        with self.lock:
            view = self.views.get(view_id)
            if view is not None:
                return view
            return next((v for v in self.home_views.values() if v.view_id == view_id), None)

    def last_view_for(self, user: str, *, open_only: bool = False) -> FakeView | None:
        """The modal most recently opened, pushed or updated for `user`."""
        with self.lock:
            for view in reversed(list(self.views.values())):
                if view.user == user and not (open_only and view.closed):
                    return view
            return None

    def touch_view(self, view: FakeView) -> None:
        """Move a view to the end of the recency order used by last_view_for."""
        with self.lock:
            self.views.pop(view.view_id, None)
            self.views[view.view_id] = view

    # -- response_url targets -----------------------------------------------------------------

    def register_response_url(self, token: str, *, user: str, channel: str, message_ts: str | None = None) -> None:
        """Remember what a response_url token answers (the simulator registers one per request)."""
        with self.lock:
            self.response_targets[token] = ResponseTarget(user, channel, message_ts, self.now())

    # -- inspection ---------------------------------------------------------------------------

    def dump(self) -> JsonDict:
        """A JSON-ready snapshot for GET /_fake/state."""
        with self.lock:
            return {
                "team_id": self.team_id,
                "bot_user_id": self.bot_user_id,
                "messages": {ch: [m.to_dump() for m in msgs] for ch, msgs in self.channels.items()},
                "ephemerals": [asdict(e) for e in self.ephemerals],
                "views": [v.to_dump() for v in self.views.values()],
                "home_views": {user: v.to_dump() for user, v in self.home_views.items()},
                "response_posts": [asdict(p) for p in self.response_posts],
                "calls": dict(Counter(c.method for c in self.calls)),
                "faults": [asdict(f) for f in self.faults if f.count > 0],
            }
