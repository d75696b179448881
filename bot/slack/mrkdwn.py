"""Text for Slack: escaping user input for mrkdwn, mentions, ages and truncation."""

from __future__ import annotations

import re
from datetime import datetime

__all__ = ["age", "clip", "escape", "mention", "mentions", "when"]

_USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")
_GROUP_ID = re.compile(r"S[A-Z0-9]{2,30}")


def escape(text: str | None) -> str:
    """Make user text inert in mrkdwn: `<!channel>` or `<@U1>` render as text and ping nobody."""
    if not text:
        return ""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """Shorten to at most `limit` characters, marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
