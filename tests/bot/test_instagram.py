"""Instagram beside Messenger, through signed Slack requests over the sandbox: one case, one app, one removal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.background import jobs
from bot.slack.ids import ActionId
from store.models import OutboxKind, OutboxStatus
from store.states import OnboardingState as S
from tests.bot.harness import LEAD, STAFF, BotHarness
from tests.bot.test_slack_flow import register_project

BOTH: dict[str, Any] = {"channels": "messenger_instagram", "instagram_username": "@Acme.Bikes",
        "prerequisites": ["business_verified", "page_admin", "chat_button", "ig_professional", "ig_page_linked",
                          "ig_messages_access"]}
VALID_FORM_OTHER: dict[str, Any] = {"customer_name": "Beta Books", "contact_email": "owner@beta.test"}
INSTAGRAM_ONLY: dict[str, Any] = {**BOTH, "channels": "instagram", "page": "", "page_type": None,
                  "prerequisites": ["ig_professional", "ig_page_linked", "ig_messages_access"]}


@pytest.fixture
def papi_bot(tmp_path: Path, migrated_database_url: str) -> Iterator[BotHarness]:
    harness = BotHarness(tmp_path, database_url=migrated_database_url, SINCH_USE_PROVISIONING="true")
    yield harness
    harness.close()


def poll(bot: BotHarness) -> None:
    bot.clock.advance(minutes=2)
    bot.sandbox_time += 120
    jobs.poll_sweep(bot.deps)
    bot.deliver()


def invited(bot: BotHarness, **form: Any) -> tuple[dict[str, str], str]:
    bot.submit_intake(**form)
    bot.click(LEAD, ActionId.APPROVE)
    creds = register_project(bot)
    bot.click(STAFF, ActionId.INVITATION_SENT)
    app_id = bot.case().app_id
    assert app_id is not None
    return creds, app_id


def texts(bot: BotHarness, needle: str) -> list[str]:
    return [text for text in bot.thread_texts()[1:] if needle in text]


def test_two_channels_one_invitation_both_polled_each_change_once_then_one_removal(bot: BotHarness) -> None:
    creds, app_id = invited(bot, **BOTH)
    case = bot.case()
    assert case.requested_channels == tuple(case.requested_channels) and case.channels == "messenger,instagram"
    assert case.instagram_username == "acme.bikes" and case.app_name == "Acme Bikes - Messenger and Instagram"
    assert len([t for t in bot.thread_texts() if "Invitation sent" in t and "invited" in t]) == 1
    assert case.next_poll_at is None and case.channels_poll_at is not None  # invisible to older versions

    bot.sandbox.connect_page(creds["project_id"], app_id, page_name="Acme Bikes")
    poll(bot)  # Messenger PENDING
    poll(bot)  # Messenger ACTIVE, Instagram not connected: access kept, the thread says what is missing
    assert bot.case().state == S.ACTIVATING
    assert len(texts(bot, "The Messenger channel is *ACTIVE*")) == 1
    assert "Still missing: *Instagram* (not connected yet)" in texts(bot, "The Messenger channel is *ACTIVE*")[0]
    assert ActionId.ACCESS_REMOVED.value not in json.dumps([m.blocks for m in bot.thread()])

    bot.sandbox.connect_instagram(creds["project_id"], app_id, username="acme.bikes")
    poll(bot)  # Instagram PENDING
    poll(bot)  # Instagram ACTIVE: now, and only now, the removal is asked
    poll(bot)  # nothing changes: nothing more is posted
    case = bot.case()
    assert case.state == S.REVOKING and (case.channel_status, case.ig_status) == ("ACTIVE", "ACTIVE")
    for needle in ("The Messenger channel is *PENDING", "The Messenger channel is *ACTIVE*",
                   "The Instagram channel is *PENDING", "The Instagram channel is *ACTIVE*"):
        assert len(texts(bot, needle)) == 1, needle
    assert len(texts(bot, "Remove the customer's access now")) == 1
    assert "Every requested channel is *ACTIVE*" in texts(bot, "Remove the customer's access now")[0]
    card = json.dumps(bot.thread()[0].blocks)
    assert "Messenger and Instagram onboarding" in card and "*Instagram*" in card and "acme.bikes" in card

    bot.click(STAFF, ActionId.ACCESS_REMOVED)
    assert bot.case().state == S.COMPLETED and bot.case().key_secret_sealed is None
    assert all(row.status == OutboxStatus.DELIVERED for row in bot.outbox())
    apps = bot.sandbox.state()["apps"]["eu"]
    assert len(apps) == 1  # one app carries both channels


def test_instagram_only_needs_no_page_and_its_text_names_only_instagram(bot: BotHarness) -> None:
    creds, app_id = invited(bot, **INSTAGRAM_ONLY)
    assert bot.case().app_name == "Acme Bikes - Instagram"
    text = next(t for t in bot.thread_texts() if "Text to send the customer" in t)
    assert "connect Instagram" in text and "@acme.bikes" in text and "Messenger:" not in text

    bot.sandbox.connect_instagram(creds["project_id"], app_id, username="acme.bikes")
    poll(bot)
    poll(bot)
    assert bot.case().state == S.REVOKING
    bot.click(STAFF, ActionId.ACCESS_REMOVED)
    assert bot.case().state == S.COMPLETED


def test_instagram_failing_while_messenger_is_active_keeps_access_then_recovers(bot: BotHarness) -> None:
    creds, app_id = invited(bot, **BOTH)
    bot.sandbox.connect_page(creds["project_id"], app_id)
    bot.sandbox.connect_instagram(creds["project_id"], app_id, outcome="FAILING",
                                  description="Messages access not allowed")
    poll(bot)  # both PENDING
    poll(bot)  # Messenger ACTIVE, Instagram FAILING
    poll(bot)
    case = bot.case()
    assert (case.state, case.channel_status, case.ig_status) == (S.FAILING, "ACTIVE", "FAILING")
    failing = texts(bot, "The Instagram channel is *FAILING*")
    assert len(failing) == 1 and "Messages access not allowed" in failing[0]
    assert "The customer keeps access" in failing[0] and case.revoked_at is None
    assert texts(bot, "Remove the customer's access now") == []

    bot.sandbox.connect_instagram(creds["project_id"], app_id, username="acme.bikes")  # the customer fixes it
    poll(bot)
    assert len(texts(bot, "The Instagram channel recovered")) == 1
    poll(bot)
    assert bot.case().state == S.REVOKING and len(texts(bot, "Remove the customer's access now")) == 1


def test_the_intake_checks_the_instagram_username_under_its_field(bot: BotHarness) -> None:
    response = bot.submit_intake(**{**BOTH, "instagram_username": "not a valid name!"})
    body = json.loads(response.body)
    assert body["response_action"] == "errors"
    assert "1-30 letters, digits, periods and underscores" in body["errors"]["instagram_username"]
    response = bot.submit_intake(**{**BOTH, "prerequisites": ["business_verified", "page_admin"]})
    assert "professional account" in json.loads(response.body)["errors"]["prerequisites"]


def test_a_wrong_instagram_account_is_posted_once_and_kept_for_the_customer_to_fix(papi_bot: BotHarness) -> None:
    bot = papi_bot
    creds, app_id = invited(bot, **INSTAGRAM_ONLY)
    bot.sandbox.connect_instagram(creds["project_id"], app_id, instagram_id="1789", username="acme.fans")
    poll(bot)
    poll(bot)
    case = bot.case()
    assert (case.state, case.ig_check, case.ig_account_id) == (S.REVOKING, "mismatch", "1789")
    assert len(texts(bot, "Not the requested Instagram account")) == 1
    assert "not the requested account" in json.dumps(bot.thread()[0].blocks)
    step = json.dumps(bot.message_with(ActionId.ACCESS_REMOVED).blocks)
    assert "Right account, access removed" in step and "Wrong account, keep access" in step

    bot.click(STAFF, ActionId.WRONG_ACCOUNT)
    assert (bot.case().state, bot.case().ig_check) == (S.AWAITING_CUSTOMER, "wrong_confirmed")
    poll(bot)
    poll(bot)  # still the wrong account: no removal, nothing posted again
    assert bot.case().state != S.REVOKING and len(texts(bot, "Not the requested Instagram account")) == 1

    bot.sandbox.connect_instagram(creds["project_id"], app_id, instagram_id="1790", username="acme.bikes")
    poll(bot)
    poll(bot)
    assert (bot.case().state, bot.case().ig_check) == (S.REVOKING, "match")
    bot.click(STAFF, ActionId.ACCESS_REMOVED)
    assert bot.case().state == S.COMPLETED


def test_a_messenger_only_case_is_untouched(bot: BotHarness) -> None:
    invited(bot)
    case = bot.case()
    assert (case.channels, case.channels_poll_at) == (None, None) and case.next_poll_at is not None
    assert bot.case().app_name == "Acme Bikes - Messenger"
    assert [row.kind for row in bot.outbox()].count(OutboxKind.CARD) >= 1


def test_an_existing_messenger_customer_gains_instagram_on_the_same_app(bot: BotHarness) -> None:
    from tests.bot.test_second_page import completed_first_page, register_key, start_second_page

    first = completed_first_page(bot)
    first_app = bot.case(1).app_id
    assert start_second_page(bot, channels="instagram", instagram_username="instagram.com/acme.bikes/", page="",
                             prerequisites=["ig_professional", "ig_page_linked", "ig_messages_access"]) == {}
    assert (bot.case(2).channels, bot.case(2).app_name) == ("instagram", bot.case(1).app_name)
    bot.click(LEAD, ActionId.APPROVE, message=bot.message_with(ActionId.APPROVE, 2))
    key = bot.sandbox.create_key(first["project_id"], "eu")
    assert register_key(bot, key) == {}
    second = bot.case(2)
    assert (second.state, second.app_id, second.project_id) == (S.INVITING, first_app, first["project_id"])
    assert any("found" in text for text in bot.thread_texts(2) if "Conversation API app" in text)
    bot.click(STAFF, ActionId.INVITATION_SENT, message=bot.message_with(ActionId.INVITATION_SENT, 2))

    assert first_app is not None
    bot.sandbox.connect_instagram(first["project_id"], first_app, username="acme.bikes")
    poll(bot)
    poll(bot)
    assert bot.case(2).state == S.REVOKING
    bot.click(STAFF, ActionId.ACCESS_REMOVED, message=bot.message_with(ActionId.ACCESS_REMOVED, 2))
    assert bot.case(2).state == S.COMPLETED
    assert len(bot.sandbox.state()["apps"]["eu"]) == 1  # still one app, now carrying both channels


def test_a_deleted_app_is_replaced_when_a_channel_is_added(bot: BotHarness) -> None:
    from tests.bot.test_second_page import completed_first_page, register_key, start_second_page

    first = completed_first_page(bot)
    first_app = bot.case(1).app_id
    assert first_app is not None
    app = bot.sandbox_app.state.app_anywhere(first["project_id"], first_app)
    assert app is not None
    bot.sandbox_app.state.delete_app(app)  # someone deleted it in the dashboard
    start_second_page(bot, channels="instagram", instagram_username="@acme.bikes", page="",
                      prerequisites=["ig_professional", "ig_page_linked", "ig_messages_access"])
    bot.click(LEAD, ActionId.APPROVE, message=bot.message_with(ActionId.APPROVE, 2))
    assert register_key(bot, bot.sandbox.create_key(first["project_id"], "eu")) == {}
    second = bot.case(2)
    assert second.state == S.INVITING and second.app_id not in (None, first_app)


def test_list_export_and_metrics_name_each_cases_channels(bot: BotHarness) -> None:
    import io

    from bot.ops.export import export_audit
    from tests.bot.test_commands import command
    from tests.bot.test_health import http_for

    bot.submit_intake(**BOTH)
    bot.submit_intake(**VALID_FORM_OTHER)
    listed = command(bot, "list")
    assert "(Messenger and Instagram)" in listed and "(Messenger)" in listed
    out = io.StringIO()
    export_audit(bot.deps.engine, out)
    assert ",messenger,instagram," in out.getvalue() or '"messenger,instagram"' in out.getvalue()
    metrics = http_for(bot).get("/metrics").text
    assert 'onboarding_open_by_channels{channels="messenger,instagram"} 1.0' in metrics
    assert 'onboarding_open_by_channels{channels="messenger"} 1.0' in metrics
