"""The access reviews in `python -m bot export`: one row per review line, in the audit export's columns.

(Each sign-off is also an audit event of its case, `review_signed`; these rows add what each review listed.)
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.engine import Engine

from store import reviews
from store.db import session_scope

__all__ = ["review_rows"]


def review_rows(engine: Engine) -> Iterable[dict[str, str]]:
    """Rows `review_listed` (what a review showed) with who signed each removal off, when, and how."""
    with session_scope(engine) as session:
        listed = [(review, reviews.items_of(session=session, review_id=review.id or 0))
                  for review in reviews.list_reviews(session=session) if review.post_status != reviews.SKIPPED]
    for review, lines in listed:
        for item, case in lines:
            signed = (f"; signed {item.outcome} by {item.signed_by} at {item.signed_at.isoformat()}"
                      if item.signed_at is not None else "; not signed" if item.kind == reviews.REMOVED else "")
            what = (f"holding access since {item.since.isoformat()}" if item.kind == reviews.HOLDING
                    else f"removal confirmed by {item.by} at {item.since.isoformat()}")
            yield {
                "onboarding_id": str(case.id), "customer_name": case.customer_name,
                "contact_email": case.contact_email, "region": case.region.value, "at": review.taken_at.isoformat(),
                "actor": review.requested_by, "action": "review_listed", "from_state": "", "to_state": "",
                "detail": f"access review {review.id} ({review.scheduled_for.isoformat()}): {what}{signed}",
            }
