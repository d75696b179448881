"""Domain operations up to the invitation: intake, approval, project registration, app creation.

Each checks who may act and from which state, then writes the transition, its audit event and the
Slack outbox rows in the caller's transaction. No Slack, no network.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.workflow.core import (
    SYSTEM_ACTOR,
    Actor,
    app_display_name,
    checked_reason,
    load,
    log_move,
    move,
    report,
    require_decider,
    require_state,
    resolve,
)
from bot.workflow.errors import DuplicateOnboarding, IntakeLimited, NotAllowed, ProjectNotFresh
from bot.workflow.freshness import CheckRecord, FoundApp, ProjectFacts, Verdict, audit_summary, evaluate
from bot.workflow.intake import Intake
from bot.workflow.notices import (
    STATE_LABELS,
    AppCreated,
    AppFailed,
    ApprovalRequest,
    Approved,
    CustomerInstructions,
    InviteStep,
    Outcome,
    ProjectRegistered,
    ProjectStep,
    Rejected,
    Resolution,
    StepKey,
)
from store import repo
from store.limits import clip
from store.models import Channel, Onboarding
from store.states import OnboardingState

__all__ = [
    "approve",
    "base_project",
    "check_intake_allowance",
    "record_app_created",
    "record_app_failure",
    "record_project_checks",
    "register_project",
    "reject",
    "request_app_retry",
    "submit_intake",
]

S = OnboardingState


INTAKE_WINDOW = timedelta(hours=1)


def check_intake_allowance(*, session: Session, requester_id: str, now: datetime, limit_per_hour: int) -> None:
    """IntakeLimited if this person already opened `limit_per_hour` onboardings in the last hour (0: no limit).

    Counted from the database, so every replica of the bot sees the same count.
    """
    if limit_per_hour <= 0:
        return
    opened = repo.count_opened_since(session=session, requester_id=requester_id, since=now - INTAKE_WINDOW)
    if opened >= limit_per_hour:
        raise IntakeLimited(
            f"You have opened {opened} onboardings in the last hour, the most this workspace allows "
            f"(INTAKE_LIMIT_PER_HOUR={limit_per_hour}). Please try again later, or ask an approver for help."
        )


def adds_channel(base: Onboarding, channels: tuple[Channel, ...]) -> bool:
    """True when a further onboarding of `base`'s customer asks only for channels `base` did not connect."""
    return not set(channels) & set(base.requested_channels)


def submit_intake(
    *, session: Session, intake: Intake, requester_id: str, channel: str, now: datetime, limit_per_hour: int = 0,
    existing_of: int | None = None,
) -> Onboarding:
    """Open a case awaiting approval; refuse if one is already open for the same customer or e-mail, or
    if the requester reached their hourly limit (`limit_per_hour`, 0 for none).

    With `existing_of`, a further Page for the customer of that completed onboarding, in its project and region.
    """
    # One intake at a time, across processes: two submissions for one customer (or over one person's hourly
    # limit) must not both pass their checks before either is written. Intakes come at a person's pace.
    repo.serialise(session=session, topic="intake")
    check_intake_allowance(session=session, requester_id=requester_id, now=now, limit_per_hour=limit_per_hour)
    base = None
    if existing_of is not None:
        base = repo.get_onboarding(session=session, onboarding_id=existing_of)
        if base is None or base.state != S.COMPLETED or not base.project_id:
            raise NotAllowed(f"Onboarding #{existing_of} is not a completed onboarding with a project.")
        if (base.customer_name, base.region) != (intake.customer_name, intake.region.value):
            raise NotAllowed(f"A second Page keeps the customer and region of onboarding #{existing_of}.")
    key = repo.normalise_name(intake.customer_name)
    existing = repo.find_open_duplicate(session=session, customer_key=key, contact_email=intake.contact_email)
    if existing is not None and existing.id is not None:
        field = "contact_email" if existing.contact_email == intake.contact_email else "customer_name"
        raise DuplicateOnboarding(
            f"Onboarding #{existing.id} for {existing.customer_name} is already open "
            f"({STATE_LABELS[existing.state]}).",
            existing_id=existing.id,
            field=field,
        )
    case = Onboarding(
        customer_name=intake.customer_name,
        customer_key=key,
        contact_email=intake.contact_email,
        region=intake.region,
        page=intake.page,
        page_type=intake.page_type,
        business_verified=intake.business_verified,
        page_admin=intake.page_admin,
        chat_button=intake.chat_button,
        notes=intake.notes,
        channels=intake.channels_value,
        instagram_username=intake.instagram_username,
        state=S.AWAITING_APPROVAL,
        state_entered_at=now,
        created_at=now,
        updated_at=now,
        requester_id=requester_id,
        slack_channel=channel,
        app_name=app_display_name(intake.customer_name, intake.channels),
        existing_of=existing_of,
    )
    repo.add_onboarding(session=session, onboarding=case)
    if base is not None and adds_channel(base, intake.channels):
        # Another channel for the same customer: the same app carries it (checked with Sinch before reuse).
        case.app_name = base.app_name
    elif base is not None:
        # Its own app name, so creating it never finds (and reuses) the app of an earlier Page.
        case.app_name = app_display_name(f"{intake.customer_name} {case.reference}", intake.channels)
    repo.record_event(
        session=session, onboarding=case, actor=requester_id, action="submit", now=now,
        to_state=S.AWAITING_APPROVAL, detail=f"region={case.region} page_type={case.page_type}"
        + (f" second_page_of=#{existing_of} project_id={base.project_id}" if base is not None else ""),
    )
    log_move(session=session, case_id=case.id, from_state=None, to_state=S.AWAITING_APPROVAL, actor=requester_id,
             action="submit")
    report(ApprovalRequest(existing_of=existing_of, project_id=base.project_id if base is not None else None),
           session=session, case=case, now=now)
    return case


