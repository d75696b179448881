"""Domain operations: who may do what, from which state, and what each writes."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot import workflow as wf
from bot.workflow import Actor, NotAllowed, OnboardingNotFound, WrongState
from bot.workflow.notices import StepKey
from sinch import MessengerStatus, Region
from store.models import AuditEvent, Onboarding, OutboxKind, OutboxMessage
from store.states import OnboardingState as S
from tests.conftest import FakeClock

REQUESTER = Actor("U0REQ")
APPROVER = Actor("U0LEAD", is_approver=True)
STAFF = Actor("U0STAFF")
OUTSIDER = Actor("U0OTHER")
T = TypeVar("T")


def intake(**overrides: Any) -> wf.Intake:
    values: dict[str, Any] = dict(customer_name="Acme Bikes", contact_email="owner@acme.test", region=Region.EU,
                                  page="Acme Bikes", page_type=wf.PageType.BUSINESS, business_verified=True,
                                  page_admin=True, chat_button=True)
    values.update(overrides)
    return wf.Intake(**values)


class Flow:
    """Drives one case through the real operations, one committed transaction per step."""

    def __init__(self, engine: Engine, clock: FakeClock) -> None:
        self.engine = engine
        self.clock = clock
        self.id: int | None = None

    def run(self, operation: Callable[..., T], **kwargs: Any) -> T:
        with Session(self.engine, expire_on_commit=False) as session:
            result = operation(session=session, now=self.clock(), **kwargs)
            session.commit()
            return result

    def case(self) -> Onboarding:
        with Session(self.engine) as session:
            case = session.get(Onboarding, self.id)
        assert case is not None
        return case

    def submit(self, **overrides: Any) -> Onboarding:
        case = self.run(wf.submit_intake, intake=intake(**overrides), requester_id=REQUESTER.user_id,
                        channel="C0ONBOARD")
        self.id = case.id
        return case

    def to(self, state: S) -> None:
        """Advance a fresh case to `state` along the happy path (or the obvious detour)."""
        self.submit()
        path = [S.CREATING_PROJECT, S.CREATING_APP, S.INVITING, S.AWAITING_CUSTOMER, S.ACTIVATING, S.FAILING]
        steps: dict[S, Callable[[], object]] = {
            S.CREATING_PROJECT: lambda: self.run(wf.approve, onboarding_id=self.id, actor=APPROVER,
                                                 allow_self_approval=False),
            S.CREATING_APP: lambda: self.run(wf.register_project, onboarding_id=self.id, actor=STAFF,
                                             project_id="p-1", key_id="k-1", key_secret_sealed="sealed"),
            S.INVITING: lambda: self.run(wf.record_app_created, onboarding_id=self.id, app_id="01APP",
                                         app_name="Acme Bikes - Messenger", reused=False),
            S.AWAITING_CUSTOMER: lambda: self.run(wf.confirm_invite, onboarding_id=self.id, actor=STAFF),
            S.ACTIVATING: lambda: self.run(wf.apply_channel_status, onboarding_id=self.id,
                                           reading=MessengerStatus("PENDING")),
            S.FAILING: lambda: self.run(wf.apply_channel_status, onboarding_id=self.id,
                                        reading=MessengerStatus("FAILING", description="Token expired")),
        }
        if state == S.AWAITING_APPROVAL:
            return
        target = S.AWAITING_CUSTOMER if state == S.REVOKING else state
        for step in path[: path.index(target) + 1]:
            steps[step]()
        if state == S.REVOKING:
            self.run(wf.apply_channel_status, onboarding_id=self.id, reading=MessengerStatus("ACTIVE"))

    def events(self) -> list[AuditEvent]:
        with Session(self.engine) as session:
            return list(session.exec(select(AuditEvent).where(AuditEvent.onboarding_id == self.id)
                                     .order_by(col(AuditEvent.id))))

    def outbox(self) -> list[OutboxMessage]:
        with Session(self.engine) as session:
            return list(session.exec(select(OutboxMessage).where(OutboxMessage.onboarding_id == self.id)
                                     .order_by(col(OutboxMessage.id))))

    def notices(self) -> list[str]:
        return [json.loads(m.notice)["type"] for m in self.outbox() if m.kind == OutboxKind.REPLY]


@pytest.fixture
def flow(engine: Engine, clock: FakeClock) -> Flow:
    return Flow(engine, clock)


def test_intake_opens_a_case_with_its_card_and_approval_request(flow: Flow) -> None:
    case = flow.submit()
    assert case.state == S.AWAITING_APPROVAL
    assert case.app_name == "Acme Bikes - Messenger"
    assert [m.kind for m in flow.outbox()] == [OutboxKind.CARD, OutboxKind.REPLY]
    assert flow.notices() == ["approval_request"]
    assert [(e.action, e.to_state) for e in flow.events()] == [("submit", S.AWAITING_APPROVAL)]


@pytest.mark.parametrize("variant", [dict(customer_name="  ACME   bikes "), dict(contact_email="owner@acme.test",
                                                                                   customer_name="Other")])
def test_a_second_open_case_for_the_same_customer_is_refused(flow: Flow, variant: dict[str, str]) -> None:
    flow.submit()
    with pytest.raises(wf.DuplicateOnboarding) as exc_info:
        flow.run(wf.submit_intake, intake=intake(**variant), requester_id="U0X", channel="C0ONBOARD")
    assert exc_info.value.existing_id == flow.id
    assert f"#{flow.id}" in str(exc_info.value)


def test_a_closed_case_does_not_block_a_new_one(flow: Flow) -> None:
    flow.submit()
    flow.run(wf.cancel, onboarding_id=flow.id, actor=REQUESTER, reason="wrong customer")
    second = flow.run(wf.submit_intake, intake=intake(), requester_id="U0X", channel="C0ONBOARD")
    assert second.id != flow.id


def test_an_approver_approves(flow: Flow) -> None:
    flow.submit()
    flow.run(wf.approve, onboarding_id=flow.id, actor=APPROVER, allow_self_approval=False)
    case = flow.case()
    assert (case.state, case.approver_id) == (S.CREATING_PROJECT, APPROVER.user_id)
    assert flow.notices()[-2:] == ["approved", "project_step"]


def test_a_non_approver_cannot_approve_and_nothing_changes(flow: Flow) -> None:
    flow.submit()
    before = len(flow.outbox())
    with pytest.raises(NotAllowed):
        flow.run(wf.approve, onboarding_id=flow.id, actor=OUTSIDER, allow_self_approval=False)
    assert flow.case().state == S.AWAITING_APPROVAL
    assert len(flow.outbox()) == before and len(flow.events()) == 1


def test_the_requester_cannot_approve_their_own_request_unless_allowed(flow: Flow) -> None:
    flow.submit()
    own = Actor(REQUESTER.user_id, is_approver=True)
    with pytest.raises(NotAllowed):
        flow.run(wf.approve, onboarding_id=flow.id, actor=own, allow_self_approval=False)
    flow.run(wf.approve, onboarding_id=flow.id, actor=own, allow_self_approval=True)
    assert flow.case().state == S.CREATING_PROJECT


def test_a_second_approval_is_refused_as_wrong_state(flow: Flow) -> None:
    flow.to(S.CREATING_PROJECT)
    with pytest.raises(WrongState) as exc_info:
        flow.run(wf.approve, onboarding_id=flow.id, actor=APPROVER, allow_self_approval=False)
    assert "waiting for the project" in str(exc_info.value)
    assert [e.action for e in flow.events()].count("approve") == 1


def test_reject_needs_an_approver_and_a_reason(flow: Flow) -> None:
    flow.submit()
    with pytest.raises(NotAllowed):
        flow.run(wf.reject, onboarding_id=flow.id, actor=OUTSIDER, reason="no")
    with pytest.raises(NotAllowed):
        flow.run(wf.reject, onboarding_id=flow.id, actor=APPROVER, reason="   ")
    flow.run(wf.reject, onboarding_id=flow.id, actor=APPROVER, reason="Not a customer of ours")
    case = flow.case()
    assert (case.state, case.rejection_reason) == (S.REJECTED, "Not a customer of ours")


def test_register_project_only_while_creating_project(flow: Flow) -> None:
    flow.submit()
    with pytest.raises(WrongState):
        flow.run(wf.register_project, onboarding_id=flow.id, actor=STAFF, project_id="p", key_id="k",
                 key_secret_sealed="s")
    flow.run(wf.approve, onboarding_id=flow.id, actor=APPROVER, allow_self_approval=False)
    flow.run(wf.register_project, onboarding_id=flow.id, actor=STAFF, project_id="p", key_id="k",
             key_secret_sealed="s")
    case = flow.case()
    assert (case.state, case.project_id, case.key_id, case.project_registered_by) == (S.CREATING_APP, "p", "k",
                                                                                       STAFF.user_id)


def test_app_creation_moves_to_inviting_and_posts_the_invite_step_and_customer_text(flow: Flow) -> None:
    flow.to(S.INVITING)
    assert flow.case().app_id == "01APP"
    assert flow.notices()[-3:] == ["app_created", "invite_step", "customer_instructions"]


def test_app_failure_keeps_the_state_and_offers_a_retry(flow: Flow) -> None:
    flow.to(S.CREATING_APP)
    flow.run(wf.record_app_failure, onboarding_id=flow.id, error="Sinch is down (503)",
             retry_in=timedelta(minutes=1))
    assert flow.notices()[-1] == "project_registered"  # a retryable failure is retried quietly first
    flow.run(wf.record_app_failure, onboarding_id=flow.id, error="Sinch is down (503)", retry_in=None)
    case = flow.case()
    assert (case.state, case.app_attempts, case.last_error) == (S.CREATING_APP, 2, "Sinch is down (503)")
    assert flow.notices()[-1] == "app_failed"
    flow.run(wf.request_app_retry, onboarding_id=flow.id, actor=STAFF)
    assert flow.events()[-1].action == "retry_app"


def test_confirm_invite_starts_polling(flow: Flow, clock: FakeClock) -> None:
    flow.to(S.INVITING)
    with pytest.raises(WrongState):
        flow.run(wf.confirm_revocation, onboarding_id=flow.id, actor=STAFF)
    flow.run(wf.confirm_invite, onboarding_id=flow.id, actor=STAFF)
    case = flow.case()
    assert (case.state, case.invited_by, case.next_poll_at) == (S.AWAITING_CUSTOMER, STAFF.user_id, clock())


def test_channel_statuses_move_the_case_and_post_once(flow: Flow) -> None:
    flow.to(S.AWAITING_CUSTOMER)
    def read(status: str, description: str | None = None) -> bool:
        return flow.run(wf.apply_channel_status, onboarding_id=flow.id,
                        reading=MessengerStatus(status, description=description))

    assert read("NOT_CONNECTED") is True  # first reading is recorded...
    assert flow.notices()[-1] == "invited"  # ...but "not connected yet" is not news
    assert read("PENDING") is True and flow.case().state == S.ACTIVATING
    assert read("PENDING") is False
    assert read("FAILING", "Page token invalid") is True and flow.case().state == S.FAILING
    assert read("FAILING", "Page token invalid") is False
    assert read("PENDING") is True and flow.case().state == S.ACTIVATING
    assert read("ACTIVE") is True
    case = flow.case()
    assert (case.state, case.revoke_outcome) == (S.REVOKING, S.COMPLETED)
    assert flow.notices()[-6:] == ["invited", "channel_pending", "channel_failing", "channel_recovered",
                                   "channel_active", "revoke_step"]


def test_an_unknown_status_is_kept_and_reported_once(flow: Flow) -> None:
    flow.to(S.AWAITING_CUSTOMER)
    for _ in range(2):
        flow.run(wf.apply_channel_status, onboarding_id=flow.id, reading=MessengerStatus("SUSPENDED_BY_META"))
    assert flow.case().channel_status == "SUSPENDED_BY_META"
    assert flow.case().state == S.AWAITING_CUSTOMER
    assert flow.notices().count("channel_other") == 1


def test_confirm_revocation_completes_and_erases_the_key_secret(flow: Flow) -> None:
    flow.to(S.REVOKING)
    assert flow.case().key_secret_sealed == "sealed"
    flow.run(wf.confirm_revocation, onboarding_id=flow.id, actor=STAFF)
    case = flow.case()
    assert (case.state, case.revoked_by, case.key_secret_sealed) == (S.COMPLETED, STAFF.user_id, None)


def test_cancel_before_the_invite_ends_the_case(flow: Flow) -> None:
    flow.to(S.INVITING)
    with pytest.raises(NotAllowed):
        flow.run(wf.cancel, onboarding_id=flow.id, actor=OUTSIDER, reason="x")
    flow.run(wf.cancel, onboarding_id=flow.id, actor=REQUESTER, reason="Customer changed their mind")
    case = flow.case()
    assert (case.state, case.key_secret_sealed, case.cancel_reason) == (S.CANCELLED, None,
                                                                       "Customer changed their mind")


def test_cancel_after_the_invite_still_requires_removing_access(flow: Flow) -> None:
    flow.to(S.ACTIVATING)
    flow.run(wf.cancel, onboarding_id=flow.id, actor=APPROVER, reason="Contract ended")
    case = flow.case()
    assert (case.state, case.revoke_outcome) == (S.REVOKING, S.CANCELLED)
    assert flow.notices()[-2:] == ["cancelled", "revoke_step"]
    with pytest.raises(WrongState):
        flow.run(wf.cancel, onboarding_id=flow.id, actor=APPROVER, reason="again")
    flow.run(wf.confirm_revocation, onboarding_id=flow.id, actor=STAFF)
    assert flow.case().state == S.CANCELLED


def test_cancel_on_a_finished_case_is_wrong_state(flow: Flow) -> None:
    flow.submit()
    flow.run(wf.reject, onboarding_id=flow.id, actor=APPROVER, reason="no")
    with pytest.raises(WrongState):
        flow.run(wf.cancel, onboarding_id=flow.id, actor=REQUESTER, reason="x")


def test_expiry_goes_through_revoking_to_expired(flow: Flow) -> None:
    flow.to(S.FAILING)
    flow.run(wf.expire, onboarding_id=flow.id)
    assert (flow.case().state, flow.case().revoke_outcome) == (S.REVOKING, S.EXPIRED)
    flow.run(wf.confirm_revocation, onboarding_id=flow.id, actor=STAFF)
    assert flow.case().state == S.EXPIRED


def test_expire_is_refused_before_the_invite(flow: Flow) -> None:
    flow.to(S.CREATING_APP)
    with pytest.raises(WrongState):
        flow.run(wf.expire, onboarding_id=flow.id)


def test_an_unknown_case_is_not_found(flow: Flow) -> None:
    with pytest.raises(OnboardingNotFound) as exc_info:
        flow.run(wf.approve, onboarding_id=999, actor=APPROVER, allow_self_approval=False)
    assert "#999" in str(exc_info.value)


def test_the_checklist_follows_the_stored_facts(flow: Flow) -> None:
    flow.to(S.ACTIVATING)
    progress = {step.key: status for step, status in wf.progress(flow.case())}
    assert progress == {"approval": "done", "project": "done", "app": "done", "invite": "done",
                        "connect": "current", "revoke": "todo"}
    assert {step.key: step.performer for step in wf.STEPS}[StepKey.APP] == wf.Performer.API


# Every operation, the states it may run in, and how to call it as an allowed actor.
OPERATIONS: dict[str, tuple[set[S], Callable[[Flow], object]]] = {
    "approve": ({S.AWAITING_APPROVAL}, lambda f: f.run(wf.approve, onboarding_id=f.id, actor=APPROVER,
                                                       allow_self_approval=False)),
    "reject": ({S.AWAITING_APPROVAL}, lambda f: f.run(wf.reject, onboarding_id=f.id, actor=APPROVER, reason="r")),
    "register_project": ({S.CREATING_PROJECT}, lambda f: f.run(wf.register_project, onboarding_id=f.id,
                                                               actor=STAFF, project_id="p", key_id="k",
                                                               key_secret_sealed="s")),
    "record_app_failure": ({S.CREATING_APP}, lambda f: f.run(wf.record_app_failure, onboarding_id=f.id,
                                                             error="e", retry_in=None)),
    "request_app_retry": ({S.CREATING_APP}, lambda f: f.run(wf.request_app_retry, onboarding_id=f.id,
                                                            actor=STAFF)),
    "confirm_invite": ({S.INVITING}, lambda f: f.run(wf.confirm_invite, onboarding_id=f.id, actor=STAFF)),
    "confirm_revocation": ({S.REVOKING}, lambda f: f.run(wf.confirm_revocation, onboarding_id=f.id,
                                                         actor=STAFF)),
    "expire": ({S.AWAITING_CUSTOMER, S.ACTIVATING, S.FAILING}, lambda f: f.run(wf.expire, onboarding_id=f.id)),
    "cancel": ({S.AWAITING_APPROVAL, S.CREATING_PROJECT, S.CREATING_APP, S.INVITING, S.AWAITING_CUSTOMER,
                S.ACTIVATING, S.FAILING}, lambda f: f.run(wf.cancel, onboarding_id=f.id, actor=REQUESTER,
                                                          reason="r")),
}
REACHABLE = [S.AWAITING_APPROVAL, S.CREATING_PROJECT, S.CREATING_APP, S.INVITING, S.AWAITING_CUSTOMER,
             S.ACTIVATING, S.FAILING, S.REVOKING]
WRONG = [(name, state) for name, (allowed, _) in OPERATIONS.items() for state in REACHABLE if state not in allowed]


@pytest.mark.parametrize(("operation", "state"), WRONG, ids=[f"{op}-from-{st}" for op, st in WRONG])
def test_an_operation_from_a_state_it_does_not_allow_is_refused_and_writes_nothing(flow: Flow, operation: str,
                                                                                   state: S) -> None:
    flow.to(state)
    before = (flow.case().version, len(flow.events()), len(flow.outbox()))
    with pytest.raises(WrongState):
        OPERATIONS[operation][1](flow)
    assert (flow.case().state, flow.case().version, len(flow.events()), len(flow.outbox())) == (state, *before)


ALLOWED = [(name, state) for name, (allowed, _) in OPERATIONS.items() for state in sorted(allowed)]


@pytest.mark.parametrize(("operation", "state"), ALLOWED, ids=[f"{op}-from-{st}" for op, st in ALLOWED])
def test_an_operation_from_an_allowed_state_by_an_allowed_actor_writes_an_audit_event(flow: Flow, operation: str,
                                                                                      state: S) -> None:
    flow.to(state)
    events_before = len(flow.events())
    OPERATIONS[operation][1](flow)
    assert len(flow.events()) == events_before + 1
