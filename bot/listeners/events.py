"""Events API: the App Home tab."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.deps import Deps
from bot.listeners.common import bind
from bot.slack.error_handler import reports_errors
from bot.slack.home_tab import publish_home
from bot.slack.ids import ActionId
from bot.slack.payloads import user_id

__all__ = ["home_opened", "home_refresh", "register"]


def register(app: App, deps: Deps) -> None:
    app.event("app_home_opened")(bind(home_opened, deps))
    app.action(ActionId.HOME_REFRESH)(reports_errors(deps.settings)(bind(home_refresh, deps)))


def home_opened(event: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    if event.get("tab", "home") == "home" and isinstance(event.get("user"), str):
        publish_home(deps, client, event["user"])


def home_refresh(ack: Ack, body: dict[str, Any], client: WebClient, *, deps: Deps) -> None:
    ack()
    user = user_id(body)
    if user:
        publish_home(deps, client, user)