def approve(
    *, session: Session, onboarding_id: int, actor: Actor, allow_self_approval: bool, now: datetime
) -> Onboarding:
    """An approver lets the customer be invited into our account."""
    case = load(session=session, onboarding_id=onboarding_id)
    require_state(case, S.AWAITING_APPROVAL, attempted="be approved")
    require_decider(case, actor, verb="approve", allow_self_approval=allow_self_approval)
    case.approver_id = actor.user_id
    case.decided_at = now
    move(session=session, case=case, to=S.CREATING_PROJECT, actor=actor.user_id, action="approve", now=now,
         attempted="be approved")
    report(Approved(by=actor.user_id),
           ProjectStep(existing_of=case.existing_of, project_id=base_project(session=session, onboarding=case)),
           session=session, case=case, now=now,
           resolved=Resolution(step=StepKey.APPROVAL, outcome=Outcome.APPROVED, by=actor.user_id, at=now))
    return case


def base_project(*, session: Session, onboarding: Onboarding) -> str | None:
    """The existing project a second-Page onboarding goes into: its base onboarding's (None for a first Page)."""
    if onboarding.existing_of is None:
        return None
    base = repo.get_onboarding(session=session, onboarding_id=onboarding.existing_of)
    return base.project_id if base is not None else None


def reject(
    *, session: Session, onboarding_id: int, actor: Actor, reason: str, now: datetime,
    allow_self_approval: bool = False,
) -> Onboarding:
    """An approver refuses the invitation, with a reason; like approving, never on their own request
    (unless ALLOW_SELF_APPROVAL). The requester who wants to stop their own request cancels it instead."""
    case = load(session=session, onboarding_id=onboarding_id)
    require_state(case, S.AWAITING_APPROVAL, attempted="be rejected")
    require_decider(case, actor, verb="reject", allow_self_approval=allow_self_approval)
    reason = checked_reason(reason, missing="Give a reason so the requester knows what to fix.")
    case.approver_id = actor.user_id
    case.decided_at = now
    case.rejection_reason = reason
    move(session=session, case=case, to=S.REJECTED, actor=actor.user_id, action="reject", now=now,
         attempted="be rejected", detail=reason)
    report(Rejected(by=actor.user_id, reason=reason, requester=case.requester_id), session=session, case=case, now=now,
           resolved=Resolution(step=StepKey.APPROVAL, outcome=Outcome.REJECTED, by=actor.user_id, at=now))
    return case


def register_project(
    *,
    session: Session,
    onboarding_id: int,
    actor: Actor,
    project_id: str,
    key_id: str,
    key_secret_sealed: str,
    now: datetime,
    apps: Sequence[FoundApp] = (),
    account_project_id: str = "",
    subproject_ids: frozenset[str] | None = None,
) -> Onboarding:
    """Staff registered the new project and a verified access key; the bot creates the app next.

    The fresh-project check is decided here, in the transaction that stores the project, over the apps and
    subprojects Sinch reported and the other cases as the database has them now (so two cases cannot both
    take one project). A project that is not fresh raises ProjectNotFresh and nothing is written.
    """
    repo.serialise(session=session, topic=f"project:{project_id}")  # two cases cannot both take it
    case = load(session=session, onboarding_id=onboarding_id)
    require_state(case, S.CREATING_PROJECT, attempted="take a project")
    verdict = check_project(session=session, case=case, project_id=project_id, apps=apps,
                            account_project_id=account_project_id, subproject_ids=subproject_ids)
    if not verdict.fresh:
        raise ProjectNotFresh(verdict)
    case.subproject_check = verdict.subproject_check.value
    case.project_id = project_id
    case.key_id = key_id
    case.key_secret_sealed = key_secret_sealed
    case.project_registered_by = actor.user_id
    case.project_registered_at = now
    # Due at once: the listener hands it to a background worker right after the commit, and if that process
    # dies first, any process's sweep claims it (store/leases.py).
    case.app_attempt_at = now
    case.next_poll_at = None  # the previous version's name for it; see store/leases.py
    move(session=session, case=case, to=S.CREATING_APP, actor=actor.user_id, action="register_project", now=now,
         attempted="take a project",
         detail=f"project_id={project_id} key_id={key_id} {audit_summary(verdict.records)}")
    report(ProjectRegistered(by=actor.user_id, project_id=project_id, key_id=key_id), session=session, case=case,
           now=now, resolved=Resolution(step=StepKey.PROJECT, outcome=Outcome.REGISTERED, by=actor.user_id, at=now))
    return case


