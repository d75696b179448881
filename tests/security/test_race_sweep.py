"""The poll sweep against a person: the sweep applies the Messenger channel's ACTIVE while staff cancel the case.

As in tests/security/test_races.py, every run has a case of its own, seeded to AWAITING_CUSTOMER with a real
sandbox app whose channel reads ACTIVE. Whichever side commits first decides; either way the customer's access
must now be removed (REVOKING), with one transition, one audit event and the winner's thread replies, and the
loser gets a domain error or finds nothing to do.

Released together, the cancel commits first in practice: the sweep reads Sinch before it writes, the cancel
only writes. So the sweep's win is also forced, on runs of its own, by holding the cancel back until the
sweep has returned (the requester opened the cancel form while the case still awaited the customer).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator

import pytest

from bot import workflow
from bot.background import jobs
from bot.flows.transaction import attempts
from bot.workflow import Actor, NoticeType, WrongState
from store.models import Onboarding
from store.states import OnboardingState as S
from tests.bot.harness import REQUESTER, BotHarness
from tests.databases import DatabaseServer
from tests.security.figures import FIGURES
from tests.security.races import RUNS, Outcome, Template, race, race_bot, templates_for

FORCED_RUNS = 10


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory, database_server: DatabaseServer) -> Iterator[BotHarness]:
    with race_bot(tmp_path_factory, database_server) as harness:
        yield harness


@pytest.fixture(scope="module")
def invited(database_server: DatabaseServer, bot: BotHarness) -> Template:
    return templates_for(database_server, bot, "awaiting_customer")["awaiting_customer"]


def staff_cancel(run: Template.Run) -> Callable[[], Onboarding]:
    """The requester's cancel of the run's case, from a form opened while it awaited the customer."""

    def cancel() -> Onboarding:
        for attempt in attempts(run.deps):
            with attempt as session:
                case = workflow.cancel(session=session, onboarding_id=run.case_id, actor=Actor(REQUESTER),
                                       reason="Wrong Page", now=run.deps.clock(), seen_state=S.AWAITING_CUSTOMER)
        return case

    return cancel


def winner_of(run: Template.Run, sweep: Outcome, cancelled: Outcome) -> str:
    """Check the run's end state against the side that committed first; that side's name."""
    assert sweep.kind == "ok" and cancelled.kind != "crash", (sweep, cancelled)
    swept: jobs.SweepReport = sweep.value
    # The sweep may find nothing due (the cancel committed first) or poll and find the case moved on.
    assert swept.failed == 0 and swept.polled in (0, 1)
    case = run.case()
    events = [(e.action, e.from_state, e.to_state) for e in run.events()]
    assert case.state == S.REVOKING, "either way the customer's access must now be removed"
    if cancelled.kind == "ok":
        assert swept.changed == 0
        assert (case.revoke_outcome, case.cancelled_by, case.active_at) == (S.CANCELLED, REQUESTER, None)
        assert events == [("cancel", S.AWAITING_CUSTOMER, S.REVOKING)]
        assert run.notices() == sorted([NoticeType.CANCELLED, NoticeType.REVOKE_STEP])
        return "cancel"
    assert isinstance(cancelled.value, WrongState)
    assert swept.changed == 1
    assert (case.revoke_outcome, case.cancelled_by) == (S.COMPLETED, None) and case.active_at is not None
    assert events == [("channel_active", S.AWAITING_CUSTOMER, S.REVOKING)]
    assert run.notices() == sorted([NoticeType.CHANNEL_ACTIVE, NoticeType.REVOKE_STEP])
    return "sweep"


def test_poll_sweep_applies_active_while_staff_cancel(bot: BotHarness, invited: Template) -> None:
    winners = {"sweep": 0, "cancel": 0, "cancel, after the sweep had read the case as due": 0}
    for run in invited.runs(bot.deps, RUNS):
        sweep, cancelled = race(functools.partial(jobs.poll_sweep, run.deps), staff_cancel(run))
        winner = winner_of(run, sweep, cancelled)
        winners[winner] += 1
        if winner == "cancel":
            winners["cancel, after the sweep had read the case as due"] += sweep.value.polled
    assert winners["sweep"] + winners["cancel"] == RUNS
    FIGURES["races: poll sweep ACTIVE vs cancel"] += RUNS
    FIGURES["races: poll sweep ACTIVE vs cancel, sweep won"] += winners["sweep"]
    FIGURES["races: poll sweep ACTIVE vs cancel, cancel won"] += winners["cancel"]
    FIGURES["races: poll sweep ACTIVE vs cancel, cancel won after the sweep read the case"] += \
        winners["cancel, after the sweep had read the case as due"]


def test_a_cancel_arriving_after_the_sweep_applied_active_is_refused(bot: BotHarness, invited: Template) -> None:
    for run in invited.runs(bot.deps, FORCED_RUNS):
        [sweep] = race(functools.partial(jobs.poll_sweep, run.deps))
        [cancelled] = race(staff_cancel(run))
        assert winner_of(run, sweep, cancelled) == "sweep"
    FIGURES["races: poll sweep ACTIVE, then a cancel from an older form (refused)"] += FORCED_RUNS
