"""Races: two people (or a person and the scheduler) acting on one case at the same instant.

Every scenario runs RUNS times with real threads, released together by a barrier, against a file-backed
SQLite database (WAL, `BEGIN IMMEDIATE`) or a PostgreSQL one (TEST_DATABASE_URL), each run on a case of its
own, freshly seeded to the scenario's starting state in the scenario's database.
Each run must end in exactly one transition with exactly one audit event, and the loser must get a domain
error (WrongState / NotAllowed) - never a second transition, never an unexpected exception.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

from bot import workflow
from bot.background import jobs
from bot.deps import Deps
from bot.flows.transaction import attempts
from bot.runtime import make_wsgi_app
from bot.slack.ids import ActionId
from bot.workflow import Actor, NotAllowed, NoticeType, OnboardingError, WrongState
from store.db import make_engine, session_scope
from store.models import AuditEvent, Onboarding, OutboxKind, OutboxMessage
from store.states import OnboardingState as S
from tests.bot.harness import CHANNEL, GROUP_LEAD, LEAD, REQUESTER, STAFF, VALID_FORM, BotHarness
from tests.databases import DatabaseServer
from tests.security.figures import FIGURES

RUNS = 50
JOIN_TIMEOUT = 30.0
APPROVER_A = Actor(LEAD, is_approver=True)
APPROVER_B = Actor(GROUP_LEAD, is_approver=True)
OTHER_STAFF = "U0STAFFTWO"


# -- plumbing -------------------------------------------------------------------------------------


@dataclass
class Outcome:
    kind: str  # "ok", "refused" (a domain error) or "crash" (anything else)
    value: Any = None


def race(*contenders: Callable[[], object]) -> list[Outcome]:
    """Run the contenders on their own threads, released at the same instant; collect what each got."""
    barrier = threading.Barrier(len(contenders))
    outcomes: list[Outcome] = [Outcome("crash", "did not finish")] * len(contenders)

    def run(index: int, contender: Callable[[], object]) -> None:
        barrier.wait()
        try:
            outcomes[index] = Outcome("ok", contender())
        except OnboardingError as exc:
            outcomes[index] = Outcome("refused", exc)
        except BaseException as exc:  # noqa: B036 - a crash is exactly what the test looks for
            outcomes[index] = Outcome("crash", exc)

    threads = [threading.Thread(target=run, args=(i, c), name=f"contender-{i}") for i, c in enumerate(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a contender hung"
    return outcomes


def one_winner(outcomes: list[Outcome]) -> tuple[int, Outcome]:
    """Exactly one contender succeeded and the other got a domain error; returns the winner's index."""
    assert [o for o in outcomes if o.kind == "crash"] == [], outcomes
    winners = [i for i, o in enumerate(outcomes) if o.kind == "ok"]
    assert len(winners) == 1, outcomes
    loser = outcomes[1 - winners[0]]
    assert loser.kind == "refused" and isinstance(loser.value, WrongState | NotAllowed), outcomes
    return winners[0], outcomes[winners[0]]


class Template:
    """A scenario's starting point: a migrated database of the scenario's own, and in it, for each run, a case
    of the run's own seeded to that point (its own customer, e-mail and project, so no run's case meets
    another's duplicate or fresh-project checks).

    A race is about one case's row; earlier runs' cases, out of the race, are what a production database holds
    anyway. One database and engine for all runs: one per run cost a PostgreSQL copy each, and a new engine
    compiles every statement again (SQLAlchemy caches compiled SQL per engine).
    """

    def __init__(self, server: DatabaseServer, seed: Callable[[Session, int], int]) -> None:
        self.server = server
        self.seed = seed  # seeds run `index`'s case and returns its id

    @dataclass
    class Run:
        deps: Deps
        case_id: int
        last_event: int  # the seed's last audit event and outbox row: what the run adds comes after them
        last_outbox: int

        def events(self) -> list[AuditEvent]:
            with Session(self.deps.engine) as session:
                return list(session.exec(select(AuditEvent).where(AuditEvent.onboarding_id == self.case_id)
                                         .where(col(AuditEvent.id) > self.last_event)
                                         .order_by(col(AuditEvent.id))))

        def notices(self) -> list[str]:
            """Notice types of the thread replies queued during the run."""
            with Session(self.deps.engine) as session:
                rows = session.exec(select(OutboxMessage).where(OutboxMessage.onboarding_id == self.case_id)
                                    .where(col(OutboxMessage.id) > self.last_outbox)
                                    .where(OutboxMessage.kind == OutboxKind.REPLY))
                return sorted(json.loads(row.notice)["type"] for row in rows)

        def case(self) -> Onboarding:
            with Session(self.deps.engine) as session:
                case = session.get(Onboarding, self.case_id)
            assert case is not None
            return case

    def runs(self, deps: Deps, count: int) -> Iterator[Template.Run]:
        url = self.server.create(template=self.server.migrated_template())
        engine = make_engine(url)
        try:
            for index in range(count):
                with session_scope(engine) as session:
                    case_id = self.seed(session, index)
                with session_scope(engine) as session:
                    last_event = session.exec(select(func.max(AuditEvent.id))).one() or 0
                    last_outbox = session.exec(select(func.max(OutboxMessage.id))).one() or 0
                yield Template.Run(replace(deps, engine=engine), case_id, last_event, last_outbox)
        finally:
            engine.dispose()
            self.server.drop(url)


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory, database_server: DatabaseServer) -> Iterator[BotHarness]:
    url = database_server.create(template=database_server.migrated_template())
    harness = BotHarness(tmp_path_factory.mktemp("race-bot"), database_url=url)
    yield harness
    harness.close()
    database_server.drop(url)


