"""Text for Slack: escaping user input for mrkdwn, mentions, ages and truncation.

Truncation is done here and only here (`clip`, `pack_lines`). It counts what Slack counts, conservatively:
UTF-16 code units (an emoji outside the BMP is two), never fewer than Python's code points. It cuts only
between tokens, so an entity (`&lt;`), a mention, a link or a date token (`<…>`) is kept whole or left out
whole; a list is cut between lines, never inside one, and says how many lines were left out.
"""

from __future__ import annotations

import re
from datetime import datetime

__all__ = ["age", "clip", "escape", "mention", "mentions", "pack_lines", "slack_length", "when"]

# One token: an entity, an angle-bracket token (mention, link, date) on one line, or any single character.
_TOKEN = re.compile(r"&(?:[A-Za-z]{2,8}|#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6});|<[^<>\n]{1,1000}>|.", re.DOTALL)
ELLIPSIS = "…"
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")
_GROUP_ID = re.compile(r"S[A-Z0-9]{2,30}")


def escape(text: str | None) -> str:
    """Make user text inert in mrkdwn: `<!channel>` or `<@U1>` render as text and ping nobody."""
    if not text:
        return ""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_length(text: str) -> int:
    """Length as Slack's limits count it, conservatively: UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _more_lines(count: int) -> str:
    return f"{ELLIPSIS}and {count} more line{'s' if count != 1 else ''}"


def clip(text: str, limit: int) -> str:
    """At most `limit` UTF-16 units, never cutting a token; the cut is marked.

    Several lines are cut between lines (`…and 3 more lines`) when the whole lines kept fill at least half
    the room; otherwise (one long line, or a label then a long value) the cut is between tokens, marked `…`.
    """
    if slack_length(text) <= limit:
        return text
    lines = text.split("\n")
    if len(lines) > 1:
        budget = limit - slack_length("\n" + _more_lines(len(lines)))
        kept = _whole_lines(lines, budget)
        # Whole lines, unless that would throw most of the room away (a label, then one long value).
        if kept and slack_length("\n".join(lines[:kept])) >= budget // 2:
            return "\n".join(lines[:kept] + [_more_lines(len(lines) - kept)])
    return _cut(text, limit - 1) + ELLIPSIS


def _whole_lines(lines: list[str], budget: int) -> int:
    """How many leading lines fit in `budget` units, joined by newlines."""
    used = -1  # the first line has no newline before it
    for count, line in enumerate(lines):
        used += 1 + slack_length(line)
        if used > budget:
            return count
    return len(lines)


def _cut(text: str, budget: int) -> str:
    """The longest run of whole tokens from the start that fits in `budget` units."""
    used = 0
    end = 0
    for token in _TOKEN.finditer(text):
        size = slack_length(token.group())
        if used + size > budget:
            break
        used += size
        end = token.end()
    return text[:end]


def pack_lines(lines: list[str], limit: int, *, max_chunks: int) -> tuple[list[str], int]:
    """Whole lines into at most `max_chunks` texts of at most `limit` units each, in order.

    Returns the texts and how many lines did not fit; the caller says "…and N more". A line too long for a
    text of its own is clipped (between tokens), never split over two.
    """
    if max_chunks <= 0:
        return [], len(lines)
    chunks: list[str] = []
    current: list[str] = []
    used = 0
    for index, raw in enumerate(lines):
        line = clip(raw, limit)
        size = slack_length(line)
        if current and used + 1 + size > limit:
            chunks.append("\n".join(current))
            current, used = [], 0
            if len(chunks) == max_chunks:
                return chunks, len(lines) - index
        used += size + (1 if current else 0)
        current.append(line)
    if current:
        if len(chunks) == max_chunks:
            return chunks, len(current)
        chunks.append("\n".join(current))
    return chunks, 0


def mention(user_id: str | None) -> str:
    """A user or user-group mention; only ever built from ids Slack gave us, never from typed text.

    Anything that is not shaped like a Slack id is shown as inert text, so even a forged id such as
    `U1> <!channel` can never become a live mention.
    """
    if not user_id:
        return "nobody"
    if user_id == "bot":
        return "the bot"
    if _GROUP_ID.fullmatch(user_id):
        return f"<!subteam^{user_id}>"
    if _USER_ID.fullmatch(user_id):
        return f"<@{user_id}>"
    return escape(clip(user_id, 40))


def mentions(user_ids: list[str]) -> str:
    return " ".join(mention(user_id) for user_id in user_ids)


def age(since: datetime | None, now: datetime) -> str:
    """A short human age: `45s`, `12m`, `3h`, `2d 4h`."""
    if since is None:
        return "-"
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    days, rest = divmod(seconds, 86400)
    return f"{days}d {rest // 3600}h" if rest >= 3600 else f"{days}d"


def when(moment: datetime | None) -> str:
    """A Slack date token: shown in each reader's own time zone, with a UTC fallback."""
    if moment is None:
        return "-"
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"
