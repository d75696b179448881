"""The weekly access review: opening one once per scheduled instant, and approvers' sign-offs.

What a review lists is decided here and stored as its lines (store.reviews); the words are in
bot/slack/blocks/review.py, and the message is delivered by bot/background/reviews.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.review_schedule import WeeklySchedule, latest_instant
from bot.workflow.core import SYSTEM_ACTOR, Actor, report, require_approver
from bot.workflow.errors import OnboardingNotFound
from bot.workflow.notices import ReviewFlagged, RevokeReason, RevokeStep
from store import repo
from store import reviews as store
from store.models import AccessReview
from store.states import OnboardingState

__all__ = ["CHECKED", "STILL_HAS_ACCESS", "ReviewSignOff", "open_review", "post_now", "scheduled_review",
           "sign_off"]

S = OnboardingState
CHECKED, STILL_HAS_ACCESS = "checked", "still_has_access"
CLI_ACTOR = "cli"
_REASON = {S.COMPLETED: RevokeReason.ACTIVE, S.CANCELLED: RevokeReason.CANCELLED, S.EXPIRED: RevokeReason.EXPIRED}


def open_review(*, session: Session, scheduled_for: datetime, now: datetime, channel: str,
                by: str) -> AccessReview | None:
    """Insert the review for this instant with its lines, or None if it exists already (exactly once)."""
    review = store.insert_review(session=session, scheduled_for=scheduled_for, now=now, channel=channel, by=by)
    if review is None or review.id is None:
        return None
    since = store.latest_taken_before(session=session, review_id=review.id)
    for case in store.holding_access(session=session):
        assert case.id is not None
        store.add_item(session=session, review_id=review.id, onboarding_id=case.id, kind=store.HOLDING,
                       since=case.invited_at or case.state_entered_at)
    for case in store.removals_since(session=session, since=since, until=now):
        assert case.id is not None and case.revoked_at is not None
        store.add_item(session=session, review_id=review.id, onboarding_id=case.id, kind=store.REMOVED,
                       since=case.revoked_at, by=case.revoked_by)
    session.flush()
    return review


def scheduled_review(*, session: Session, schedule: WeeklySchedule, now: datetime,
                     channel: str) -> AccessReview | None:
    """The review the schedule owes now, opened by whichever process asks first; None if there is none.

    Only the latest instant at or before `now` counts, so a process that was down over several instants
    posts one late review. The very first sweep records the latest instant without posting (a baseline):
    a new install does not post a review for a week it was not running.
    """
    instant = latest_instant(schedule, now)
    if not store.any_review(session=session):
        store.insert_review(session=session, scheduled_for=instant, now=now, channel=channel, by=SYSTEM_ACTOR,
                            skipped=True)
        return None
    return open_review(session=session, scheduled_for=instant, now=now, channel=channel, by=SYSTEM_ACTOR)


def post_now(*, session: Session, schedule: WeeklySchedule | None, now: datetime, channel: str) -> AccessReview | None:
    """`review --post-now`: the review the schedule owes (if one is owed and not yet made) or else a new one.

    Either way through the same UNIQUE instant as the sweep, so a scheduled review and this one at the same
    moment make one review. None only if a review for this very second exists.
    """
    if schedule is not None:
        review = open_review(session=session, scheduled_for=latest_instant(schedule, now), now=now,
                             channel=channel, by=CLI_ACTOR)
        if review is not None:
            return review
    return open_review(session=session, scheduled_for=now.replace(microsecond=0), now=now, channel=channel,
                       by=CLI_ACTOR)


@dataclass(frozen=True)
class ReviewSignOff:
    """What a sign-off click changed: how many lines it signed (0: a second click, nothing changed)."""

    signed: int
    reopened: tuple[int, ...]


def sign_off(*, session: Session, review_id: int, item_id: int | None, outcome: str, actor: Actor,
             now: datetime) -> ReviewSignOff:
    """An approver signs one removal line (`item_id`) or every unsigned one (None), as checked or flagged.

    Flagged (*Still has access*): the case goes back to "remove access now" — REVOKING, whose reminders and
    escalation start again — and its thread says so.
    """
    require_approver(actor, verb="sign off an access review of")
    if store.get_review(session=session, review_id=review_id) is None:
        raise OnboardingNotFound("There is no such access review.")
    ids = None if item_id is None else [item_id]
    signed = store.sign(session=session, review_id=review_id, item_ids=ids, by=actor.user_id, outcome=outcome,
                        now=now)
    reopened: list[int] = []
    if outcome == STILL_HAS_ACCESS:
        for line in signed:
            case = repo.lock_onboarding(session=session, onboarding_id=line.case.id or 0)
            if case is None or case.state not in _REASON:
                continue  # already back in REVOKING (flagged in another review): its reminders run
            reason = _REASON[case.state]
            case.revoke_outcome = case.state
            case.revoked_at = case.revoked_by = None
            case.removal_checked_at = case.removal_checked_by = None
            repo.transition(session=session, onboarding=case, to=S.REVOKING, actor=actor.user_id,
                            action="review_flagged", now=now, detail=f"access review {review_id}", reopen=True)
            report(ReviewFlagged(by=actor.user_id),
                   RevokeStep(reason=reason, email=case.contact_email, project_id=case.project_id),
                   session=session, case=case, now=now)
            reopened.append(case.id or 0)
    for line in signed:
        repo.record_event(session=session, onboarding=line.case, actor=actor.user_id, action="review_signed",
                          now=now, detail=f"access review {review_id}: {outcome}")
    return ReviewSignOff(signed=len(signed), reopened=tuple(reopened))
