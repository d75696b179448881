"""`/onboard list | status | cancel | help`: ephemeral answers and clear errors."""

from __future__ import annotations

import json

from tests.bot.harness import CHANNEL, OUTSIDER, REQUESTER, BotHarness


def command(bot: BotHarness, text: str, user: str = REQUESTER) -> str:
    before = len(bot.slack_state.response_posts)
    response = bot.send(bot.sim.slash_command(user, text=text, channel_id=CHANNEL))
    assert response.status == 200
    posts = bot.slack_state.response_posts[before:]
    assert len(posts) == 1, f"expected one ephemeral answer to {text!r}, got {len(posts)}"
    assert posts[0].body.get("response_type") == "ephemeral"
    return json.dumps(posts[0].body)


def test_help_lists_every_subcommand(bot: BotHarness) -> None:
    answer = command(bot, "help")
    for name in ("list", "status", "cancel", "help"):
        assert f"/onboard {name}" in answer


def test_list_shows_open_cases_with_thread_links(bot: BotHarness) -> None:
    assert "No open onboardings" in command(bot, "list")
    bot.submit_intake()
    bot.submit_intake(customer_name="Beta Boats", contact_email="b@beta.test")
    answer = command(bot, "list")
    assert "Acme Bikes" in answer and "Beta Boats" in answer and "slack.com/archives/C0ONBOARD/p" in answer


def test_status_finds_by_id_or_name(bot: BotHarness) -> None:
    bot.submit_intake()
    assert "Acme Bikes" in command(bot, "status #1")
    assert "Acme Bikes" in command(bot, "status acme")


def test_status_explains_unknown_and_ambiguous(bot: BotHarness) -> None:
    bot.submit_intake()
    bot.submit_intake(customer_name="Acme Boats", contact_email="b@acme-boats.test")
    assert "no onboarding #99" in command(bot, "status 99")
    assert "matches several" in command(bot, "status acme")
    assert "No onboarding matches" in command(bot, "status zzz")


def test_status_matches_names_literally_on_every_database(bot: BotHarness) -> None:
    """Part of a name, any case and spacing; `%` and `_` are characters, not wildcards."""
    bot.submit_intake()
    bot.submit_intake(customer_name="100% Bikes_Shop", contact_email="a@pct.test")
    assert "100% Bikes_Shop" in command(bot, "status bikes_SHOP")
    assert "100% Bikes_Shop" in command(bot, "status 100%   bikes")
    assert "Acme Bikes" not in command(bot, "status %"), "`%` matches only the name that has one"
    assert "No onboarding matches" in command(bot, "status e_b"), "`_` is not any character (acm[e b]ikes)"


def test_cancel_by_an_outsider_is_refused(bot: BotHarness) -> None:
    bot.submit_intake()
    assert "Only the requester or an approver" in command(bot, "cancel 1", OUTSIDER)
    assert bot.case().state == "awaiting_approval"


def test_cancel_needs_a_number(bot: BotHarness) -> None:
    assert "number" in command(bot, "cancel acme")


def test_an_unknown_subcommand_points_to_help(bot: BotHarness) -> None:
    assert "/onboard help" in command(bot, "frobnicate")
