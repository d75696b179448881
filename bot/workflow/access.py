"""Domain operations from the invitation on: the customer holds access until staff confirm its removal."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from sqlmodel import Session

from bot.workflow.channels import check_page, kept_wrong_page, page_identity, revoke_notice, set_poll_due
from bot.workflow.core import (
    SYSTEM_ACTOR,
    Actor,
    checked_reason,
    load,
    move,
    report,
    require_canceller,
    require_state,
)
from bot.workflow.errors import NotAllowed, StateChanged, WrongState
from bot.workflow.notices import (
    STATE_LABELS,
    Cancelled,
    ChannelActive,
    ChannelFailing,
    ChannelOther,
    ChannelPending,
    ChannelRecovered,
    ChannelSnapshot,
    Expired,
    Invited,
    Notice,
    Outcome,
    Reminder,
    RemovalCheckStep,
    Resolution,
    Revoked,
    RevokeReason,
    StepKey,
    WrongAccount,
    WrongPage,
)
from bot.workflow.pages import PageCheck
from bot.workflow.reminders import DueReminder
from sinch import ChannelStatus, MessengerStatus
from store import repo
from store.limits import clip
from store.models import Onboarding, OutboxKind
from store.states import AFTER_INVITE, POLLED_STATES, REMOVAL_STATES, TERMINAL_STATES, OnboardingState

__all__ = [
    "apply_channel_status", "cancel", "confirm_invite", "confirm_removal_check", "confirm_revocation", "expire",
    "keep_access_for_wrong_account", "keep_access_for_wrong_page", "poll_changes_nothing", "remind",
]

S = OnboardingState
# The step message whose buttons are still live in each state (replaced when the case is cancelled).
_OPEN_STEP = {S.AWAITING_APPROVAL: StepKey.APPROVAL, S.CREATING_PROJECT: StepKey.PROJECT,
              S.CREATING_APP: StepKey.APP, S.INVITING: StepKey.INVITE}


def confirm_invite(*, session: Session, onboarding_id: int, actor: Actor, now: datetime) -> Onboarding:
    """Staff invited the customer as Limited member: from now on the customer holds access."""
    case = load(session=session, onboarding_id=onboarding_id)
    require_state(case, S.INVITING, attempted="record an invitation")
    case.invited_by = actor.user_id
    case.invited_at = now
    set_poll_due(case, now)
    case.poll_failures = 0
    move(session=session, case=case, to=S.AWAITING_CUSTOMER, actor=actor.user_id, action="confirm_invite", now=now,
         attempted="record an invitation")
    report(Invited(by=actor.user_id, email=case.contact_email), session=session, case=case, now=now,
           resolved=Resolution(step=StepKey.INVITE, outcome=Outcome.SENT, by=actor.user_id, at=now))
    return case


Seen = TypeVar("Seen", bound=ChannelSnapshot)


def _seen(kind: type[Seen], case: Onboarding, reading: MessengerStatus) -> Seen:
    """A channel notice of this kind, recording the status as the poll just saw it."""
    return kind(status=reading.status, description=reading.description, page_name=case.page_name,
                page_id=case.page_id)


def poll_changes_nothing(case: Onboarding, reading: MessengerStatus) -> bool:
    """Whether `apply_channel_status` would store nothing of `reading` but the time it was taken: no move, no
    post, no audit event, no Page check. The sweep then records the poll with one guarded UPDATE instead of
    locking and reading the case (store.leases.finish_quiet_poll).

    Narrow on purpose: the customer has not connected a Page yet, and Sinch says exactly what it said last
    time, the state of most cases for most of the days they await the customer. Anything else (a connected
    Page, whatever its status, or a case with Instagram) goes the whole way. tests/bot/test_quiet_poll.py holds
    this to apply_channel_status over every polled state, stored status and reading."""
    if case.has_instagram or case.state not in POLLED_STATES or reading.connected:
        return False
    if reading.page_id or reading.page_name:
        return False
    return (case.channel_status, case.channel_description) == _as_stored(reading)


def _as_stored(reading: MessengerStatus) -> tuple[str, str | None]:
    """The status and description as their columns keep them. Sinch's words are kept as far as the columns
    allow, and compared as stored, so a long description that had to be cut does not count as a change on
    every poll."""
    description = clip(reading.description, Onboarding, "channel_description") if reading.description else None
    return clip(reading.status, Onboarding, "channel_status"), description


def apply_channel_status(
    *, session: Session, onboarding_id: int, reading: MessengerStatus, now: datetime
) -> bool:
    """Record a polled Messenger status; move the case and post only when it changed. Returns changed."""
    case = load(session=session, onboarding_id=onboarding_id)
    if case.state not in POLLED_STATES:
        return False  # cancelled or expired while the poll was in flight
    previous = (case.channel_status, case.channel_description)
    status, description = _as_stored(reading)
    changed = previous != (status, description)
    case.channel_status = status
    case.channel_description = description
    case.channel_checked_at = now
    page_notice = check_page(session=session, case=case, reading=reading, now=now)
    case.page_id = reading.page_id or case.page_id
    case.page_name = clip(reading.page_name, Onboarding, "page_name") if reading.page_name else case.page_name
    session.add(case)
    if page_notice is not None:
        report(page_notice, session=session, case=case, now=now)
    detail = f"status={status}" + (f" description={reading.description}" if reading.description else "")

    if status == ChannelStatus.ACTIVE and kept_wrong_page(case, reading):
        return changed  # still the Page a person called wrong: the customer keeps access to fix it
    if status == ChannelStatus.ACTIVE:
        case.active_at = now
        case.revoke_outcome = S.COMPLETED
        move(session=session, case=case, to=S.REVOKING, actor=SYSTEM_ACTOR, action="channel_active", now=now,
             attempted="become active", detail=detail)
        report(_seen(ChannelActive, case, reading), revoke_notice(case, RevokeReason.ACTIVE), session=session,
               case=case, now=now)
        return True
    if status == ChannelStatus.PENDING and case.state != S.ACTIVATING:
        recovered = case.state == S.FAILING
        move(session=session, case=case, to=S.ACTIVATING, actor=SYSTEM_ACTOR, action="channel_pending", now=now,
             attempted="start activating", detail=detail)
        seen: Notice = _seen(ChannelRecovered, case, reading) if recovered else _seen(ChannelPending, case, reading)
        report(seen, session=session, case=case, now=now)
        return True
    if status in (ChannelStatus.FAILING, ChannelStatus.ERROR):
        if case.state != S.FAILING:
            move(session=session, case=case, to=S.FAILING, actor=SYSTEM_ACTOR, action="channel_failing", now=now,
                 attempted="start failing", detail=detail)
            report(_seen(ChannelFailing, case, reading), session=session, case=case, now=now)
            return True
        if changed:
            repo.record_event(session=session, onboarding=case, actor=SYSTEM_ACTOR, action="channel_status",
                              now=now, detail=detail)
            report(_seen(ChannelFailing, case, reading), session=session, case=case, now=now)
        return changed
    if changed and not (status == ChannelStatus.NOT_CONNECTED and previous[0] is None):
        # Anything else that changed (an unknown status, a Page disconnected again) is reported once.
        repo.record_event(session=session, onboarding=case, actor=SYSTEM_ACTOR, action="channel_status",
                          now=now, detail=detail)
        report(_seen(ChannelOther, case, reading), session=session, case=case, now=now)
    return changed


def confirm_revocation(
    *, session: Session, onboarding_id: int, actor: Actor, now: datetime, two_person: bool = False
) -> Onboarding:
    """Staff removed the customer's access in the dashboard: the case ends and the key secret is erased.

    With `two_person` (REMOVAL_CONFIRMATION=two-person) it ends only once someone else has confirmed the
    customer is gone. When the connected Page did not match the request, pressing this button also says the
    Page is right after all.
    """
    case = load(session=session, onboarding_id=onboarding_id)
    require_state(case, S.REVOKING, attempted="record the access removal")
    outcome = case.revoke_outcome or S.COMPLETED
    case.revoked_by = actor.user_id
    case.revoked_at = now
    detail = ""
    if case.page_check == PageCheck.MISMATCH:
        case.page_check = PageCheck.RIGHT_CONFIRMED.value
        detail = f"page confirmed right: {case.page_name or case.page_id}"
    if case.ig_check == PageCheck.MISMATCH:
        case.ig_check = PageCheck.RIGHT_CONFIRMED.value
        detail = f"instagram account confirmed right: @{case.ig_username or case.ig_account_id}"
    removed = Resolution(step=StepKey.REVOKE, outcome=Outcome.REMOVED, by=actor.user_id, at=now)
    if two_person:
        move(session=session, case=case, to=S.CONFIRMING_REMOVAL, actor=actor.user_id, action="confirm_revocation",
             now=now, attempted="record the access removal", detail=detail)
        report(RemovalCheckStep(by=actor.user_id, email=case.contact_email, project_id=case.project_id),
               session=session, case=case, now=now, resolved=removed)
        return case
    move(session=session, case=case, to=outcome, actor=actor.user_id, action="confirm_revocation", now=now,
         attempted="record the access removal", detail=detail)
    report(Revoked(by=actor.user_id, outcome=outcome), session=session, case=case, now=now, resolved=removed)
    return case


def confirm_removal_check(*, session: Session, onboarding_id: int, actor: Actor, now: datetime) -> Onboarding:
    """A second person saw the customer gone from User management: now the case ends."""
    case = load(session=session, onboarding_id=onboarding_id)
    require_state(case, S.CONFIRMING_REMOVAL, attempted="confirm the access removal")
    if actor.user_id == case.revoked_by:
        raise NotAllowed("You removed the access, so someone else has to confirm the customer is gone.")
    outcome = case.revoke_outcome or S.COMPLETED
    case.removal_checked_by = actor.user_id
    case.removal_checked_at = now
    move(session=session, case=case, to=outcome, actor=actor.user_id, action="confirm_removal_check", now=now,
         attempted="confirm the access removal", detail=f"removed by {case.revoked_by}")
    report(Revoked(by=case.revoked_by or "", outcome=outcome, checked_by=actor.user_id), session=session, case=case,
           now=now, resolved=Resolution(step=StepKey.REVOKE, outcome=Outcome.CHECKED, by=actor.user_id, at=now))
    return case


def keep_access_for_wrong_page(*, session: Session, onboarding_id: int, actor: Actor, now: datetime) -> Onboarding:
    """The confirmer says the connected Page is the wrong one: the customer keeps access to connect the right one."""
    case = load(session=session, onboarding_id=onboarding_id)
    require_state(case, S.REVOKING, attempted="keep the customer's access")
    if case.page_check != PageCheck.MISMATCH or case.revoke_outcome != S.COMPLETED:
        raise WrongState(f"Onboarding #{case.id} has no Page to correct: remove the customer's access.")
    case.page_check = PageCheck.WRONG_CONFIRMED.value
    case.wrong_page_id = page_identity(case.page_id, case.page_name)
    case.revoke_outcome = None
    case.active_at = None
    set_poll_due(case, now)
    move(session=session, case=case, to=S.AWAITING_CUSTOMER, actor=actor.user_id, action="wrong_page", now=now,
         attempted="keep the customer's access", detail=f"wrong page: {case.page_name} ({case.page_id})")
    report(WrongPage(by=actor.user_id, requested_page=case.page, page_name=case.page_name, page_id=case.page_id),
           session=session, case=case, now=now,
           resolved=Resolution(step=StepKey.REVOKE, outcome=Outcome.WRONG_PAGE, by=actor.user_id, at=now))
    return case


def keep_access_for_wrong_account(*, session: Session, onboarding_id: int, actor: Actor,
                                  now: datetime) -> Onboarding:
    """The remover says the connected Instagram account is wrong: the customer keeps access to connect the right one."""
    case = load(session=session, onboarding_id=onboarding_id)
    require_state(case, S.REVOKING, attempted="keep the customer's access")
    if case.ig_check != PageCheck.MISMATCH or case.revoke_outcome != S.COMPLETED:
        raise WrongState(f"Onboarding #{case.id} has no Instagram account to correct: remove the customer's access.")
    case.ig_check = PageCheck.WRONG_CONFIRMED.value
    case.ig_wrong_id = case.ig_account_id or case.ig_username
    case.revoke_outcome = None
    case.ig_active_at = None
    set_poll_due(case, now)
    move(session=session, case=case, to=S.AWAITING_CUSTOMER, actor=actor.user_id, action="wrong_account", now=now,
         attempted="keep the customer's access", detail=f"wrong instagram account: @{case.ig_username}")
    report(WrongAccount(by=actor.user_id, requested_account=case.instagram_username or "",
                        username=case.ig_username), session=session, case=case, now=now,
           resolved=Resolution(step=StepKey.REVOKE, outcome=Outcome.WRONG_ACCOUNT, by=actor.user_id, at=now))
    return case


def cancel(
    *, session: Session, onboarding_id: int, actor: Actor, reason: str, now: datetime,
    seen_state: OnboardingState | None = None,
) -> Onboarding:
    """The requester or an approver stops the case; after the invite, the access must still be removed.

    `seen_state` is the state the person saw when they chose to cancel. If the case has moved since (an
    approver approved it a moment earlier, staff sent the invitation), the cancel is refused with
    StateChanged rather than applied to a case they did not see: of two people acting at once, exactly one
    changes the case, decided by the database (the case row is locked for the transaction).
    """
    case = load(session=session, onboarding_id=onboarding_id)
    if case.state in TERMINAL_STATES:
        raise WrongState(f"Onboarding #{case.id} is already {STATE_LABELS[case.state]}.")
    if case.state in REMOVAL_STATES:
        raise WrongState(
            f"Onboarding #{case.id} is already waiting for the customer's access to be removed; "
            "confirm the removal in its thread."
        )
    if seen_state is not None and case.state != seen_state:
        raise StateChanged(
            f"Onboarding #{case.id} changed while you were cancelling it: it is now {STATE_LABELS[case.state]} "
            f"(it was {STATE_LABELS[seen_state]}). Submit again if you still want to cancel it."
        )
    require_canceller(case, actor)
    reason = checked_reason(reason, missing="Give a reason for cancelling.")
    case.cancelled_by = actor.user_id
    case.cancel_reason = reason
    cancelled_from = case.state
    needs_revoke = case.state in AFTER_INVITE
    if needs_revoke:
        case.revoke_outcome = S.CANCELLED
        set_poll_due(case, None)
        move(session=session, case=case, to=S.REVOKING, actor=actor.user_id, action="cancel", now=now,
             attempted="be cancelled", detail=reason)
    else:
        move(session=session, case=case, to=S.CANCELLED, actor=actor.user_id, action="cancel", now=now,
             attempted="be cancelled", detail=reason)
    open_step = _OPEN_STEP.get(cancelled_from)
    notices: list[Notice] = [Cancelled(by=actor.user_id, reason=reason, needs_revoke=needs_revoke)]
    if needs_revoke:
        notices.append(revoke_notice(case, RevokeReason.CANCELLED))
    report(*notices, session=session, case=case, now=now,
           resolved=None if open_step is None else Resolution(step=open_step, outcome=Outcome.CANCELLED,
                                                               by=actor.user_id, at=now))
    return case


def expire(*, session: Session, onboarding_id: int, now: datetime) -> Onboarding:
    """The customer never got the channel live in time: stop waiting and remove their access."""
    case = load(session=session, onboarding_id=onboarding_id)
    require_state(case, *POLLED_STATES, attempted="expire")
    case.revoke_outcome = S.EXPIRED
    set_poll_due(case, None)
    move(session=session, case=case, to=S.REVOKING, actor=SYSTEM_ACTOR, action="expire", now=now, attempted="expire")
    report(Expired(requester=case.requester_id), revoke_notice(case, RevokeReason.EXPIRED), session=session,
           case=case, now=now)
    return case


def remind(*, session: Session, onboarding_id: int, due: DueReminder, mention: list[str], now: datetime) -> Onboarding:
    """Post a reminder for the current step and record how many due times it covers, so a due time
    never fires twice (and a bot that was down posts one catch-up reminder, not a burst)."""
    case = load(session=session, onboarding_id=onboarding_id)
    if due.due_count is None:
        case.customer_reminded = True
    else:
        case.reminders_sent = due.due_count
    session.add(case)
    repo.record_event(session=session, onboarding=case, actor=SYSTEM_ACTOR, action="remind", now=now,
                      detail=due.about.value + (" escalated" if due.escalated else ""))
    repo.enqueue(
        session=session, onboarding=case, kind=OutboxKind.REPLY, now=now,
        notice=Reminder(state=case.state, since=case.state_entered_at, mention=tuple(mention), about=due.about,
                        escalated=due.escalated, waited=due.waited, expires_after=due.expires_after),
    )
    return case
