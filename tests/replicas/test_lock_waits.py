"""Transactions in several processes that must wait for each other, on PostgreSQL's locks.

Claims of one kind must not pass over a case that another kind of work holds locked for a moment.

The poll sweep and the reminder sweep fire on the same timer, and each claims its cases with
`FOR NO KEY UPDATE SKIP LOCKED`: a case that the other sweep's claim held at that instant used to be
passed over until the next sweep, every sweep (on PostgreSQL the demo's polls came every 6-7 s instead of
every second). Each test holds a case the way the other sweep does, in a transaction left open, and lets
it go only once the sweep under test is seen waiting for it.

A check and the write it allows (no open case for this customer, then the case; nobody has this project,
then the registration) must not interleave with the same in another process: the second waits for the first
and then sees what it wrote.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session

from bot import workflow
from bot.background import jobs
from bot.slack.ids import ActionId
from bot.workflow import Actor, DuplicateOnboarding, ProjectNotFresh
from bot.workflow.reminders import REMINDED_STATES
from store import leases, repo
from store.db import session_scope
from store.states import POLLED_STATES
from store.states import OnboardingState as S
from tests.bot.harness import CHANNEL, LEAD, REQUESTER, STAFF, VALID_FORM, BotHarness
from tests.bot.jobs_helpers import app_reads, at, invite, invited_at_of, replies
from tests.e2e.processes import wait_until

pytestmark = pytest.mark.postgres_only

OTHER_PROCESS = "process-b"
LEASE = timedelta(seconds=30)


@pytest.fixture
def bot(tmp_path: Path, database_url: str) -> Iterator[BotHarness]:
    harness = BotHarness(tmp_path, database_url=database_url)
    yield harness
    harness.close()


def waiting_for_a_lock(bot: BotHarness) -> bool:
    with bot.deps.engine.connect() as connection:
        waiting = connection.execute(text("SELECT count(*) FROM pg_stat_activity "
                                          "WHERE datname = current_database() AND wait_event_type = 'Lock'"))
        return bool(waiting.scalar())


def run_while_held(bot: BotHarness, hold: Callable[[Session], leases.Claimed], job: Callable[[], Any]) -> Any:
    """Run `job` in a thread while another transaction holds what `hold` claimed; let go once `job` waits
    for it (or has finished without waiting, as it did before: then what it did shows what it passed over)."""
    result: list[Any] = []
    with Session(bot.deps.engine) as other:
        assert hold(other).ids, "the other transaction must hold the case"
        worker = threading.Thread(target=lambda: result.append(job()))
        worker.start()
        try:
            wait_until(lambda: waiting_for_a_lock(bot) or not worker.is_alive(), timeout=10,
                       what="the sweep to wait for the held case")
        finally:
            other.commit()
            worker.join(timeout=30)
    assert result, "the job did not finish"
    return result[0]


def test_a_due_poll_held_for_a_moment_by_the_reminder_claim_is_polled_in_the_same_sweep(bot: BotHarness) -> None:
    case = invite(bot)
    bot.clock.advance(minutes=1)
    reads = app_reads(bot)
    report = run_while_held(bot, lambda session: leases.claim_for_reminders(
        session=session, states=REMINDED_STATES, now=bot.clock(), owner=OTHER_PROCESS, lease_ttl=LEASE, limit=10),
        lambda: jobs.poll_sweep(bot.deps))
    assert (report.polled, app_reads(bot)) == (1, reads + 1)
    assert bot.case(case.case_id).work_lease_owner is None


def test_a_due_reminder_held_for_a_moment_by_the_poll_claim_is_sent_in_the_same_sweep(bot: BotHarness) -> None:
    case = invite(bot)
    at(bot, invited_at_of(bot, case.case_id) + timedelta(days=3))  # the customer reminder is due, and a poll
    acted = run_while_held(bot, lambda session: leases.claim_due_polls(
        session=session, states=POLLED_STATES, now=bot.clock(), owner=OTHER_PROCESS, lease_ttl=LEASE, limit=10),
        lambda: jobs.reminder_sweep(bot.deps))
    bot.deliver()
    assert acted == 1
    assert len(replies(bot, case.case_id, "Reminder")) == 1


def test_a_wait_for_a_case_held_longer_gives_up_and_leaves_the_transaction_usable(bot: BotHarness) -> None:
    case = invite(bot)
    with Session(bot.deps.engine) as other:
        assert leases.claim_for_reminders(session=other, states=REMINDED_STATES, now=bot.clock(),
                                          owner=OTHER_PROCESS, lease_ttl=LEASE, limit=10).ids == [case.case_id]
        with Session(bot.deps.engine) as waiting:
            assert not leases.wait_for_row_locks(session=waiting, onboarding_ids=[case.case_id],
                                                 timeout=timedelta(milliseconds=50))
            claimed = leases.claim_due_polls(session=waiting, states=POLLED_STATES, now=bot.clock() + LEASE,
                                             owner="process-a", lease_ttl=LEASE, limit=10)
            assert (claimed.ids, claimed.busy) == ([], [case.case_id])
        other.commit()


def test_waiting_for_one_case_never_holds_another_so_it_cannot_deadlock(bot: BotHarness) -> None:
    first, second = invite(bot, "Acme Bikes").case_id, invite(bot, "Bolt Cycles").case_id
    waited: list[bool] = []
    with Session(bot.deps.engine) as other:
        assert repo.lock_onboarding(session=other, onboarding_id=second) is not None
        with Session(bot.deps.engine) as waiting:
            worker = threading.Thread(target=lambda: waited.append(leases.wait_for_row_locks(
                session=waiting, onboarding_ids=[first, second], timeout=timedelta(seconds=20))))
            worker.start()
            wait_until(lambda: waiting_for_a_lock(bot) or not worker.is_alive(), timeout=10,
                       what="the wait to reach the held case")
            # Had the wait kept its lock on the first case, this would deadlock (and PostgreSQL kill one side).
            assert repo.lock_onboarding(session=other, onboarding_id=first) is not None
            other.commit()
            worker.join(timeout=30)
    assert waited == [True]


def in_thread(bot: BotHarness, first: Session, act: Callable[[Session], object]) -> list[object]:
    """`act` in a thread of its own (another process), while `first` has done the same but not committed;
    `first` commits once the other is seen waiting (or has finished without waiting, as before). Returns
    what the thread's `act` returned, or the error it raised."""
    outcome: list[object] = []

    def second() -> None:
        try:
            with session_scope(bot.deps.engine) as session:
                outcome.append(act(session))
        except Exception as exc:  # the outcome under test
            outcome.append(exc)

    worker = threading.Thread(target=second)
    worker.start()
    wait_until(lambda: waiting_for_a_lock(bot) or not worker.is_alive(), timeout=10,
               what="the second transaction to wait for the first")
    first.commit()
    worker.join(timeout=30)
    return outcome


