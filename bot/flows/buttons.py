"""Buttons on a case's card and thread: one flow per button.

A button that decides (Approve, Invitation sent, Access removed, …) runs its workflow operation in one
transaction (`attempts`), which also wakes the outbox; the card and thread replies the operation queued go out
from there. A button that opens a form (Reject, Register project, Cancel) only reads and checks here: the
listener opens the modal, and the decision comes with the form (`bot/flows/forms.py`, `bot/flows/project.py`).
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Protocol

from sqlmodel import Session

from bot import workflow
from bot.background.app_creation import create_app
from bot.deps import Deps
from bot.flows.transaction import actor, attempts
from bot.slack.blocks import refusals
from bot.slack.payloads import ButtonPress
from store import repo
from store.db import session_scope
from store.models import Onboarding
from store.states import OnboardingState

__all__ = [
    "access_removed", "approve", "case_to_cancel", "case_to_register", "case_to_reject", "invitation_sent",
    "removal_checked", "retry_app", "wrong_account", "wrong_page",
]


def approve(deps: Deps, press: ButtonPress) -> None:
    """A lead approves: the case moves to CREATING_PROJECT and staff are asked to register the project."""
    who = actor(deps, press.user_id)
    for attempt in attempts(deps):
        with attempt as session:
            workflow.approve(session=session, onboarding_id=press.case_id, actor=who,
                             allow_self_approval=deps.settings.allow_self_approval, now=deps.clock())


def retry_app(deps: Deps, press: ButtonPress) -> None:
    """Staff ask for another app creation; it runs off the request, like after registering a project."""
    who = actor(deps, press.user_id)
    for attempt in attempts(deps):
        with attempt as session:
            workflow.request_app_retry(session=session, onboarding_id=press.case_id, actor=who, now=deps.clock())
    deps.run_later(functools.partial(_create_app, deps, press.case_id))


def _create_app(deps: Deps, case_id: int) -> None:
    create_app(deps, case_id)


class _Step(Protocol):
    """A workflow operation a person confirms with a click (`workflow.confirm_invite`, …)."""

    def __call__(self, *, session: Session, onboarding_id: int, actor: workflow.Actor, now: datetime) -> Onboarding:
        ...


def _confirm(deps: Deps, press: ButtonPress, step: _Step) -> None:
    """`step` for the pressed case, by the presser, in one transaction."""
    who = actor(deps, press.user_id)
    for attempt in attempts(deps):
        with attempt as session:
            step(session=session, onboarding_id=press.case_id, actor=who, now=deps.clock())


def invitation_sent(deps: Deps, press: ButtonPress) -> None:
    """Staff confirm they invited the customer in the dashboard."""
    _confirm(deps, press, workflow.confirm_invite)


def access_removed(deps: Deps, press: ButtonPress) -> None:
    """Staff confirm they removed the customer from the project (and, on a Page mismatch, that it is right)."""
    who = actor(deps, press.user_id)
    for attempt in attempts(deps):
        with attempt as session:
            workflow.confirm_revocation(session=session, onboarding_id=press.case_id, actor=who, now=deps.clock(),
                                        two_person=deps.settings.two_person_removal)


def wrong_page(deps: Deps, press: ButtonPress) -> None:
    """The confirmer says the connected Page is the wrong one: the customer keeps access to fix it."""
    _confirm(deps, press, workflow.keep_access_for_wrong_page)


def wrong_account(deps: Deps, press: ButtonPress) -> None:
    """The remover says the connected Instagram account is the wrong one: the customer keeps access to fix it."""
    _confirm(deps, press, workflow.keep_access_for_wrong_account)


def removal_checked(deps: Deps, press: ButtonPress) -> None:
    """Two-person removal: someone else confirms the customer is gone from User management."""
    _confirm(deps, press, workflow.confirm_removal_check)


def case_to_reject(deps: Deps, press: ButtonPress) -> Onboarding:
    """The case whose reject form may open: the presser may decide it, and it still awaits a decision."""
    case = _case(deps, press.case_id)
    workflow.require_decider(case, actor(deps, press.user_id), verb="reject",
                             allow_self_approval=deps.settings.allow_self_approval)
    if case.state != OnboardingState.AWAITING_APPROVAL:
        raise workflow.WrongState(refusals.already_decided(case))
    return case


def case_to_register(deps: Deps, press: ButtonPress) -> tuple[Onboarding, str | None]:
    """The case whose project form may open, and the project it must use (a further Page's), if any."""
    case = _case(deps, press.case_id)
    if case.state != OnboardingState.CREATING_PROJECT:
        raise workflow.WrongState(refusals.already_has_project(case))
    with session_scope(deps.engine) as session:
        return case, workflow.base_project(session=session, onboarding=case)


def case_to_cancel(deps: Deps, press: ButtonPress) -> Onboarding:
    """The case whose cancel form may open (requester or approver only)."""
    case = _case(deps, press.case_id)
    workflow.require_canceller(case, actor(deps, press.user_id))
    return case


def _case(deps: Deps, case_id: int) -> Onboarding:
    with session_scope(deps.engine) as session:
        case = repo.get_onboarding(session=session, onboarding_id=case_id)
    if case is None:
        raise workflow.OnboardingNotFound(refusals.no_case(case_id))
    return case
