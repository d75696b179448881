"""Races: two people acting on one case at the same instant (a person and the poll sweep: test_race_sweep.py).

Every scenario runs RUNS times with real threads, released together by a barrier, against a file-backed
SQLite database (WAL, `BEGIN IMMEDIATE`) or a PostgreSQL one (TEST_DATABASE_URL), each run on a case of its
own, freshly seeded to the scenario's starting state in the scenario's database.
Each run must end in exactly one transition with exactly one audit event, and the loser must get a domain
error (WrongState / NotAllowed) - never a second transition, never an unexpected exception.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import workflow
from bot.deps import Deps
from bot.flows.transaction import attempts
from bot.runtime import make_wsgi_app
from bot.slack.ids import ActionId
from bot.workflow import Actor, NoticeType
from store.models import Onboarding
from store.states import OnboardingState as S
from tests.bot.harness import GROUP_LEAD, LEAD, REQUESTER, STAFF, BotHarness
from tests.databases import DatabaseServer
from tests.security.figures import FIGURES
from tests.security.races import (
    APPROVER_A,
    APPROVER_B,
    OTHER_STAFF,
    RUNS,
    Template,
    one_winner,
    race,
    race_bot,
    templates_for,
)


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory, database_server: DatabaseServer) -> Iterator[BotHarness]:
    with race_bot(tmp_path_factory, database_server) as harness:
        yield harness


@pytest.fixture(scope="module")
def templates(database_server: DatabaseServer, bot: BotHarness) -> dict[str, Template]:
    return templates_for(database_server, bot, "awaiting_approval", "creating_project")


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

