"""Slack listeners, one module per kind of request, and the Bolt app (`app.py`); each exposes `register(app, deps)`."""

from __future__ import annotations

from slack_bolt import App

from bot.deps import Deps
from bot.listeners import actions, commands, events, reviews, views

__all__ = ["register_all"]


def register_all(app: App, deps: Deps) -> None:
    commands.register(app, deps)
    actions.register(app, deps)
    views.register(app, deps)
    events.register(app, deps)
    reviews.register(app, deps)
