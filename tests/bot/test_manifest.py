"""manifest.yml is the source of truth for commands, events and scopes; the code must agree with it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import yaml

from bot.slack.ids import COMMAND, ActionId, CallbackId
from devslack import SignedRequest
from tests.bot.harness import CHANNEL, OUTSIDER, BotHarness

ROOT = Path(__file__).resolve().parents[2]
LISTENER_SOURCES = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "bot" / "slack" / "listeners").glob("*.py"))


def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    return loaded


def test_every_manifest_command_is_registered_and_the_reverse() -> None:
    commands = {entry["command"] for entry in manifest()["features"]["slash_commands"]}
    assert commands == {COMMAND}
    assert "app.command(COMMAND)" in LISTENER_SOURCES


def test_every_subscribed_event_has_a_listener_and_the_reverse() -> None:
    events = set(manifest()["settings"]["event_subscriptions"]["bot_events"])
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


def test_the_bot_asks_for_the_scopes_its_web_api_calls_need() -> None:
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    # commands: /onboard; chat:write: posts, updates, ephemerals; *:history: finding in-doubt outbox posts;
    # usergroups:read: approver groups; users:read: names in Home/transcripts.
    assert {"commands", "chat:write", "channels:history", "groups:history", "usergroups:read"} <= scopes


def test_interactivity_and_home_are_enabled() -> None:
    data = manifest()
    assert data["settings"]["interactivity"]["is_enabled"] is True
    assert data["features"]["app_home"]["home_tab_enabled"] is True
