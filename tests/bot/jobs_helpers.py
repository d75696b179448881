"""Shared by the scheduler job tests: drive a case to the invitation, run sweeps, read the thread."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from bot.background import jobs
from bot.slack.ids import ActionId
from devslack import FakeMessage
from store.models import Onboarding
from store.states import OnboardingState as S
from tests.bot.harness import LEAD, REQUESTER, STAFF, BotHarness

APP_ROUTE = "GET /conversation/{region}/v1/projects/{project}/apps/{app}"
APPROVER_MENTIONS = (f"<@{LEAD}>", "<!subteam^S0LEADS>")
REQUESTER_MENTION = f"<@{REQUESTER}>"


@dataclass(frozen=True)
class Invited:
    case_id: int
    project_id: str
    app_id: str


def invite(bot: BotHarness, name: str = "Acme Bikes") -> Invited:
    """Drive one onboarding through Slack to "awaiting the customer": intake, approval, project, invite."""
    slug = name.lower().replace(" ", "-")
    bot.submit_intake(customer_name=name, contact_email=f"owner@{slug}.test")
    with Session(bot.deps.engine) as session:
        case_id = session.exec(select(func.max(Onboarding.id))).one()
    assert case_id is not None
    bot.click(LEAD, ActionId.APPROVE, message=bot.message_with(ActionId.APPROVE, case_id))
    creds = bot.sandbox.create_project(name, "eu")
    bot.click(STAFF, ActionId.REGISTER_PROJECT, message=bot.message_with(ActionId.REGISTER_PROJECT, case_id))
    bot.submit_modal(STAFF, {"project_id": creds.project_id, "key_id": creds.key_id,
                             "key_secret": creds.key_secret})
    bot.click(STAFF, ActionId.INVITATION_SENT, message=bot.message_with(ActionId.INVITATION_SENT, case_id))
    case = bot.case(case_id)
    assert case.state == S.AWAITING_CUSTOMER and case.app_id
    return Invited(case_id, creds.project_id, case.app_id)


def sweep(bot: BotHarness) -> jobs.SweepReport:
    report = jobs.poll_sweep(bot.deps)
    bot.deliver()
    return report


def remind(bot: BotHarness) -> int:
    acted = jobs.reminder_sweep(bot.deps)
    bot.deliver()
    return acted


def replies(bot: BotHarness, case_id: int, fallback: str) -> list[FakeMessage]:
    """The thread replies whose notification text is `fallback` (each notice type has its own)."""
    return [m for m in bot.thread(case_id)[1:] if m.text == fallback]


def body(message: FakeMessage) -> str:
    return json.dumps(message.blocks)


def app_reads(bot: BotHarness) -> int:
    return bot.sandbox_app.state.request_count(APP_ROUTE)


def fail_reads_of(bot: BotHarness, app_id: str, **fault: Any) -> None:
    """A sandbox fault on this one app's status route only."""
    bot.sandbox.add_fault(f"/apps/{app_id}$", method="GET", **fault)


def at(bot: BotHarness, moment: datetime) -> None:
    bot.clock.now = moment


def invited_at_of(bot: BotHarness, case_id: int) -> datetime:
    invited_at = bot.case(case_id).invited_at
    assert invited_at is not None
    return invited_at


def next_poll_of(bot: BotHarness, case_id: int) -> datetime:
    due = bot.case(case_id).next_poll_at
    assert due is not None
    return due
