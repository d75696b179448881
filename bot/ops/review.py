"""`python -m bot review --post-now`: open an access review and deliver it from this process."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime

from bot.background.reviews import deliver_reviews
from bot.config import Settings
from bot.slack.approvers import ApproverDirectory
from bot.slack.client import make_web_client
from bot.workflow.reviews import post_now
from store.db import make_engine, migrate, session_scope

__all__ = ["post_review_now"]


def post_review_now(settings: Settings, *, now: datetime | None = None) -> str:
    """Open the review (exactly once per instant, like the scheduled sweep) and post it; a line saying what happened."""
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        moment = now or datetime.now(UTC)
        with session_scope(engine) as session:
            review = post_now(session=session, schedule=settings.access_review, now=moment,
                              channel=settings.onboarding_channel)
            review_id = review.id if review is not None else None
        client = make_web_client(settings, background=True)
        try:
            approvers = ApproverDirectory(client, users=settings.approver_users, groups=settings.approver_groups)
            deliver_reviews(engine=engine, client=client, approvers=approvers.mentions, now=moment,
                            owner=f"cli-{socket.gethostname()}-{os.getpid()}", lease_ttl=settings.lease_ttl)
        finally:
            client.close()
    finally:
        engine.dispose()
    if review_id is None:
        return "an access review for this moment exists already; nothing new was posted"
    return f"access review {review_id} posted in {settings.onboarding_channel}"