@dataclass(frozen=True)
class LiveApp:
    """A real sandbox project whose app's Messenger channel reads ACTIVE, for the poll sweep."""

    project_id: str
    key_id: str
    key_secret: str
    app_id: str
    app_name: str


def live_app(bot: BotHarness, customer_name: str) -> LiveApp:
    creds = bot.sandbox.create_project(customer_name, "eu")
    app = bot.deps.sinch.apps.create(creds, display_name=workflow.app_display_name(customer_name))
    bot.sandbox.connect_page(creds.project_id, app.id, outcome="ACTIVE")
    assert bot.deps.sinch.messenger.status(creds, app.id).status == "PENDING"  # the first read after a connect
    assert bot.deps.sinch.messenger.status(creds, app.id).status == "ACTIVE"
    return LiveApp(creds.project_id, creds.key_id, creds.key_secret, app.id, app.display_name)


@pytest.fixture(scope="module")
def templates(database_server: DatabaseServer, bot: BotHarness) -> dict[str, Template]:
    now = bot.clock()

    def submitted(session: Session, index: int) -> int:
        form = {**VALID_FORM, "customer_name": f"Acme Bikes {index}", "contact_email": f"owner{index}@acme.test"}
        case = workflow.submit_intake(session=session, intake=workflow.parse_intake(form), requester_id=REQUESTER,
                                      channel=CHANNEL, now=now)
        assert case.id is not None
        return case.id

    def approved(session: Session, index: int) -> int:
        case_id = submitted(session, index)
        workflow.approve(session=session, onboarding_id=case_id, actor=APPROVER_A, allow_self_approval=False,
                         now=now)
        return case_id

    def invited(session: Session, index: int) -> int:
        case_id = approved(session, index)
        app = live_app(bot, f"Acme Bikes {index}")
        workflow.register_project(session=session, onboarding_id=case_id, actor=Actor(STAFF),
                                  project_id=app.project_id, key_id=app.key_id,
                                  key_secret_sealed=bot.deps.secrets.seal(app.key_secret), now=now)
        workflow.record_app_created(session=session, onboarding_id=case_id, app_id=app.app_id,
                                    app_name=app.app_name, reused=False, now=now)
        workflow.confirm_invite(session=session, onboarding_id=case_id, actor=Actor(STAFF), now=now)
        return case_id

    return {
        "awaiting_approval": Template(database_server, submitted),
        "creating_project": Template(database_server, approved),
        "awaiting_customer": Template(database_server, invited),
    }


# -- the scenarios --------------------------------------------------------------------------------


def test_two_approvers_click_approve_at_once(bot: BotHarness, templates: dict[str, Template]) -> None:
    for run in templates["awaiting_approval"].runs(bot.deps, RUNS):
        deps, case_id = run.deps, run.case_id

        def approve(actor: Actor, deps: Deps = deps, case_id: int = case_id) -> Onboarding:
            for attempt in attempts(deps):
                with attempt as session:
                    case = workflow.approve(
                        session=session, onboarding_id=case_id, actor=actor, allow_self_approval=False,
                        now=deps.clock())
            return case

        winner, _ = one_winner(race(lambda: approve(APPROVER_A), lambda: approve(APPROVER_B)))
        case = run.case()
        assert (case.state, case.approver_id) == (S.CREATING_PROJECT, [LEAD, GROUP_LEAD][winner])
        assert [(e.action, e.actor, e.from_state, e.to_state) for e in run.events()] == [
            ("approve", [LEAD, GROUP_LEAD][winner], S.AWAITING_APPROVAL, S.CREATING_PROJECT)]
        assert run.notices() == sorted([NoticeType.APPROVED, NoticeType.PROJECT_STEP])
        FIGURES["races: two approvers approve (workflow, in_transaction)"] += 1


