"""Plain-text transcripts of fake Slack threads, for terminals (demo) and failing-test output."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping

from devslack.blockkit import block_lines
from devslack.models import FakeMessage
from devslack.state import FakeSlackState

INDENT = "    "
_MENTION = re.compile(r"<@([UW][A-Z0-9_]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#([CGD][A-Z0-9_]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(\w+)(?:\^[^|>]*)?(?:\|([^>]*))?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)\|([^>]+)>")


def humanize(text: str, names: Mapping[str, str]) -> str:
    """Slack markup made readable: <@U1> -> @alice, <!here> -> @here, <url|label> -> label (url)."""
    text = _MENTION.sub(lambda m: "@" + names.get(m.group(1), m.group(1)), text)
    text = _CHANNEL.sub(lambda m: "#" + (m.group(2) or m.group(1)), text)
    # <!date^…|fallback> and <!subteam^S1|@team> read best as their fallback label.
    text = _SPECIAL.sub(lambda m: m.group(2) or "@" + m.group(1), text)
    return _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)


def _clock_time(ts: str) -> str:
    # UTC keeps transcripts identical on every machine; the demo only needs relative order.
    return time.strftime("%H:%M:%S", time.gmtime(float(ts)))


def render_message(msg: FakeMessage, *, names: Mapping[str, str] | None = None) -> str:
    """A message's text and its blocks' text (sections, context, [button labels]), one item per line."""
    names = names or {}
    # A block item may span several lines (a field's label and value); each gets its own indented line.
    lines = [part for line in block_lines(msg.blocks) for part in humanize(line, names).splitlines()]
    body = "\n".join(lines)
    text = humanize(msg.text, names).strip()
    # Skip the fallback text when the blocks already say it, which is the common case.
    text_lines = [] if not text or text in body else text.splitlines()
    all_lines = [*text_lines, *lines] or ["(empty message)"]
    author = names.get(msg.user, msg.user)
    edited = f" (edited {len(msg.edits)}x)" if msg.edits else ""
    head = f"@{author}{edited}"
    return "\n".join([head, *(INDENT + line for line in all_lines)])


def render_thread(state: FakeSlackState, channel: str, ts: str) -> str:
    """The thread as text: the parent card's latest version, then each reply numbered with its time."""
    messages = state.thread(channel, ts)
    if not messages:
        return f"(no message {ts} in {channel})"
    with state.lock:
        names = {uid: str(user["name"]) for uid, user in state.users.items()}
    parent, *replies = messages
    out = [
        f"#{state.channel_name(channel)} thread {ts} ({len(replies)} repl{'y' if len(replies) == 1 else 'ies'})",
        f"[parent {_clock_time(parent.ts)}] " + render_message(parent, names=names),
    ]
    for n, reply in enumerate(replies, start=1):
        out.append(f"#{n} {_clock_time(reply.ts)} " + render_message(reply, names=names))
    return "\n".join(out)