def test_one_customer_submitted_twice_at_once_opens_one_case(bot: BotHarness) -> None:
    form = workflow.parse_intake(VALID_FORM)

    def submit(session: Session, requester: str) -> int | None:
        return workflow.submit_intake(session=session, intake=form, requester_id=requester, channel=CHANNEL,
                                      now=bot.clock()).id

    with Session(bot.deps.engine) as first:
        opened = submit(first, REQUESTER)
        outcome = in_thread(bot, first, lambda session: submit(session, STAFF))
    assert len(outcome) == 1 and isinstance(outcome[0], DuplicateOnboarding)
    assert outcome[0].existing_id == opened
    with session_scope(bot.deps.engine) as session:
        assert [case.id for case in repo.list_open(session=session)] == [opened]


def test_one_project_registered_for_two_cases_at_once_goes_to_one(bot: BotHarness) -> None:
    approved = [1, 2]  # the ids of a fresh database's first two cases
    for case_id, name in zip(approved, ("Acme Bikes", "Bolt Cycles"), strict=True):
        bot.submit_intake(customer_name=name, contact_email=f"owner@{name.split()[0].lower()}.test")
        bot.click(LEAD, ActionId.APPROVE, message=bot.message_with(ActionId.APPROVE, case_id))
        assert bot.case(case_id).state == S.CREATING_PROJECT
    creds = bot.sandbox.create_project("Acme Bikes", "eu")

    def register(session: Session, case_id: int) -> S:
        return workflow.register_project(session=session, onboarding_id=case_id, actor=Actor(STAFF),
                                         project_id=creds.project_id, key_id=creds.key_id,
                                         key_secret_sealed=bot.deps.secrets.seal(creds.key_secret),
                                         now=bot.clock()).state

    with Session(bot.deps.engine) as first:
        assert register(first, approved[0]) == S.CREATING_APP
        outcome = in_thread(bot, first, lambda session: register(session, approved[1]))
    assert len(outcome) == 1 and isinstance(outcome[0], ProjectNotFresh)
    assert [bot.case(case_id).project_id for case_id in approved] == [creds.project_id, None]
