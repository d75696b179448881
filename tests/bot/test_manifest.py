"""manifest.yml is the source of truth for commands, events and scopes; the code must agree with it."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.ids import COMMAND, ActionId, CallbackId

ROOT = Path(__file__).resolve().parents[2]
LISTENER_SOURCES = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "bot" / "listeners").glob("*.py"))


def manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))


def test_every_manifest_command_is_registered_and_the_reverse():
    commands = {entry["command"] for entry in manifest()["features"]["slash_commands"]}
    assert commands == {COMMAND}
    assert "app.command(COMMAND)" in LISTENER_SOURCES


def test_every_subscribed_event_has_a_listener_and_the_reverse():
    events = set(manifest()["settings"]["event_subscriptions"]["bot_events"])
    registered = {line.split('"')[1] for line in LISTENER_SOURCES.splitlines() if "@app.event(" in line}
    assert events == registered == {"app_home_opened"}


def test_every_action_and_view_id_has_a_listener():
    for action in ActionId:
        assert f"ActionId.{action.name})" in LISTENER_SOURCES, action
    for callback in CallbackId:
        assert f"app.view(CallbackId.{callback.name})" in LISTENER_SOURCES, callback


def test_the_bot_asks_for_the_scopes_its_web_api_calls_need():
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    # commands: /onboard; chat:write: posts, updates, ephemerals; *:history: finding in-doubt outbox posts;
    # usergroups:read: approver groups; users:read: names in Home/transcripts.
    assert {"commands", "chat:write", "channels:history", "groups:history", "usergroups:read"} <= scopes


def test_interactivity_and_home_are_enabled():
    data = manifest()
    assert data["settings"]["interactivity"]["is_enabled"] is True
    assert data["features"]["app_home"]["home_tab_enabled"] is True
