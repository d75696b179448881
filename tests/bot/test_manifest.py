"""manifest.yml (HTTP) and manifest.socket-mode.yml are the source of truth for commands, events and scopes;
the code and the two manifests must agree."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml

from bot.slack.ids import COMMAND, ActionId, CallbackId
from bot.slack.scopes import BOT_SCOPES
from devslack import SignedRequest
from tests.bot.harness import CHANNEL, OUTSIDER, BotHarness

ROOT = Path(__file__).resolve().parents[2]
LISTENER_SOURCES = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "bot" / "listeners").glob("*.py"))


MANIFESTS = ("manifest.yml", "manifest.socket-mode.yml")
BOT_SOURCES = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "bot").rglob("*.py"))
# The scope each Web API method the bot calls needs (none: views.*, auth.test; apps.* use the app token).
METHOD_SCOPES = {"chat_postMessage": "chat:write", "chat_update": "chat:write", "chat_postEphemeral": "chat:write",
                 "conversations_history": "channels:history", "conversations_replies": "channels:history",
                 "usergroups_users_list": "usergroups:read", "users_info": "users:read", "views_open": None,
                 "views_publish": None, "auth_test": None, "apps_connections_open": None}


def manifest(name: str = "manifest.yml") -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))
    return loaded


def test_both_manifests_ask_for_exactly_the_scopes_in_the_code() -> None:
    for name in MANIFESTS:
        assert set(manifest(name)["oauth_config"]["scopes"]["bot"]) == BOT_SCOPES, name


def test_every_web_api_method_the_bot_calls_is_covered_by_a_scope() -> None:
    called = set(re.findall(r"\.(chat_\w+|conversations_\w+|usergroups_\w+|users_\w+|views_\w+|auth_test|"
                            r"apps_\w+)\(", BOT_SOURCES))
    assert called <= set(METHOD_SCOPES), called - set(METHOD_SCOPES)
    assert {METHOD_SCOPES[method] for method in called} - {None} <= BOT_SCOPES
    # Ask for no more than is used: every scope but `commands` (the slash command) serves a method called.
    assert BOT_SCOPES - {"commands", "groups:history"} == {METHOD_SCOPES[method] for method in called} - {None}


def test_the_two_manifests_differ_only_in_how_slack_reaches_the_bot() -> None:
    http, socket = manifest("manifest.yml"), manifest("manifest.socket-mode.yml")
    assert http["settings"]["socket_mode_enabled"] is False and socket["settings"]["socket_mode_enabled"] is True
    assert "YOUR-HOST" not in (ROOT / "manifest.socket-mode.yml").read_text(encoding="utf-8")
    for data in (http, socket):
        for command in data["features"]["slash_commands"]:
            command.pop("url", None)
        data["settings"]["event_subscriptions"].pop("request_url", None)
        data["settings"]["interactivity"].pop("request_url", None)
        data["settings"].pop("socket_mode_enabled")
    assert http == socket


@pytest.mark.parametrize("name", MANIFESTS)
def test_every_manifest_command_is_registered_and_the_reverse(name: str) -> None:
    commands = {entry["command"] for entry in manifest(name)["features"]["slash_commands"]}
    assert commands == {COMMAND}
    assert "app.command(COMMAND)" in LISTENER_SOURCES


@pytest.mark.parametrize("name", MANIFESTS)
def test_every_subscribed_event_has_a_listener_and_the_reverse(name: str) -> None:
    events = set(manifest(name)["settings"]["event_subscriptions"]["bot_events"])
    registered = {line.split('"')[1] for line in LISTENER_SOURCES.splitlines() if "app.event(" in line}
    assert events == registered == {"app_home_opened"}


def test_every_action_id_reaches_a_listener(bot: BotHarness) -> None:
    for action in ActionId:
        payload = {"type": "block_actions", "user": {"id": OUTSIDER}, "trigger_id": "t",
                   "actions": [{"action_id": action.value, "block_id": "b", "value": "999", "type": "button"}],
                   "channel": {"id": CHANNEL}, "container": {"type": "message"}, "team": {"id": "T1"}}
        response = bot.sim.dispatch(bot.app, _signed(bot, payload))
        assert response.status == 200, (action, response.status)  # Bolt answers 404 to an unhandled request


def test_every_view_callback_id_reaches_a_listener(bot: BotHarness) -> None:
    for callback in CallbackId:
        payload = {"type": "view_submission", "user": {"id": OUTSIDER}, "team": {"id": "T1"},
                   "view": {"id": "V1", "type": "modal", "callback_id": callback.value, "private_metadata": "999",
                            "state": {"values": {}}}}
        response = bot.sim.dispatch(bot.app, _signed(bot, payload))
        assert response.status == 200, (callback, response.status)


def _signed(bot: BotHarness, payload: dict[str, Any]) -> SignedRequest:
    body = urlencode({"payload": json.dumps(payload)})
    return SignedRequest(body, bot.sim.signed_headers(body, "application/x-www-form-urlencoded"))


@pytest.mark.parametrize("name", MANIFESTS)
def test_interactivity_and_home_are_enabled(name: str) -> None:
    data = manifest(name)
    assert data["settings"]["interactivity"]["is_enabled"] is True
    assert data["features"]["app_home"]["home_tab_enabled"] is True
