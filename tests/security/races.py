"""What the race scenarios share: contenders released together, their outcomes, and per-run cases.

See tests/security/test_races.py (people against people) and tests/security/test_race_sweep.py (the poll
sweep against a person).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

from bot import workflow
from bot.deps import Deps
from bot.workflow import Actor, NotAllowed, OnboardingError, WrongState
from store.db import make_engine, session_scope
from store.models import AuditEvent, Onboarding, OutboxKind, OutboxMessage
from tests.bot.harness import CHANNEL, GROUP_LEAD, LEAD, REQUESTER, STAFF, VALID_FORM, BotHarness
from tests.databases import DatabaseServer

__all__ = ["APPROVER_A", "APPROVER_B", "OTHER_STAFF", "RUNS", "Outcome", "Template", "one_winner", "race",
           "race_bot", "templates_for"]

RUNS = 50
JOIN_TIMEOUT = 30.0
APPROVER_A = Actor(LEAD, is_approver=True)
APPROVER_B = Actor(GROUP_LEAD, is_approver=True)
OTHER_STAFF = "U0STAFFTWO"


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

@contextmanager
def race_bot(tmp_path_factory: pytest.TempPathFactory, database_server: DatabaseServer) -> Iterator[BotHarness]:
    """A bot on a database of its own, for a module's races (each scenario seeds its own database)."""
    url = database_server.create(template=database_server.migrated_template())
    harness = BotHarness(tmp_path_factory.mktemp("race-bot"), database_url=url)
    try:
        yield harness
    finally:
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


def templates_for(database_server: DatabaseServer, bot: BotHarness, *names: str) -> dict[str, Template]:
    """The named starting points: "awaiting_approval", "creating_project", "awaiting_customer"."""
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

    seeds = {"awaiting_approval": submitted, "creating_project": approved, "awaiting_customer": invited}
    return {name: Template(database_server, seeds[name]) for name in names}