def test_approve_and_cancel_at_once(bot: BotHarness, templates: dict[str, Template]) -> None:
    winners = {"approve": 0, "cancel": 0}
    for run in templates["awaiting_approval"].runs(bot.deps, RUNS):
        deps, case_id = run.deps, run.case_id

        def approve(deps: Deps = deps, case_id: int = case_id) -> Onboarding:
            for attempt in attempts(deps):
                with attempt as session:
                    case = workflow.approve(
                        session=session, onboarding_id=case_id, actor=APPROVER_A, allow_self_approval=False,
                        now=deps.clock())
            return case

        def cancel(deps: Deps = deps, case_id: int = case_id) -> Onboarding:
            # The requester opened the cancel form while the case was awaiting approval.
            for attempt in attempts(deps):
                with attempt as session:
                    case = workflow.cancel(
                        session=session, onboarding_id=case_id, actor=Actor(REQUESTER),
                        reason="Customer changed their mind", now=deps.clock(), seen_state=S.AWAITING_APPROVAL)
            return case

        winner, _ = one_winner(race(approve, cancel))
        case = run.case()
        events = [(e.action, e.from_state, e.to_state) for e in run.events()]
        if winner == 0:
            winners["approve"] += 1
            assert (case.state, case.cancelled_by) == (S.CREATING_PROJECT, None)
            assert events == [("approve", S.AWAITING_APPROVAL, S.CREATING_PROJECT)]
            assert run.notices() == sorted([NoticeType.APPROVED, NoticeType.PROJECT_STEP])
        else:
            winners["cancel"] += 1
            assert (case.state, case.approver_id) == (S.CANCELLED, None)
            assert events == [("cancel", S.AWAITING_APPROVAL, S.CANCELLED)]
            assert run.notices() == [NoticeType.CANCELLED]
    assert sum(winners.values()) == RUNS
    FIGURES["races: approve vs cancel"] += RUNS
    FIGURES["races: approve vs cancel, approve won"] += winners["approve"]
    FIGURES["races: approve vs cancel, cancel won"] += winners["cancel"]


def test_two_staff_register_the_project_at_once(bot: BotHarness, templates: dict[str, Template]) -> None:
    secrets = bot.deps.secrets
    for run in templates["creating_project"].runs(bot.deps, RUNS):
        deps, case_id = run.deps, run.case_id

        def register(user: str, suffix: str, deps: Deps = deps, case_id: int = case_id) -> Onboarding:
            for attempt in attempts(deps):
                with attempt as session:
                    case = workflow.register_project(
                        session=session, onboarding_id=case_id, actor=Actor(user),
                        project_id=f"project-{case_id}-{suffix}",
                        key_id=f"key-{suffix}", key_secret_sealed=secrets.seal(f"secret-{suffix}"), now=deps.clock())
            return case

        winner, _ = one_winner(race(lambda: register(STAFF, "a"), lambda: register(OTHER_STAFF, "b")))
        suffix, user = [("a", STAFF), ("b", OTHER_STAFF)][winner]
        case = run.case()
        assert (case.state, case.project_id, case.key_id, case.project_registered_by) == (
            S.CREATING_APP, f"project-{case_id}-{suffix}", f"key-{suffix}", user)
        assert case.key_secret_sealed is not None and secrets.open(case.key_secret_sealed) == f"secret-{suffix}"
        assert [(e.action, e.actor, e.to_state) for e in run.events()] == [("register_project", user, S.CREATING_APP)]
        assert run.notices() == [NoticeType.PROJECT_REGISTERED]
        FIGURES["races: two staff register the project"] += 1


