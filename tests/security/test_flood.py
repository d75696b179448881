"""One flood must not delay everyone.

- A person can open at most INTAKE_LIMIT_PER_HOUR onboardings per hour: `/onboard` then answers with an
  ephemeral refusal instead of the form, and a form opened before the limit was reached is refused in the
  modal. The count comes from the database, so two bot processes (replicas) on one database share it.
- Delivery priority: with hundreds of routine updates of one case queued, a new case's first card and
  its approval request are posted before the flood's tail, and each case's own messages keep their order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot import workflow
from bot.runtime import build_runtime
from bot.workflow.core import report
from bot.workflow.notices import ApprovalRequest, ReminderAbout
from bot.workflow.reminders import DueReminder
from store.db import session_scope
from store.models import Onboarding, OutboxMessage, OutboxPriority
from tests.bot.harness import CHANNEL, REQUESTER, STAFF, VALID_FORM, BotHarness, run_now
from tests.security.figures import FIGURES

LIMIT = 3


def intake(bot: BotHarness, user: str, number: int) -> Any:
    return bot.submit_intake(user, customer_name=f"Flood {user} {number}", contact_email=f"f{number}@{user}.test")


def views_opened(bot: BotHarness) -> int:
    return sum(1 for call in bot.slack_state.calls if call.method == "views.open")


@pytest.fixture
def limited(tmp_path: Path, migrated_database_url: str) -> Any:
    bot = BotHarness(tmp_path, database_url=migrated_database_url, INTAKE_LIMIT_PER_HOUR=str(LIMIT))
    yield bot
    bot.close()


def test_the_hourly_limit_refuses_the_form_with_an_ephemeral_message(limited: BotHarness) -> None:
    bot = limited
    for number in range(LIMIT):
        assert intake(bot, REQUESTER, number).status == 200
    opened = views_opened(bot)
    response = bot.send(bot.sim.slash_command(REQUESTER, text="", channel_id=CHANNEL))
    assert response.status == 200
    assert views_opened(bot) == opened, "no form for someone at their limit"
    answers = [json.dumps(post.body) for post in bot.slack_state.response_posts]
    assert any("INTAKE_LIMIT_PER_HOUR=3" in answer and "ephemeral" in answer for answer in answers), answers[-1:]
    # Someone else is not affected, and an hour later the requester may open one again.
    assert intake(bot, STAFF, 1).status == 200
    bot.clock.advance(hours=1, seconds=1)
    assert intake(bot, REQUESTER, LIMIT).status == 200
    FIGURES["flood: intakes refused at the hourly limit"] += 1


def test_a_form_opened_before_the_limit_is_refused_in_the_modal(limited: BotHarness) -> None:
    bot = limited
    view_id = bot.open_intake(REQUESTER)  # the form is open; meanwhile the limit is reached (another tab)
    for number in range(LIMIT):
        values = {**VALID_FORM, "customer_name": f"Tab {number}", "contact_email": f"t{number}@x.test"}
        form = workflow.parse_intake(values)
        with session_scope(bot.deps.engine) as session:
            workflow.submit_intake(session=session, intake=form, requester_id=REQUESTER, channel=CHANNEL,
                                   now=bot.clock(), limit_per_hour=LIMIT)
    response = bot.send(bot.sim.submit_view(REQUESTER, view_id=view_id, values={**VALID_FORM}))
    errors = json.loads(response.body)["errors"]
    assert "INTAKE_LIMIT_PER_HOUR" in errors["customer_name"]
    with session_scope(bot.deps.engine) as session:
        assert [case.customer_name for case in session.exec(select(Onboarding))] == [f"Tab {n}" for n in range(LIMIT)]


def test_replicas_share_the_count(limited: BotHarness) -> None:
    """Two bot runtimes on one database file: the limit holds across them (no in-memory counters)."""
    bot = limited
    other = build_runtime(bot.settings, clock=bot.clock, sinch_transport=bot.sandbox_transport, post_interval=0,
                          run_later=run_now)
    try:
        apps = [bot.runtime.app, other.app]
        for number in range(LIMIT):  # submissions alternate between the two replicas
            view_id = bot.open_intake(REQUESTER)
            request = bot.sim.submit_view(REQUESTER, view_id=view_id, values={
                **VALID_FORM, "customer_name": f"Replica {number}", "contact_email": f"r{number}@x.test"})
            assert bot.sim.dispatch(apps[number % 2], request).body == ""
        opened = views_opened(bot)
        for app in apps:  # both replicas now refuse the form
            assert bot.sim.dispatch(app, bot.sim.slash_command(REQUESTER, text="", channel_id=CHANNEL)).status == 200
        assert views_opened(bot) == opened
        refusals = [json.dumps(post.body) for post in bot.slack_state.response_posts]
        assert sum("INTAKE_LIMIT_PER_HOUR" in text for text in refusals) == 2
    finally:
        other.shutdown()


def test_a_new_case_is_delivered_before_the_tail_of_a_flood(tmp_path: Path, migrated_database_url: str) -> None:
    bot = BotHarness(tmp_path, database_url=migrated_database_url)
    try:
        intake(bot, REQUESTER, 0)  # case 1: its card and approval request are delivered
        flood = 300
        with session_scope(bot.deps.engine) as session:  # then case 1 gets 300 routine updates
            for index in range(flood):
                workflow.remind(session=session, onboarding_id=1, mention=[], now=bot.clock(),
                                due=DueReminder(about=ReminderAbout.APPROVAL, due_count=index + 1))
        posted_before = len(bot.slack_state.calls)
        # Case 2 arrives behind the flood (dispatched without delivering), then one delivery pass runs.
        assert bot.sim.dispatch(bot.app, bot.sim.slash_command(STAFF, text="", channel_id=CHANNEL)).status == 200
        view = bot.slack_state.last_view_for(STAFF)
        assert view is not None
        request = bot.sim.submit_view(STAFF, view_id=view.view_id, values={
            **VALID_FORM, "customer_name": "Newcomer", "contact_email": "new@comer.test"})
        assert bot.sim.dispatch(bot.app, request).body == ""
        bot.deliver()

        posts = [call.params for call in bot.slack_state.calls[posted_before:] if call.method == "chat.postMessage"]
        order = [(post["metadata"]["event_payload"]["onboarding_id"], post["metadata"]["event_payload"]["outbox_id"])
                 for post in posts]
        new_case = [index for index, (case, _) in enumerate(order) if case == 2]
        flood_posts = [index for index, (case, _) in enumerate(order) if case == 1]
        assert len(flood_posts) == flood and len(new_case) == 2  # its card and its approval request
        assert max(new_case) < min(flood_posts), "the new case waited behind the flood"
        for case in (1, 2):  # per-case order: rows go out in the order they were written
            ids = [row for owner, row in order if owner == case]
            assert ids == sorted(ids)
        with session_scope(bot.deps.engine) as session:
            rows = session.exec(select(OutboxMessage).where(OutboxMessage.onboarding_id == 2)).all()
            assert {row.priority for row in rows if row.kind.value != "resolve"} == {OutboxPriority.URGENT}
        FIGURES["flood: routine rows a new case overtook"] = flood
    finally:
        bot.close()


def test_an_urgent_row_never_overtakes_its_own_case(tmp_path: Path, migrated_database_url: str) -> None:
    """A case with routine rows still queued: a later approval request of that case stays behind them."""
    bot = BotHarness(tmp_path, database_url=migrated_database_url)
    try:
        intake(bot, REQUESTER, 0)
        with session_scope(bot.deps.engine) as session:
            workflow.remind(session=session, onboarding_id=1, mention=[], now=bot.clock(),
                            due=DueReminder(about=ReminderAbout.APPROVAL, due_count=1))
            case = workflow.load(session=session, onboarding_id=1)
            report(ApprovalRequest(), session=session, case=case, now=bot.clock())
        with session_scope(bot.deps.engine) as session:
            pending = [row for row in session.exec(select(OutboxMessage).order_by(OutboxMessage.id))  # type: ignore[arg-type]
                       if row.status.value == "pending"]
        assert [row.priority for row in pending] == [OutboxPriority.ROUTINE] * len(pending)
    finally:
        bot.close()
