"""The bot token scopes the bot needs: manifest.yml and manifest.socket-mode.yml ask for exactly these
(tests/bot/test_manifest.py), and `check` compares them with what the installed app was granted."""

from __future__ import annotations

__all__ = ["BOT_SCOPES"]

BOT_SCOPES = frozenset({
    "commands",  # /onboard
    "chat:write",  # posts, updates and ephemeral answers
    "channels:history",  # conversations.history/replies: finding an in-doubt outbox post (public channel)
    "groups:history",  # the same in a private channel
    "usergroups:read",  # usergroups.users.list: approver groups
    "users:read",  # users.info: `check` proves each approver user id names a member
})
