"""Claims in the database, in-process: what two processes would do, seen through two sets of collaborators on
one database (each with its own name in the leases). Real databases (SQLite file, or PostgreSQL with
TEST_DATABASE_URL), the fake Slack over loopback, the sandbox in-process."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import Session, col

from bot.background.outbox import METADATA_EVENT, OutboxDispatcher
from bot.slack.client import make_web_client
from bot.slack.home_viewers import HomeViewers
from store import leases
from store.db import make_engine, migrate, session_scope
from store.models import Onboarding, OutboxMessage, OutboxStatus
from store.states import POLLED_STATES, OnboardingState
from tests.bot.harness import CHANNEL, REQUESTER, VALID_FORM, BotHarness
from tests.databases import errors_at_once


@pytest.fixture
def bot(tmp_path: Path, database_url: str) -> Iterator[BotHarness]:
    harness = BotHarness(tmp_path, database_url=database_url)
    yield harness
    harness.close()


def submit_without_delivery(bot: BotHarness, count: int) -> None:
    """`count` cases, their posts queued: every form is opened (harness.send delivers) before any is submitted."""
    users = [f"U0REQ{index:02d}" for index in range(count)]
    for index, user in enumerate(users):
        bot.slack_state.add_user(user, f"user{index}")
    views = [bot.open_intake(user) for user in users]
    for index, (user, view_id) in enumerate(zip(users, views, strict=True)):
        values = {**VALID_FORM, "customer_name": f"Customer {index}", "contact_email": f"c{index}@example.test"}
        bot.sim.dispatch(bot.app, bot.sim.submit_view(user, view_id=view_id, values=values))


def dispatcher(bot: BotHarness, owner: str) -> OutboxDispatcher:
    return OutboxDispatcher(engine=bot.deps.engine, client=make_web_client(bot.settings, background=True),
                            approvers=bot.deps.approvers.mentions, clock=bot.clock, owner=owner, post_interval=0)


def posted_ids(bot: BotHarness) -> Counter[int]:
    return Counter(int((m.metadata or {})["event_payload"]["outbox_id"]) for m in bot.slack_state.messages(CHANNEL)
                   if (m.metadata or {}).get("event_type") == METADATA_EVENT)


def test_two_dispatchers_draining_one_outbox_post_every_row_once_in_order(bot: BotHarness) -> None:
    submit_without_delivery(bot, 6)
    first, second = dispatcher(bot, "process-a"), dispatcher(bot, "process-b")
    threads = [threading.Thread(target=outbox.deliver_due) for outbox in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert first.stats.delivered + second.stats.delivered == 12
    posted = posted_ids(bot)
    assert set(posted.values()) == {1} and len(posted) == 12
    for case_id in range(1, 7):
        messages = bot.thread(case_id)  # the card, then its reply: a reply never goes before its card
        assert len(messages) == 2


def test_a_claimed_row_is_left_alone_until_its_lease_ends_then_checked_in_slack(bot: BotHarness) -> None:
    submit_without_delivery(bot, 1)
    with Session(bot.deps.engine) as session:  # process A claimed the card row and died before posting
        session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == 1).values(
            status=OutboxStatus.SENDING, lease_owner="process-a", lease_until=bot.clock() + timedelta(seconds=30)))
        session.commit()
    other = dispatcher(bot, "process-b")
    assert other.deliver_due() == 0, "A's row is A's while its lease runs; B neither posts it nor its successors"
    assert bot.slack_state.messages(CHANNEL) == []
    bot.clock.advance(seconds=31)
    assert other.deliver_due() == 2
    assert other.stats.taken_over == 1
    assert set(posted_ids(bot).values()) == {1}


def test_two_processes_claiming_due_polls_get_disjoint_cases(bot: BotHarness) -> None:
    submit_without_delivery(bot, 4)
    now = bot.clock()
    with Session(bot.deps.engine) as session:
        session.execute(update(Onboarding).values(state=OnboardingState.AWAITING_CUSTOMER,
                                                         next_poll_at=now - timedelta(seconds=1)))
        session.commit()
    claims = []
    for owner in ("process-a", "process-b"):
        with session_scope(bot.deps.engine) as session:
            claims.append(leases.claim_due_polls(session=session, states=POLLED_STATES, now=now, owner=owner,
                                                 lease_ttl=timedelta(seconds=30), limit=3).ids)
    assert len(claims[0]) == 3 and len(claims[1]) == 1 and not set(claims[0]) & set(claims[1])
    with session_scope(bot.deps.engine) as session:  # process A dies; after its lease, B takes its cases
        taken = leases.claim_due_polls(session=session, states=POLLED_STATES, now=now + timedelta(seconds=31),
                                       owner="process-b", lease_ttl=timedelta(seconds=30), limit=10)
    assert sorted(taken.ids) == sorted(claims[0] + claims[1])
    assert sorted(case for case, owner in taken.taken_over if owner == "process-a") == sorted(claims[0])


def test_a_home_tab_is_refreshed_by_one_process_only(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    try:
        first, second = HomeViewers(engine), HomeViewers(engine)
        start = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
        first.opened("U0VIEWER", start)  # the event reached process A
        later = start + timedelta(minutes=2)
        assert (second.claim_due(later), first.claim_due(later)) == (["U0VIEWER"], [])
        assert second.claim_due(later + timedelta(seconds=30)) == []
        assert first.claim_due(later + timedelta(minutes=1)) == ["U0VIEWER"]
    finally:
        engine.dispose()


def test_a_retried_event_is_applied_once(bot: BotHarness) -> None:
    request = bot.sim.event({"type": "app_home_opened", "user": REQUESTER, "tab": "home"}, event_id="Ev0RETRY")
    retry = bot.sim.event({"type": "app_home_opened", "user": REQUESTER, "tab": "home"}, event_id="Ev0RETRY",
                          retry_num=1)
    assert bot.send(request).status == 200 and bot.send(retry).status == 200
    assert len(bot.slack_state.calls_to("views.publish")) == 1


def test_replicas_starting_together_migrate_once(database_url: str) -> None:
    assert errors_at_once([make_engine(database_url) for _ in range(4)], migrate) == []


def test_an_app_creation_left_by_the_previous_version_is_resumed(bot: BotHarness) -> None:
    """During a rolling upgrade an old process registers a project: it keeps the creation's next attempt in
    next_poll_at and knows nothing of app_attempt_at. New processes still resume it."""
    submit_without_delivery(bot, 1)
    now = bot.clock()
    with Session(bot.deps.engine) as session:
        session.execute(update(Onboarding).values(state=OnboardingState.CREATING_APP, app_attempt_at=None,
                                                  next_poll_at=now - timedelta(seconds=1)))
        session.commit()
    with session_scope(bot.deps.engine) as session:
        assert leases.due_app_creations(session=session, now=now, limit=10) == [1]
