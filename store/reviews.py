"""Queries and writes for access reviews: creating one once per instant, its lines, delivery and sign-offs.

Like store/repo.py: keyword-only arguments, flush but never commit (the caller owns the transaction).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from store.models import AccessReview, Onboarding, ReviewItem
from store.states import AFTER_INVITE, TERMINAL_STATES

__all__ = [
    "HOLDING",
    "REMOVED",
    "claim_delivery",
    "due_deliveries",
    "finish_delivery",
    "holding_access",
    "insert_review",
    "items_of",
    "latest_taken_before",
    "list_reviews",
    "removals_since",
    "sign",
    "unsigned_reviews",
]

HOLDING, REMOVED = "holding", "removed"
SKIPPED, PENDING, SENDING, DELIVERED = "skipped", "pending", "sending", "delivered"


def insert_review(*, session: Session, scheduled_for: datetime, now: datetime, channel: str, by: str,
                  skipped: bool = False) -> AccessReview | None:
    """The new review for this instant, or None if one exists (another process, or an earlier run, made it).

    INSERT … ON CONFLICT DO NOTHING on the UNIQUE instant: of any number of concurrent callers exactly one
    inserts. `skipped` records an instant without posting (the first sweep's baseline).
    """
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(AccessReview.__table__).values(  # type: ignore[attr-defined]
        scheduled_for=scheduled_for, taken_at=now, requested_by=by, channel=channel,
        post_status=SKIPPED if skipped else PENDING, revision=1, rendered_revision=0, reminders_sent=0,
        reminders_posted=0).on_conflict_do_nothing().returning(AccessReview.__table__.c.id)  # type: ignore[attr-defined]
    # RETURNING rather than rowcount, which the ORM session leaves at -1 on PostgreSQL.
    inserted = session.execute(statement).scalar_one_or_none()
    return None if inserted is None else session.get(AccessReview, inserted)


def any_review(*, session: Session) -> bool:
    """Whether any review (posted or a baseline) exists."""
    return session.exec(select(AccessReview.id).limit(1)).first() is not None


def latest_taken_before(*, session: Session, review_id: int) -> datetime | None:
    """When the review before this one took its snapshot (None for the first: a baseline lists nothing, so the
    first review lists every removal not yet reviewed)."""
    statement = (select(func.max(AccessReview.taken_at)).where(col(AccessReview.id) < review_id)
                 .where(col(AccessReview.post_status) != SKIPPED))
    return session.exec(statement).first()


def holding_access(*, session: Session) -> list[Onboarding]:
    """Cases whose customer holds access now (invited, removal not confirmed), longest first."""
    statement = (select(Onboarding).where(col(Onboarding.state).in_(AFTER_INVITE))
                 .order_by(col(Onboarding.invited_at), col(Onboarding.id)))
    return list(session.exec(statement))


def removals_since(*, session: Session, since: datetime | None, until: datetime) -> list[Onboarding]:
    """Closed cases whose removal was confirmed in (since, until], oldest first."""
    statement = (select(Onboarding).where(col(Onboarding.state).in_(TERMINAL_STATES))
                 .where(col(Onboarding.revoked_at).is_not(None)).where(col(Onboarding.revoked_at) <= until))
    if since is not None:
        statement = statement.where(col(Onboarding.revoked_at) > since)
    return list(session.exec(statement.order_by(col(Onboarding.revoked_at), col(Onboarding.id))))


def add_item(*, session: Session, review_id: int, onboarding_id: int, kind: str, since: datetime,
             by: str | None = None) -> None:
    """A line of the review."""
    session.add(ReviewItem(review_id=review_id, onboarding_id=onboarding_id, kind=kind, since=since, by=by))


def items_of(*, session: Session, review_id: int) -> list[tuple[ReviewItem, Onboarding]]:
    """The review's lines with their cases: holding access first, then removals, each in listing order."""
    statement = (select(ReviewItem, Onboarding).join(Onboarding, col(Onboarding.id) == col(ReviewItem.onboarding_id))
                 .where(col(ReviewItem.review_id) == review_id).order_by(col(ReviewItem.id)))
    return [(item, case) for item, case in session.exec(statement)]


def get_review(*, session: Session, review_id: int) -> AccessReview | None:
    return session.get(AccessReview, review_id)


def list_reviews(*, session: Session) -> list[AccessReview]:
    """Every review, oldest first (for the export)."""
    return list(session.exec(select(AccessReview).order_by(col(AccessReview.id))))


@dataclass(frozen=True)
class Signed:
    item: ReviewItem
    case: Onboarding


def sign(*, session: Session, review_id: int, item_ids: Sequence[int] | None, by: str, outcome: str,
         now: datetime) -> list[Signed]:
    """Sign these removal lines (None: every unsigned one) unless already signed; the lines this call signed.

    A conditional UPDATE (`signed_at IS NULL`): a second click, or a retried delivery of the same click,
    signs nothing.
    """
    condition = and_(col(ReviewItem.review_id) == review_id, col(ReviewItem.kind) == REMOVED,
                     col(ReviewItem.signed_at).is_(None))
    if item_ids is not None:
        condition = and_(condition, col(ReviewItem.id).in_(list(item_ids)))
    ids = [row for row in session.exec(select(ReviewItem.id).where(condition).with_for_update()) if row is not None]
    if not ids:
        return []
    session.execute(update(ReviewItem).where(col(ReviewItem.id).in_(ids)).where(col(ReviewItem.signed_at).is_(None))
                    .values(signed_by=by, signed_at=now, outcome=outcome))
    session.execute(update(AccessReview).where(col(AccessReview.id) == review_id)
                    .values(revision=AccessReview.revision + 1))
    session.expire_all()
    return [Signed(item, case) for item, case in items_of(session=session, review_id=review_id)
            if item.id in ids]


def unsigned_reviews(*, session: Session) -> list[tuple[AccessReview, int]]:
    """Delivered reviews with unsigned removal lines, with how many."""
    statement = (select(AccessReview, func.count(col(ReviewItem.id)))
                 .join(ReviewItem, col(ReviewItem.review_id) == col(AccessReview.id))
                 .where(col(AccessReview.post_status) == DELIVERED).where(col(ReviewItem.kind) == REMOVED)
                 .where(col(ReviewItem.signed_at).is_(None)).group_by(col(AccessReview.id))
                 .order_by(col(AccessReview.id)))
    return [(review, int(count)) for review, count in session.exec(statement)]


def _deliverable(now: datetime) -> object:
    lease_over = or_(col(AccessReview.post_lease_until).is_(None), col(AccessReview.post_lease_until) <= now)
    work = or_(col(AccessReview.post_status).in_([PENDING, SENDING]),
               and_(col(AccessReview.post_status) == DELIVERED,
                    or_(col(AccessReview.rendered_revision) < col(AccessReview.revision),
                        col(AccessReview.reminders_posted) < col(AccessReview.reminders_sent))))
    return and_(work, lease_over)


def due_deliveries(*, session: Session, now: datetime) -> list[int]:
    """Reviews with something to send (the post, a re-render, a reminder) that no live lease holds."""
    statement = select(AccessReview.id).where(_deliverable(now)).order_by(col(AccessReview.id))  # type: ignore[arg-type]
    return [row for row in session.exec(statement) if row is not None]


@dataclass(frozen=True)
class DeliveryClaim:
    review: AccessReview
    in_doubt: bool  # claimed SENDING with an ended lease: the post may have reached Slack


def claim_delivery(*, session: Session, review_id: int, now: datetime, owner: str,
                   lease_ttl: timedelta) -> DeliveryClaim | None:
    """Claim the review's delivery for `owner`, or None if another process holds it or nothing is due."""
    statement = (select(AccessReview).where(col(AccessReview.id) == review_id)
                 .where(_deliverable(now)).with_for_update(skip_locked=True))  # type: ignore[arg-type]
    review = session.exec(statement).first()
    if review is None:
        return None
    in_doubt = review.post_status == SENDING
    if review.post_status == PENDING:
        review.post_status = SENDING
    review.post_owner = owner
    review.post_lease_until = now + lease_ttl
    session.add(review)
    session.flush()
    return DeliveryClaim(review=review, in_doubt=in_doubt)


def finish_delivery(*, session: Session, review_id: int, owner: str, ts: str | None, rendered_revision: int,
                    reminders_posted: int) -> None:
    """Record what was sent and release the claim."""
    values: dict[str, object] = {"post_owner": None, "post_lease_until": None,
                                 "rendered_revision": rendered_revision, "reminders_posted": reminders_posted}
    if ts is not None:
        values.update(slack_ts=ts, post_status=DELIVERED)
    session.execute(update(AccessReview).where(col(AccessReview.id) == review_id)
                    .where(col(AccessReview.post_owner) == owner).values(**values))


def release_delivery(*, session: Session, review_id: int, owner: str, retry_at: datetime) -> None:
    """Give the claim back after a failure; retried once `retry_at` passes."""
    session.execute(update(AccessReview).where(col(AccessReview.id) == review_id)
                    .where(col(AccessReview.post_owner) == owner).values(post_lease_until=retry_at))


def add_reminder(*, session: Session, review_id: int, count: int) -> bool:
    """Record that `count` reminders are due (once: a conditional UPDATE); True if this call recorded it."""
    result = session.execute(update(AccessReview).where(col(AccessReview.id) == review_id)
                             .where(col(AccessReview.reminders_sent) < count).values(reminders_sent=count))
    return bool(result.rowcount)  # type: ignore[attr-defined]