def test_poll_sweep_applies_active_while_staff_cancel(bot: BotHarness, templates: dict[str, Template]) -> None:
    winners = {"sweep": 0, "cancel": 0, "cancel, after the sweep had read the case as due": 0}
    for run in templates["awaiting_customer"].runs(bot.deps, RUNS):
        deps, case_id = run.deps, run.case_id

        def cancel(deps: Deps = deps, case_id: int = case_id) -> Onboarding:
            for attempt in attempts(deps):
                with attempt as session:
                    case = workflow.cancel(
                        session=session, onboarding_id=case_id, actor=Actor(REQUESTER), reason="Wrong Page",
                        now=deps.clock(), seen_state=S.AWAITING_CUSTOMER)
            return case

        sweep, cancelled = race(functools.partial(jobs.poll_sweep, deps), cancel)
        assert sweep.kind == "ok" and cancelled.kind != "crash", (sweep, cancelled)
        # The sweep may find nothing due (the cancel committed first) or poll and find the case moved on.
        assert sweep.value.failed == 0 and sweep.value.polled in (0, 1)
        case = run.case()
        events = [(e.action, e.from_state, e.to_state) for e in run.events()]
        assert case.state == S.REVOKING, "either way the customer's access must now be removed"
        if cancelled.kind == "ok":
            winners["cancel"] += 1
            winners["cancel, after the sweep had read the case as due"] += sweep.value.polled
            assert sweep.value.changed == 0
            assert (case.revoke_outcome, case.cancelled_by, case.active_at) == (S.CANCELLED, REQUESTER, None)
            assert events == [("cancel", S.AWAITING_CUSTOMER, S.REVOKING)]
            assert run.notices() == sorted([NoticeType.CANCELLED, NoticeType.REVOKE_STEP])
        else:
            winners["sweep"] += 1
            assert isinstance(cancelled.value, WrongState)
            assert sweep.value.changed == 1
            assert (case.revoke_outcome, case.cancelled_by) == (S.COMPLETED, None) and case.active_at is not None
            assert events == [("channel_active", S.AWAITING_CUSTOMER, S.REVOKING)]
            assert run.notices() == sorted([NoticeType.CHANNEL_ACTIVE, NoticeType.REVOKE_STEP])
    assert winners["sweep"] + winners["cancel"] == RUNS
    FIGURES["races: poll sweep ACTIVE vs cancel"] += RUNS
    FIGURES["races: poll sweep ACTIVE vs cancel, sweep won"] += winners["sweep"]
    FIGURES["races: poll sweep ACTIVE vs cancel, cancel won"] += winners["cancel"]
    FIGURES["races: poll sweep ACTIVE vs cancel, cancel won after the sweep read the case"] += \
        winners["cancel, after the sweep had read the case as due"]


# -- the same race through Slack: two signed clicks on one Approve button ---------------------------


def test_two_approvers_clicking_the_same_button_through_the_http_endpoint(tmp_path: Path,
                                                                          migrated_database_url: str) -> None:
    import httpx

    bot = BotHarness(tmp_path, database_url=migrated_database_url)
    try:
        client = httpx.Client(transport=httpx.WSGITransport(app=make_wsgi_app(bot.app)), base_url="http://bot")
        for index in range(RUNS):
            assert bot.submit_intake(customer_name=f"Race Co {index}", contact_email=f"owner{index}@race.test")\
                .status == 200
            button = bot.message_with(ActionId.APPROVE, case_id=index + 1)
            requests = [bot.sim.click(user, message=button, action_id=ActionId.APPROVE) for user in (LEAD, GROUP_LEAD)]

            def click(request: Any) -> int:
                return client.post("/slack/events", content=request.body.encode(), headers=request.headers)\
                    .status_code

            outcomes = race(*(functools.partial(click, request) for request in requests))
            assert [o.value for o in outcomes] == [200, 200], outcomes
            bot.deliver()
            events = [e for e in bot.events(index + 1) if e.action == "approve"]
            assert len(events) == 1
            loser = GROUP_LEAD if events[0].actor == LEAD else LEAD
            assert bot.case(index + 1).approver_id == events[0].actor
            told = [text for text in bot.ephemerals(loser) if f"#{index + 1}" in text]
            assert told and "cannot be approved" in told[-1], "the loser is told why, not shown an error"
            FIGURES["races: two approvers click one button (signed HTTP)"] += 1
    finally:
        bot.close()


def test_a_cancel_form_submitted_after_the_case_moved_on_reopens_for_the_new_state(tmp_path: Path,
                                                                                   migrated_database_url: str) -> None:
    """The slow version of "approve and cancel at once": the requester opens the cancel form, an approver
    approves meanwhile. The cancel is not applied to a case its author did not see; the form comes back
    saying what changed, reason kept, and a second submit cancels the case as it now is."""
    bot = BotHarness(tmp_path, database_url=migrated_database_url)
    try:
        bot.submit_intake()
        bot.click(REQUESTER, ActionId.CANCEL, message=bot.thread()[0])
        bot.click(LEAD, ActionId.APPROVE)
        first = bot.submit_modal(REQUESTER, {"reason": "Customer changed their mind"})
        answer = json.loads(first.body)
        assert answer["response_action"] == "update"
        assert answer["view"]["private_metadata"] == f"1:{S.CREATING_PROJECT.value}"
        shown = json.dumps(answer["view"]["blocks"])
        assert "changed while you were cancelling" in shown and "Customer changed their mind" in shown
        assert bot.case().state == S.CREATING_PROJECT, "nothing was cancelled yet"

        second = bot.submit_modal(REQUESTER, {"reason": "Customer changed their mind"})
        assert (second.status, second.body) == (200, "")
        assert [(e.action, e.from_state, e.to_state) for e in bot.events() if e.from_state] == [
            ("approve", S.AWAITING_APPROVAL, S.CREATING_PROJECT), ("cancel", S.CREATING_PROJECT, S.CANCELLED)]
    finally:
        bot.close()
