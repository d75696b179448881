"""Typed notices: every kind survives the outbox, and rows written by older versions still render."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.slack.blocks.replies import NoticeContext, render_notice
from bot.workflow import notices as n
from store import payloads
from store.models import Onboarding, PageType, Region
from store.states import OnboardingState

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
CASE = Onboarding(id=7, customer_name="Acme", customer_key="acme", contact_email="a@acme.example", region=Region.EU,
                  page="https://facebook.com/acme", page_type=PageType.BUSINESS, requester_id="U1",
                  state=OnboardingState.INVITING, project_id="p-1", app_name="Acme - Messenger")
SEEN = {"status": "FAILING", "description": "token <expired>", "page_name": "Acme", "page_id": "42"}

EVERY_KIND: list[n.Notice] = [
    n.ApprovalRequest(), n.ProjectStep(), n.AppFailed(error="boom", attempts=3),
    n.InviteStep(email="a@acme.example", project_id="p-1"),
    n.RevokeStep(reason=n.RevokeReason.EXPIRED, email="a@acme.example", project_id=None),
    n.Approved(by="U2"), n.Rejected(by="U2", requester="U1", reason="no"),
    n.ProjectRegistered(by="U3", project_id="p-1", key_id="k-1"),
    n.AppCreated(app_id="A1", app_name="Acme - Messenger", region=Region.EU, reused=True),
    n.CustomerInstructions(app_name="Acme - Messenger"), n.Invited(by="U3", email="a@acme.example"),
    n.ChannelPending(**SEEN), n.ChannelRecovered(**SEEN), n.ChannelActive(**SEEN), n.ChannelOther(**SEEN),
    n.ChannelFailing(**SEEN), n.Revoked(by="U3", outcome=OnboardingState.COMPLETED),
    n.Cancelled(by="U1", reason="changed mind", needs_revoke=True), n.Expired(requester="U1"),
    n.Reminder(state=OnboardingState.REVOKING, since=AT, mention=("U1", "U2"), about=n.ReminderAbout.CUSTOMER,
               waited=timedelta(days=3), expires_after=timedelta(days=14)),
    n.PollTrouble(failures=3, error="timeout"), n.PollRecovered(),
    n.RemovalCheckStep(by="U3", email="a@acme.example", project_id="p-1"),
    n.PageMismatch(requester="U1", requested_page="https://facebook.com/acme", page_name="Other", page_id="9"),
    n.WrongPage(by="U3", requested_page="https://facebook.com/acme", page_name="Other", page_id="9"),
    n.ReviewFlagged(by="U4"),
    n.Revoked(by="U3", outcome=OnboardingState.COMPLETED, checked_by="U4"),
    n.RevokeStep(reason=n.RevokeReason.ACTIVE, email="a@acme.example", page_check="mismatch",
                 requested_page="https://facebook.com/acme", page_name="Other", page_id="9"),
    n.ApprovalRequest(existing_of=3, project_id="p-1"), n.ProjectStep(existing_of=3, project_id="p-1"),
    n.ChannelUpdate(channel="instagram", status="FAILING", description="no <access>", identity="@acme.shop",
                    waiting_for=("instagram",), waiting_status=("FAILING",)),
    n.AccountMismatch(requester="U1", requested_account="acme.shop", username="other.shop", account_id="17"),
    n.WrongAccount(by="U3", requested_account="acme.shop", username="other.shop"),
    n.RevokeStep(reason=n.RevokeReason.ACTIVE, email="a@acme.example", account_check="mismatch",
                 requested_account="acme.shop", account_username="other.shop"),
]


def test_the_list_covers_every_kind() -> None:
    assert {type(notice) for notice in EVERY_KIND} == set(n.NOTICE_KINDS.values())


@pytest.mark.parametrize("notice", EVERY_KIND, ids=lambda notice: type(notice).__name__)
def test_every_kind_round_trips_through_the_outbox_and_renders(notice: n.Notice) -> None:
    assert n.decode_notice(payloads.encode(notice)) == notice
    rendered = render_notice(notice, NoticeContext(case=CASE, approvers=("U9",)))
    assert rendered.text and rendered.blocks


def test_a_customer_reminder_says_how_long() -> None:
    reminder = EVERY_KIND[19]
    assert isinstance(reminder, n.Reminder)
    assert "3 days" in n_text(reminder) and "14 days" in n_text(reminder)


@pytest.mark.parametrize(("channels", "asked"), [
    ("messenger", "a Facebook Page in"),
    ("instagram", "an Instagram account in"),
    ("messenger,instagram", "a Facebook Page and an Instagram account in"),
])
def test_a_customer_reminder_names_what_the_customer_connects(channels: str, asked: str) -> None:
    case = CASE.model_copy(update={"channels": channels, "instagram_username": "acme"})
    text = n_text(EVERY_KIND[19], case=case)
    assert f"has not connected {asked} 3 days" in text
    assert ("Facebook Page" in text) is ("messenger" in channels)


def n_text(notice: n.Notice, *, case: Onboarding = CASE) -> str:
    return json.dumps(render_notice(notice, NoticeContext(case=case, approvers=())).block_dicts())


# Rows as the bot wrote them before notices were typed (dicts with every value as JSON).
LEGACY_ROWS = {
    "app_failed": {"type": "app_failed", "step": "app_retry", "error": "Sinch said no", "attempts": 3},
    "invite_step": {"type": "invite_step", "step": "invite", "email": "a@acme.example", "project_id": "p-1",
                    "requester": "U1"},
    "revoke_step": {"type": "revoke_step", "step": "revoke", "reason": "active", "email": "a@acme.example",
                    "project_id": "p-1", "requester": "U1"},
    "channel_failing": {"type": "channel_failing", "requester": "U1", **SEEN},
    "revoked": {"type": "revoked", "by": "U3", "outcome": "completed"},
    "reminder": {"type": "reminder", "reminder": "Please do the thing.", "mention": ["U1"],
                 "state": "inviting", "since": AT.isoformat()},
    "approval_request": {"type": "approval_request", "step": "approval", "requester": "U1", "customer": "Acme",
                         "email": "a@acme.example", "region": "eu"},
}


@pytest.mark.parametrize("kind", sorted(LEGACY_ROWS))
def test_rows_written_before_notices_were_typed_still_render(kind: str) -> None:
    notice = n.decode_notice(json.dumps(LEGACY_ROWS[kind]))
    assert not isinstance(notice, n.UnknownNotice) and type(notice).tag == kind
    assert render_notice(notice, NoticeContext(case=CASE, approvers=("U9",))).blocks


def test_a_legacy_reminder_shows_its_stored_sentence() -> None:
    notice = n.decode_notice(json.dumps(LEGACY_ROWS["reminder"]))
    assert "Please do the thing." in n_text(notice)


def test_the_app_step_was_once_called_app_retry() -> None:
    legacy = n.decode_resolution(json.dumps({"step": "app_retry", "outcome": "created", "by": "bot",
                                             "at": AT.isoformat()}))
    assert legacy == n.Resolution(step=n.StepKey.APP, outcome=n.Outcome.CREATED, by="bot", at=AT)
    assert n.step_of(n.decode_notice(json.dumps(LEGACY_ROWS["app_failed"]))) is n.StepKey.APP


def test_steps_and_notices_share_the_step_keys() -> None:
    from bot.workflow.steps import STEPS
    assert [step.key for step in STEPS] == list(n.StepKey)


def test_an_unknown_type_renders_as_a_plain_update() -> None:
    notice = n.decode_notice(json.dumps({"type": "from_the_future", "x": 1}))
    assert notice == n.UnknownNotice(type="from_the_future")
    assert "from_the_future" in n_text(notice)
