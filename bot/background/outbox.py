"""Delivering the outbox to Slack: in order per case, paced per channel, exactly once.

A row is claimed (status SENDING, committed) before the Slack call and marked DELIVERED with the message
ts after it. A crash between the two leaves the row SENDING: "in doubt". Every post carries message
metadata naming its outbox row, so before re-sending an in-doubt row the dispatcher looks in the thread
(or channel) for a message with that metadata and, if it is there, records it instead of posting again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.slack.blocks import Rendered, render_notice, status_card
from bot.slack.blocks.replies import NoticeContext
from bot.workflow.notices import Resolution, decode_notice, decode_resolution, step_of
from store import repo
from store.db import session_scope
from store.limits import clip
from store.models import Onboarding, OutboxKind, OutboxMessage, OutboxStatus

__all__ = ["METADATA_EVENT", "OutboxDispatcher"]

logger = logging.getLogger(__name__)

METADATA_EVENT = "onboarding_outbox"
# Slack errors that will not go away by retrying the same request.
PERMANENT_ERRORS = frozenset({
    "channel_not_found", "not_in_channel", "is_archived", "invalid_blocks", "invalid_blocks_format",
    "msg_too_long", "no_text", "invalid_auth", "account_inactive", "token_revoked", "missing_scope",
    "cant_update_message", "message_not_found", "restricted_action", "msg_blocks_too_long",
})
MAX_BACKOFF = timedelta(minutes=10)


@dataclass
class DeliveryStats:
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    recovered_in_doubt: int = 0


class OutboxDispatcher:
    """Sends pending outbox rows. One dispatcher thread per process; `wake()` after each commit."""

    def __init__(
        self,
        *,
        engine: Engine,
        client: WebClient,
        approvers: tuple[str, ...],
        clock: Callable[[], datetime],
        post_interval: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        batch_size: int = 100,
    ) -> None:
        self._engine = engine
        self._client = client
        self._approvers = approvers
        self._clock = clock
        self._post_interval = post_interval
        self._monotonic = monotonic
        self._sleep = sleep
        self._batch_size = batch_size
        self._last_post: dict[str, float] = {}
        self._wake = threading.Event()
        self._lock = threading.Lock()  # one delivery pass at a time, whoever calls it
        self.stats = DeliveryStats()

    # -- running ---------------------------------------------------------------------------------

    def wake(self) -> None:
        """Ask the background loop to deliver now (called after a listener commits)."""
        self._wake.set()

    def run(self, stop: threading.Event, *, idle_seconds: float = 2.0) -> None:
        """Deliver until `stop` is set, waking on `wake()` or every `idle_seconds`."""
        while not stop.is_set():
            try:
                self.deliver_due(stop)
            except Exception:  # keep the loop alive; the row stays queued and is retried
                logger.exception("outbox delivery pass failed")
            self._wake.wait(idle_seconds)
            self._wake.clear()

    def pending(self) -> int:
        """How many rows are not yet delivered (or given up on)."""
        with session_scope(self._engine) as session:
            statement = select(func.count()).select_from(OutboxMessage).where(
                col(OutboxMessage.status).in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
            return int(session.exec(statement).one())

    def deliver_due(self, stop: threading.Event | None = None) -> int:
        """One pass over due rows, in write order; a case whose row cannot go yet waits for the next pass.

        Once `stop` is set, the post in progress finishes and the pass ends (a graceful shutdown).
        """
        with self._lock:
            delivered = 0
            while True:
                with session_scope(self._engine) as session:
                    due = [row.id for row in repo.outbox_due(session=session, now=self._clock(),
                                                             limit=self._batch_size)]
                blocked: set[int] = set()
                progressed = False
                for row_id in due:
                    assert row_id is not None
                    if stop is not None and stop.is_set():
                        return delivered
                    outcome = self._deliver_one(row_id, blocked)
                    if outcome:
                        delivered += 1
                        progressed = True
                if len(due) < self._batch_size or not progressed:
                    return delivered

    # -- one row ---------------------------------------------------------------------------------

    def _deliver_one(self, row_id: int, blocked: set[int]) -> bool:
        with session_scope(self._engine) as session:
            row = session.get(OutboxMessage, row_id)
            if row is None or row.status in (OutboxStatus.DELIVERED, OutboxStatus.FAILED):
                return False
            if row.onboarding_id in blocked:
                return False
            case = session.get(Onboarding, row.onboarding_id)
            assert case is not None
            if row.kind is not OutboxKind.CARD and case.thread_ts is None:
                blocked.add(row.onboarding_id)  # the thread's parent has not been posted yet
                return False
            in_doubt = row.status is OutboxStatus.SENDING
            row.status = OutboxStatus.SENDING
            row.attempts += 1
            session.add(row)
            job = self._prepare(session, row, case)
        # The claim is committed; from here a crash leaves the row "in doubt", never silently lost.
        try:
            if in_doubt and job.posts:
                found = self._find_posted(job)
                if found is not None:
                    self.stats.recovered_in_doubt += 1
                    self._finish(job, found)
                    return True
            ts = self._send(job)
        except SlackApiError as exc:
            self._handle_slack_error(job, exc, blocked)
            return False
        except Exception as exc:  # timeouts, resets: the post may or may not have reached Slack
            logger.warning("outbox row %s: %s; will check Slack before retrying", row_id, type(exc).__name__)
            self._reschedule(job, error=type(exc).__name__, in_doubt=True)
            blocked.add(job.onboarding_id)
            return False
        self._finish(job, ts)
        return True

    def _prepare(self, session: Any, row: OutboxMessage, case: Onboarding) -> _Job:
        now = self._clock()
        assert row.id is not None and case.id is not None and case.slack_channel is not None
        job = _Job(row_id=row.id, onboarding_id=case.id, kind=row.kind, channel=case.slack_channel,
                   thread_ts=case.thread_ts, created_at=row.created_at)
        if row.kind is OutboxKind.CARD:
            # The card shows the current state, so one update covers every card row queued so far.
            job.covers_up_to = max(row.id, _latest_card_row(session, case.id))
            job.rendered = status_card(case, now=now)
            job.update_ts = case.thread_ts
            job.posts = case.thread_ts is None
        elif row.kind is OutboxKind.REPLY:
            notice = decode_notice(row.notice)
            job.rendered = render_notice(notice, NoticeContext(case=case, approvers=self._approvers))
            job.posts = True
        else:
            resolution = decode_resolution(row.notice)
            job.updates = _resolutions(session, case, resolution, self._approvers, row.id)
        return job

    def _send(self, job: _Job) -> str | None:
        if job.kind is OutboxKind.RESOLVE:
            for ts, rendered in job.updates:
                self._update(job.channel, ts, rendered)
            return None
        assert job.rendered is not None
        if not job.posts:
            assert job.update_ts is not None
            self._update(job.channel, job.update_ts, job.rendered)
            return job.update_ts
        self._pace(job.channel)
        response = self._client.chat_postMessage(
            channel=job.channel,
            thread_ts=job.thread_ts if job.kind is OutboxKind.REPLY else None,
            text=job.rendered.text,
            blocks=job.rendered.block_dicts(),
            unfurl_links=False,
            unfurl_media=False,
            metadata={"event_type": METADATA_EVENT,
                      "event_payload": {"outbox_id": job.row_id, "onboarding_id": job.onboarding_id}},
        )
        self._last_post[job.channel] = self._monotonic()
        return str(response["ts"])

    def _update(self, channel: str, ts: str, rendered: Rendered) -> None:
        self._client.chat_update(channel=channel, ts=ts, text=rendered.text, blocks=rendered.block_dicts())

    def _pace(self, channel: str) -> None:
        """Keep to about one post per second per channel, Slack's sustained chat.postMessage limit."""
        last = self._last_post.get(channel)
        if last is not None:
            wait = self._post_interval - (self._monotonic() - last)
            if wait > 0:
                self._sleep(wait)

    def _find_posted(self, job: _Job) -> str | None:
        """The ts of a message this row already produced, found by its metadata, or None."""
        try:
            if job.kind is OutboxKind.REPLY:
                assert job.thread_ts is not None
                response = self._client.conversations_replies(channel=job.channel, ts=job.thread_ts,
                                                              include_all_metadata=True, limit=200)
            else:
                oldest = (job.created_at - timedelta(minutes=1)).timestamp()
                response = self._client.conversations_history(channel=job.channel, oldest=f"{oldest:.6f}",
                                                              include_all_metadata=True, limit=200)
        except SlackApiError as exc:
            # Without history access we cannot tell; posting again risks a duplicate, losing it is worse.
            logger.warning("cannot check for an in-doubt post (%s); posting again", exc.response.get("error"))
            return None
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == METADATA_EVENT and payload.get("outbox_id") == job.row_id:
                return str(message["ts"])
        return None

    def _finish(self, job: _Job, ts: str | None) -> None:
        now = self._clock()
        with session_scope(self._engine) as session:
            if job.kind is OutboxKind.CARD and job.posts and ts is not None:
                case = session.get(Onboarding, job.onboarding_id)
                assert case is not None
                if case.thread_ts is None:
                    case.thread_ts = ts
                    session.add(case)
            covered = col(OutboxMessage.id) == job.row_id
            if job.kind is OutboxKind.CARD and not job.posts:
                covered = ((col(OutboxMessage.onboarding_id) == job.onboarding_id)
                           & (col(OutboxMessage.kind) == OutboxKind.CARD)
                           & (col(OutboxMessage.id) <= job.covers_up_to)
                           & col(OutboxMessage.status).in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
            session.execute(
                update(OutboxMessage)
                .where(covered)
                .values(status=OutboxStatus.DELIVERED, delivered_at=now, slack_ts=ts, last_error=None)
            )
        self.stats.delivered += 1

    def _handle_slack_error(self, job: _Job, exc: SlackApiError, blocked: set[int]) -> None:
        error = str(exc.response.get("error") or exc.response.status_code)
        if error in PERMANENT_ERRORS:
            logger.error("outbox row %s for onboarding #%s failed permanently: %s", job.row_id, job.onboarding_id,
                         error)
            with session_scope(self._engine) as session:
                row = session.get(OutboxMessage, job.row_id)
                assert row is not None
                row.status = OutboxStatus.FAILED
                row.last_error = clip(error, OutboxMessage, "last_error")
                session.add(row)
            self.stats.failed += 1
            return
        logger.warning("outbox row %s: Slack answered %s; retrying later", job.row_id, error)
        # Slack refused the request outright, so nothing was posted: a plain retry is safe.
        self._reschedule(job, error=error, in_doubt=False)
        blocked.add(job.onboarding_id)

    def _reschedule(self, job: _Job, *, error: str, in_doubt: bool) -> None:
        with session_scope(self._engine) as session:
            row = session.get(OutboxMessage, job.row_id)
            assert row is not None
            backoff = min(MAX_BACKOFF, timedelta(seconds=2 ** min(row.attempts, 10)))
            row.status = OutboxStatus.SENDING if in_doubt else OutboxStatus.PENDING
            row.next_attempt_at = self._clock() + backoff
            row.last_error = clip(error, OutboxMessage, "last_error")
            session.add(row)
        self.stats.retried += 1


@dataclass
class _Job:
    """Everything needed to send one row, read in the claiming transaction."""

    row_id: int
    onboarding_id: int
    kind: OutboxKind
    channel: str
    thread_ts: str | None
    created_at: datetime
    rendered: Rendered | None = None
    posts: bool = False
    update_ts: str | None = None
    covers_up_to: int = 0
    updates: tuple[tuple[str, Rendered], ...] = ()


def _latest_card_row(session: Any, onboarding_id: int) -> int:
    statement = (select(func.max(OutboxMessage.id)).where(OutboxMessage.onboarding_id == onboarding_id)
                 .where(OutboxMessage.kind == OutboxKind.CARD))
    latest = session.exec(statement).first()
    return int(latest or 0)


def _resolutions(session: Any, case: Onboarding, resolution: Resolution, approvers: tuple[str, ...],
                 resolve_row_id: int) -> tuple[tuple[str, Rendered], ...]:
    """The delivered step messages this resolution applies to, re-rendered without their buttons."""
    step = resolution.step
    # Only the step messages posted since the previous resolution of the same step: an earlier message
    # keeps the record of whoever resolved it then.
    earlier = session.exec(select(OutboxMessage).where(OutboxMessage.onboarding_id == case.id)
                           .where(OutboxMessage.kind == OutboxKind.RESOLVE)
                           .where(col(OutboxMessage.id) < resolve_row_id)).all()
    floor = max((row.id for row in earlier if decode_resolution(row.notice).step is step), default=0)
    statement = (select(OutboxMessage).where(OutboxMessage.onboarding_id == case.id)
                 .where(OutboxMessage.kind == OutboxKind.REPLY)
                 .where(OutboxMessage.status == OutboxStatus.DELIVERED)
                 .where(col(OutboxMessage.id) > floor)
                 .where(col(OutboxMessage.id) < resolve_row_id)
                 .where(col(OutboxMessage.slack_ts).is_not(None)))
    updates = []
    for row in session.exec(statement):
        notice = decode_notice(row.notice)
        if step_of(notice) is step and row.slack_ts:
            ctx = NoticeContext(case=case, approvers=approvers, resolution=resolution)
            updates.append((row.slack_ts, render_notice(notice, ctx)))
    return tuple(updates)
