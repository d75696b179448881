"""Typed text beyond the intake form: `/onboard status <text>` and reject/cancel reasons (issue 23, A6 and A10)."""

from __future__ import annotations

import pytest

from bot.slack.ids import ActionId
from store.states import OnboardingState as S
from tests.bot.harness import LEAD, REQUESTER, BotHarness
from tests.bot.test_commands import command

INVISIBLE = ("\u202e", "\u200b", "\u2066", "\ufeff")


@pytest.mark.parametrize("text", ["a" * 60_000, "%" * 25_001, "é" * 25_001, "ﬃ" * 16_700])
def test_an_over_long_status_search_gets_a_plain_answer(bot: BotHarness, text: str) -> None:
    bot.submit_intake()
    answer = command(bot, f"status {text}")
    assert "too long" in answer and "Something went wrong" not in answer
    assert text[:50] not in answer  # not echoed back
    assert "Acme Bikes" in command(bot, "status acme")  # the search still works


def test_a_status_search_at_the_cap_still_searches(bot: BotHarness) -> None:
    bot.submit_intake()
    assert "No onboarding matches" in command(bot, "status " + "a" * 300)


def test_invisible_characters_are_dropped_from_the_status_search_and_its_echo(bot: BotHarness) -> None:
    bot.submit_intake()
    assert "Acme Bikes" in command(bot, "status ac\u200bme\u202e")
    answer = command(bot, "status zz\u202ezz\u200b\x00")
    assert "No onboarding matches" in answer and "zzzz" in answer
    assert not [ch for ch in INVISIBLE + ("\\u0000",) if ch in answer.encode().decode("unicode_escape")]


def test_bidi_and_zero_width_characters_are_dropped_from_reasons(bot: BotHarness) -> None:
    bot.submit_intake()
    bot.click(LEAD, ActionId.REJECT)
    bot.submit_modal(LEAD, {"reason": "Not\u202e our\u200b customer\u2066\nsee notes\ufeff"})
    assert (bot.case().state, bot.case().rejection_reason) == (S.REJECTED, "Not our customer\nsee notes")
    bot.submit_intake(customer_name="Beta Boats")
    bot.send(bot.sim.slash_command(REQUESTER, text="cancel #2", channel_id="C0ONBOARD"))
    bot.submit_modal(REQUESTER, {"reason": "\u200bgone\u202e elsewhere"})
    assert (bot.case(2).state, bot.case(2).cancel_reason) == (S.CANCELLED, "gone elsewhere")


def test_a_reason_of_invisible_characters_only_is_a_missing_reason(bot: BotHarness) -> None:
    bot.submit_intake()
    bot.click(LEAD, ActionId.REJECT)
    response = bot.submit_modal(LEAD, {"reason": "\u200b\u202e"})
    assert response.body and "reason" in response.body
    assert bot.case().state == S.AWAITING_APPROVAL


def test_an_emoji_newer_than_pythons_unicode_tables_is_kept(bot: BotHarness) -> None:
    """U+1FAE8 (Unicode 15) is "unassigned" to Python 3.11's tables: it is still what the person typed."""
    bot.submit_intake(customer_name="Shaky \U0001FAE8 Cycles")
    bot.click(LEAD, ActionId.REJECT)
    bot.submit_modal(LEAD, {"reason": "not yet \U0001FAE8"})
    assert (bot.case().customer_name, bot.case().rejection_reason) == ("Shaky \U0001FAE8 Cycles", "not yet \U0001FAE8")
