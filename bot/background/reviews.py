"""The access review in the background: opening the one the schedule owes, chasing it, and delivering it.

The sweep runs in every process; the UNIQUE instant (store.reviews.insert_review) makes one review per
instant. Delivery is claimed per review with a lease like an outbox row: the post carries the review's id in
its metadata, and a claim that finds an earlier claim ended without an outcome looks for that message before
posting again. Sign-offs and reminders are sent by the same claim (chat.update is idempotent; a reminder
carries its number in its metadata and is looked for too).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine

from bot.review_schedule import WeeklySchedule
from bot.slack.blocks.review import ReviewLine, review_message, review_reminder
from bot.workflow.channels import channels_of
from bot.workflow.reviews import scheduled_review
from store import reviews as store
from store.db import session_scope
from store.models import AccessReview

__all__ = ["METADATA_EVENT", "deliver_reviews", "due_reminders", "review_sweep"]

logger = logging.getLogger(__name__)
METADATA_EVENT = "access_review"
REMIND_EVERY = timedelta(days=1)
RETRY_AFTER = timedelta(minutes=1)


def due_reminders(review: AccessReview, now: datetime) -> int:
    """How many reminders an unsigned review is owed: the first a day after it was taken, then daily."""
    return max(0, int((now - review.taken_at) / REMIND_EVERY))


def review_sweep(*, engine: Engine, client: WebClient, schedule: WeeklySchedule | None, channel: str,
                 approvers: Sequence[str], now: datetime, owner: str, lease_ttl: timedelta) -> int:
    """Open the review the schedule owes (once, whichever process comes first), record due reminders, deliver.

    Returns how many Slack calls it made.
    """
    # One transaction for the sweep's bookkeeping (on SQLite every transaction takes the write lock).
    with session_scope(engine) as session:
        if schedule is not None:
            scheduled_review(session=session, schedule=schedule, now=now, channel=channel)
        for review, _unsigned in store.unsigned_reviews(session=session):
            assert review.id is not None
            store.add_reminder(session=session, review_id=review.id, count=due_reminders(review, now))
        due = store.due_deliveries(session=session, now=now)
    if not due:
        return 0
    return deliver_reviews(engine=engine, client=client, approvers=approvers, now=now, owner=owner,
                           lease_ttl=lease_ttl)


def deliver_reviews(*, engine: Engine, client: WebClient, approvers: Sequence[str], now: datetime, owner: str,
                    lease_ttl: timedelta) -> int:
    """Send what every review is owed: its post, a re-render after sign-offs, its reminders."""
    sent = 0
    with session_scope(engine) as session:
        due = store.due_deliveries(session=session, now=now)
    for review_id in due:
        try:
            sent += _deliver_one(engine, client, review_id, approvers=approvers, now=now, owner=owner,
                                 lease_ttl=lease_ttl)
        except SlackApiError as exc:
            logger.warning("access review %s: Slack answered %s; retrying later", review_id,
                           exc.response.get("error"))
            with session_scope(engine) as session:
                store.release_delivery(session=session, review_id=review_id, owner=owner, retry_at=now + RETRY_AFTER)
    return sent


def _deliver_one(engine: Engine, client: WebClient, review_id: int, *, approvers: Sequence[str], now: datetime,
                 owner: str, lease_ttl: timedelta) -> int:
    with session_scope(engine) as session:
        claim = store.claim_delivery(session=session, review_id=review_id, now=now, owner=owner, lease_ttl=lease_ttl)
        if claim is None:
            return 0
        review = claim.review
        lines = [ReviewLine(item, case, channels_of(case)) for item, case in store.items_of(session=session,
                                                                                          review_id=review_id)]
        unsigned = sum(1 for line in lines if line.item.kind == store.REMOVED and line.item.signed_at is None)
        session.expunge(review)
    rendered = review_message(review, lines)
    calls, ts = 0, review.slack_ts
    if ts is None:
        ts = _find(client, review, None, key=0) if claim.in_doubt else None
        if ts is None:
            ts = _post(client, review, None, rendered.text, rendered.block_dicts(), key=0)
            calls += 1
    elif review.rendered_revision < review.revision:
        client.chat_update(channel=review.channel, ts=ts, text=rendered.text, blocks=rendered.block_dicts())
        calls += 1
    posted = review.reminders_posted
    while posted < review.reminders_sent and unsigned:
        posted += 1
        if claim.in_doubt and _find(client, review, ts, key=posted) is not None:
            continue
        reminder = review_reminder(unsigned, posted, approvers)
        _post(client, review, ts, reminder.text, reminder.block_dicts(), key=posted)
        calls += 1
    with session_scope(engine) as session:
        store.finish_delivery(session=session, review_id=review_id, owner=owner, ts=ts,
                              rendered_revision=review.revision, reminders_posted=review.reminders_sent)
    return calls


def _post(client: WebClient, review: AccessReview, thread_ts: str | None, text: str, blocks: list[dict[str, object]],
          *, key: int) -> str:
    response = client.chat_postMessage(
        channel=review.channel, thread_ts=thread_ts, text=text, blocks=blocks, unfurl_links=False,
        unfurl_media=False,
        metadata={"event_type": METADATA_EVENT, "event_payload": {"review_id": review.id, "reminder": key}})
    return str(response["ts"])


def _find(client: WebClient, review: AccessReview, thread_ts: str | None, *, key: int) -> str | None:
    """The ts of a message an earlier, interrupted claim already posted (by its metadata), or None."""
    try:
        if thread_ts is None:
            oldest = (review.taken_at - timedelta(minutes=1)).timestamp()
            response = client.conversations_history(channel=review.channel, oldest=f"{oldest:.6f}",
                                                    include_all_metadata=True, limit=200)
        else:
            response = client.conversations_replies(channel=review.channel, ts=thread_ts,
                                                    include_all_metadata=True, limit=200)
    except SlackApiError as exc:
        logger.warning("cannot check for an in-doubt review post (%s); posting again", exc.response.get("error"))
        return None
    for message in response.get("messages") or []:
        metadata = message.get("metadata") or {}
        payload = metadata.get("event_payload") or {}
        if (metadata.get("event_type") == METADATA_EVENT and payload.get("review_id") == review.id
                and payload.get("reminder") == key):
            return str(message["ts"])
    return None