def check_project(
    *, session: Session, case: Onboarding, project_id: str, apps: Sequence[FoundApp], account_project_id: str,
    subproject_ids: frozenset[str] | None,
) -> Verdict:
    """The fresh-project verdict for `case` taking `project_id`, from Sinch's answers and the stored cases."""
    base = None
    if case.existing_of is not None:
        base = repo.get_onboarding(session=session, onboarding_id=case.existing_of)
    facts = ProjectFacts(
        project_id=project_id,
        other_cases=repo.find_by_project(session=session, project_id=project_id, exclude_id=case.id),
        apps=apps, account_project_id=account_project_id, subproject_ids=subproject_ids, base=base,
    )
    return evaluate(case, facts)


def record_project_checks(
    *, session: Session, onboarding_id: int, actor: Actor, project_id: str, records: Sequence[CheckRecord],
    now: datetime,
) -> None:
    """Audit the checks of a refused (or timed-out) registration; the case itself does not change."""
    case = load(session=session, onboarding_id=onboarding_id)
    repo.record_event(session=session, onboarding=case, actor=actor.user_id, action="project_refused", now=now,
                      detail=f"project_id={project_id} {audit_summary(records)}")


def record_app_created(
    *, session: Session, onboarding_id: int, app_id: str, app_name: str, reused: bool, now: datetime
) -> Onboarding:
    """The bot created (or found) the Conversation API app; staff invite the customer next."""
    case = load(session=session, onboarding_id=onboarding_id)
    if case.state != S.CREATING_APP:
        # Someone cancelled while Sinch was answering; the app id is still worth keeping for the record.
        case.app_id = case.app_id or app_id
        repo.record_event(session=session, onboarding=case, actor=SYSTEM_ACTOR, action="app_created_late",
                          now=now, detail=f"app_id={app_id}")
        session.add(case)
        return case
    case.app_id = app_id
    case.app_name = clip(app_name, Onboarding, "app_name")  # as Sinch answered it
    case.last_error = None
    case.app_attempt_at = None
    case.next_poll_at = None
    move(session=session, case=case, to=S.INVITING, actor=SYSTEM_ACTOR, action="create_app", now=now,
         attempted="record its app", detail=f"app_id={app_id} reused={reused}")
    report(
        AppCreated(app_id=app_id, app_name=app_name, region=case.region, reused=reused),
        InviteStep(email=case.contact_email, project_id=case.project_id),
        CustomerInstructions(app_name=app_name),
        session=session, case=case, now=now,
        resolved=Resolution(step=StepKey.APP, outcome=Outcome.CREATED, by=SYSTEM_ACTOR, at=now),
    )
    return case


def record_app_failure(
    *, session: Session, onboarding_id: int, error: str, retry_in: timedelta | None, now: datetime
) -> Onboarding:
    """Creating the app failed. With `retry_in` the scheduler tries again quietly; without it (a
    permanent error, or too many attempts) the thread gets the error and a Retry button."""
    case = load(session=session, onboarding_id=onboarding_id)
    require_state(case, S.CREATING_APP, attempted="record an app failure")
    case.app_attempts += 1
    case.last_error = clip(error, Onboarding, "last_error")
    case.updated_at = now
    case.app_attempt_at = now + retry_in if retry_in is not None else None
    case.next_poll_at = None
    repo.record_event(session=session, onboarding=case, actor=SYSTEM_ACTOR, action="create_app_failed",
                      now=now, detail=error)
    session.add(case)
    if retry_in is None:
        report(AppFailed(error=error[:1500], attempts=case.app_attempts), session=session, case=case, now=now)
    return case


def request_app_retry(*, session: Session, onboarding_id: int, actor: Actor, now: datetime) -> Onboarding:
    """Someone pressed Retry on a failed app creation; the caller then tries again."""
    case = load(session=session, onboarding_id=onboarding_id)
    require_state(case, S.CREATING_APP, attempted="retry the app creation")
    case.app_attempts = 0
    case.app_attempt_at = now
    case.next_poll_at = None
    session.add(case)
    repo.record_event(session=session, onboarding=case, actor=actor.user_id, action="retry_app", now=now)
    resolve(session=session, case=case, now=now, step=StepKey.APP, outcome=Outcome.RETRIED, by=actor.user_id)
    return case
