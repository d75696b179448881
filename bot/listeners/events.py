"""Events API: the App Home tab."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.deps import Deps
from bot.home import publish_home
from bot.ids import ActionId

__all__ = ["register"]


def register(app: App, deps: Deps) -> None:
    @app.event("app_home_opened")
    def home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") == "home" and isinstance(event.get("user"), str):
            publish_home(deps, client, event["user"])

    @app.action(ActionId.HOME_REFRESH)
    def home_refresh(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        publish_home(deps, client, str(body["user"]["id"]))
