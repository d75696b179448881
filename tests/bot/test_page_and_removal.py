"""The right Page, and four eyes on the access removal, through Slack over the sandbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.background import jobs
from bot.slack.ids import ActionId
from store.states import OnboardingState as S
from tests.bot.harness import LEAD, STAFF, BotHarness
from tests.bot.test_slack_flow import register_project

PAGE_ID = "104512345678901"


@pytest.fixture
def papi_bot(tmp_path: Path, migrated_database_url: str) -> Iterator[BotHarness]:
    harness = BotHarness(tmp_path, database_url=migrated_database_url, SINCH_USE_PROVISIONING="true")
    yield harness
    harness.close()


@pytest.fixture
def two_person_bot(tmp_path: Path, migrated_database_url: str) -> Iterator[BotHarness]:
    harness = BotHarness(tmp_path, database_url=migrated_database_url, REMOVAL_CONFIRMATION="two-person")
    yield harness
    harness.close()


def poll(bot: BotHarness) -> None:
    bot.clock.advance(minutes=2)
    bot.sandbox_time += 120
    jobs.poll_sweep(bot.deps)
    bot.deliver()


def invited(bot: BotHarness, **form: str) -> dict[str, str]:
    bot.submit_intake(**form)
    bot.click(LEAD, ActionId.APPROVE)
    creds = register_project(bot)
    bot.click(STAFF, ActionId.INVITATION_SENT)
    return creds


def connect(bot: BotHarness, creds: dict[str, str], *, page_id: str, page_name: str) -> None:
    app_id = bot.case().app_id
    assert app_id is not None
    bot.sandbox.connect_page(creds["project_id"], app_id, page_id=page_id, page_name=page_name)
    poll(bot)  # PENDING
    poll(bot)  # ACTIVE


def mismatch_notices(bot: BotHarness) -> list[str]:
    return [text for text in bot.thread_texts() if "Not the requested Page" in text]


def test_the_requested_page_passes_quietly(papi_bot: BotHarness) -> None:
    bot = papi_bot
    creds = invited(bot, page="https://m.facebook.com/AcmeBikes/")
    connect(bot, creds, page_id=PAGE_ID, page_name="Acme Bikes")
    assert (bot.case().state, bot.case().page_check) == (S.REVOKING, "match")
    assert mismatch_notices(bot) == []
    assert ActionId.WRONG_PAGE.value not in json.dumps(bot.message_with(ActionId.ACCESS_REMOVED).blocks)


def test_a_wrong_page_is_posted_once_shown_on_the_card_and_kept_for_the_customer_to_fix(papi_bot: BotHarness) -> None:
    bot = papi_bot
    creds = invited(bot, page=f"https://www.facebook.com/profile.php?id={PAGE_ID}")
    connect(bot, creds, page_id="100099999999999", page_name="Acme Bikes Fan Club")
    case = bot.case()
    assert (case.state, case.page_check) == (S.REVOKING, "mismatch")
    assert len(mismatch_notices(bot)) == 1
    card = json.dumps(bot.thread()[0].blocks)
    assert "connected Page *Acme Bikes Fan Club" in card
    assert f"requested *https://www.facebook.com/profile.php?id={PAGE_ID}" in card
    step = json.dumps(bot.message_with(ActionId.ACCESS_REMOVED).blocks)
    assert "Right Page, access removed" in step and "Wrong Page, keep access" in step

    bot.click(STAFF, ActionId.WRONG_PAGE)
    case = bot.case()
    assert (case.state, case.page_check, case.revoked_at) == (S.AWAITING_CUSTOMER, "wrong_confirmed", None)
    poll(bot)
    poll(bot)  # still ACTIVE with the wrong Page: nothing moves, nothing is posted again
    assert bot.case().state == S.AWAITING_CUSTOMER and len(mismatch_notices(bot)) == 1
    assert "keeps access to fix it" in json.dumps(bot.thread()[0].blocks)

    connect(bot, creds, page_id=PAGE_ID, page_name="Acme Bikes")
    assert (bot.case().state, bot.case().page_check) == (S.REVOKING, "match")
    bot.click(STAFF, ActionId.ACCESS_REMOVED)
    assert bot.case().state == S.COMPLETED
    actions = [e.action for e in bot.events()]
    assert actions.count("page_check") == 2 and "wrong_page" in actions


def test_a_mismatch_confirmed_right_completes(papi_bot: BotHarness) -> None:
    bot = papi_bot
    creds = invited(bot, page="Acme Bikes")
    connect(bot, creds, page_id=PAGE_ID, page_name="ACME Bicycles Official")
    bot.click(STAFF, ActionId.ACCESS_REMOVED)
    case = bot.case()
    assert (case.state, case.page_check) == (S.COMPLETED, "right_confirmed")
    assert any("page confirmed right" in e.detail for e in bot.events() if e.action == "confirm_revocation")


def test_without_the_provisioning_api_the_card_says_the_page_is_unverified(bot: BotHarness) -> None:
    creds = invited(bot)
    connect(bot, creds, page_id=PAGE_ID, page_name="Whatever")
    assert (bot.case().state, bot.case().page_check) == (S.REVOKING, "unverified")
    assert "could not be verified" in json.dumps(bot.thread()[0].blocks)
    assert "could not verify which Page" in json.dumps(bot.message_with(ActionId.ACCESS_REMOVED).blocks)


def test_two_person_removal_needs_someone_else_and_keeps_reminding(two_person_bot: BotHarness) -> None:
    bot = two_person_bot
    creds = invited(bot)
    connect(bot, creds, page_id=PAGE_ID, page_name="Acme Bikes")
    bot.click(STAFF, ActionId.ACCESS_REMOVED)
    case = bot.case()
    assert (case.state, case.revoked_by, case.key_secret_sealed is not None) == (S.CONFIRMING_REMOVAL, STAFF, True)
    assert "waiting for someone else" in json.dumps(bot.thread()[0].blocks)

    bot.click(STAFF, ActionId.REMOVAL_CHECKED)
    assert bot.case().state == S.CONFIRMING_REMOVAL
    assert any("someone else" in text for text in bot.ephemerals(STAFF))

    bot.clock.advance(hours=1, minutes=1)
    assert jobs.reminder_sweep(bot.deps) == 1
    bot.deliver()
    assert "Customer is gone" in bot.thread_texts()[-1] and "Reminder" in bot.thread_texts()[-1]

    bot.click(LEAD, ActionId.REMOVAL_CHECKED)
    case = bot.case()
    assert (case.state, case.removal_checked_by, case.key_secret_sealed) == (S.COMPLETED, LEAD, None)
    assert [e.to_state for e in bot.events() if e.to_state][-2:] == [S.CONFIRMING_REMOVAL, S.COMPLETED]
    assert f"confirmed by <@{LEAD}>" in bot.thread_texts()[-1]


def test_one_person_removal_is_still_the_default(bot: BotHarness) -> None:
    creds = invited(bot)
    connect(bot, creds, page_id=PAGE_ID, page_name="Acme Bikes")
    bot.click(STAFF, ActionId.ACCESS_REMOVED)
    assert bot.case().state == S.COMPLETED
