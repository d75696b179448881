"""Delivering the outbox to Slack: in order per case, paced per channel, exactly once, from any process.

A row is claimed in the database (status SENDING, with this process's name and a lease of LEASE_TTL,
committed) before the Slack call, and marked DELIVERED with the message ts after it. While the lease runs
the row is ours and no other process touches it. A crash between claim and record leaves the row SENDING
until its lease ends: then it is "in doubt", and whichever process claims it next looks in the thread (or
channel) for a message carrying that row's id in its metadata and, if it is there, records it instead of
posting again. Every process shares one pace per channel (pacing.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.background.pacing import ChannelPacer, LeaseLost, retry_after
from bot.background.repeated_failure import RepeatedFailure
from bot.slack.blocks import Rendered, render_notice, status_card
from bot.slack.blocks.replies import NoticeContext
from bot.workflow.notices import Resolution, decode_notice, decode_resolution, step_of
from store import outbox as queue
from store import repo
from store.db import session_scope
from store.models import Onboarding, OutboxKind, OutboxMessage
from store.write_lock import background_writes

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
MAX_RATE_LIMITED_POSTS = 5  # attempts of one post answered 429 before the row is rescheduled
DEFAULT_LEASE = timedelta(seconds=30)


@dataclass
class DeliveryStats:
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    recovered_in_doubt: int = 0
    taken_over: int = 0  # in-doubt rows claimed after their lease ended


class OutboxDispatcher:
    """Sends pending outbox rows. One dispatcher thread per process; `wake()` after each commit."""

    def __init__(
        self,
        *,
        engine: Engine,
        client: WebClient,
        approvers: tuple[str, ...],
        clock: Callable[[], datetime],
        owner: str = "outbox",
        lease_ttl: timedelta = DEFAULT_LEASE,
        post_interval: float = 1.0,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        batch_size: int = 100,
        on_rate_limit: Callable[[float], None] = lambda seconds: None,
    ) -> None:
        self._engine = engine
        self._client = client
        self._approvers = approvers
        self._clock = clock
        self._owner = owner
        self._lease_ttl = lease_ttl
        self._pacer = ChannelPacer(engine=engine, owner=owner, lease_ttl=lease_ttl, post_interval=post_interval,
                                   clock=clock, wall=wall, sleep=sleep)
        self._batch_size = batch_size
        self._on_rate_limit = on_rate_limit  # a metric: Slack answered a post with 429
        self._wake = threading.Event()
        self._lock = threading.Lock()  # one delivery pass at a time, whoever calls it
        self._current = threading.local()  # the row this thread is sending, for lease extensions
        self.stats = DeliveryStats()

    # -- running ---------------------------------------------------------------------------------

    def wake(self) -> None:
        """Ask the background loop to deliver now (called after a listener commits)."""
        self._wake.set()

    def run(self, stop: threading.Event, *, idle_seconds: float = 2.0) -> None:
        """Deliver until `stop` is set, waking on `wake()` or every `idle_seconds`. Its transactions give way to
        requests' for SQLite's write lock (background_writes)."""
        failures = RepeatedFailure(logger, "outbox delivery pass")
        while not stop.is_set():
            try:
                with background_writes():
                    self.deliver_due(stop)
            except Exception as exc:  # keep the loop alive; the row stays queued and is retried
                failures.failed(exc)
            else:
                failures.succeeded()
            self._wake.wait(idle_seconds)
            self._wake.clear()

    def pending(self) -> int:
        """How many rows are not yet delivered (or given up on)."""
        with session_scope(self._engine) as session:
            return queue.pending_count(session=session)

    def deliver_due(self, stop: threading.Event | None = None) -> int:
        """Deliver due rows, oldest first, until nothing more can go now; returns how many were delivered.

        Once `stop` is set, the post in progress finishes and the pass ends (a graceful shutdown).
        """
        with self._lock:
            delivered = 0
            while True:
                with session_scope(self._engine) as session:
                    due = queue.due_ids(session=session, now=self._clock(), limit=self._batch_size)
                progressed = False
                for row_id in due:
                    if stop is not None and stop.is_set():
                        return delivered
                    outcome = self._deliver_one(row_id)
                    delivered += outcome is _Outcome.DELIVERED
                    if outcome in (_Outcome.DELIVERED, _Outcome.FAILED):
                        # The next row of this case may go now, and may be urgent: look again first.
                        progressed = True
                        break
                if not progressed:
                    return delivered

    def extend_lease(self, seconds: float) -> None:
        """Called before this thread's Web API client waits out a rate limit (`seconds`, Slack's Retry-After)
        on a card update: keep the row ours meanwhile. (A post's 429 is the outbox's own: see _post.)"""
        row_id = getattr(self._current, "row_id", None)
        if row_id is None:
            return
        until = self._clock() + timedelta(seconds=seconds) + self._lease_ttl
        with session_scope(self._engine) as session:
            queue.renew(session=session, row_id=row_id, owner=self._owner, until=until)

    # -- one row ---------------------------------------------------------------------------------

    def _deliver_one(self, row_id: int) -> _Outcome:
        with session_scope(self._engine) as session:
            claim = queue.claim(session=session, row_id=row_id, now=self._clock(), owner=self._owner,
                                lease_ttl=self._lease_ttl)
            if claim is None:
                return _Outcome.NOT_CLAIMED  # another process has it, or it went meanwhile
            row = claim.row
            case = repo.get_onboarding(session=session, onboarding_id=row.onboarding_id)
            assert case is not None
            if row.kind is not OutboxKind.CARD and case.thread_ts is None:
                # The thread's parent never got posted (its card row failed): nothing to reply to.
                queue.fail(session=session, row_id=row_id, error="no thread to post in")
                return _Outcome.FAILED
            job = self._prepare(session=session, row=row, case=case)
        if claim.in_doubt:
            self.stats.taken_over += 1
            logger.info("outbox row %s: took over an in-doubt delivery (its lease ended)", row_id)
        # The claim is committed; from here a crash leaves the row ours until the lease ends, then in doubt.
        self._current.row_id = row_id
        try:
            if claim.in_doubt and job.posts:
                found = self._find_posted(job)
                if found is not None:
                    self.stats.recovered_in_doubt += 1
                    self._finish(job, found)
                    return _Outcome.DELIVERED
            ts = self._send(job)
        except LeaseLost:
            logger.warning("outbox row %s: lease lost before sending; another process has it", row_id)
            return _Outcome.NOT_CLAIMED
        except SlackApiError as exc:
            return self._handle_slack_error(job, exc)
        except Exception as exc:  # timeouts, resets: the post may or may not have reached Slack
            logger.warning("outbox row %s: %s; will check Slack before retrying", row_id, type(exc).__name__)
            self._reschedule(job, error=type(exc).__name__, in_doubt=True)
            return _Outcome.RETRY
        finally:
            self._current.row_id = None
        self._finish(job, ts)
        return _Outcome.DELIVERED

    def _prepare(self, *, session: Session, row: OutboxMessage, case: Onboarding) -> _Job:
        now = self._clock()
        assert row.id is not None and case.id is not None and case.slack_channel is not None
        job = _Job(row_id=row.id, onboarding_id=case.id, kind=row.kind, channel=case.slack_channel,
                   thread_ts=case.thread_ts, created_at=row.created_at)
        if row.kind is OutboxKind.CARD:
            # The card shows the current state, so one update covers every card row queued so far.
            job.covers_up_to = max(row.id, queue.latest_card_row(session=session, onboarding_id=case.id))
            job.rendered = status_card(case, now=now)
            job.update_ts = case.thread_ts
            job.posts = case.thread_ts is None
        elif row.kind is OutboxKind.REPLY:
            notice = decode_notice(row.notice)
            job.rendered = render_notice(notice, NoticeContext(case=case, approvers=self._approvers))
            job.posts = True
        else:
            resolution = decode_resolution(row.notice)
            job.updates = _resolutions(session=session, case=case, resolution=resolution, approvers=self._approvers,
                                       resolve_row_id=row.id)
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
        return self._post(job, job.rendered)

    def _post(self, job: _Job, rendered: Rendered) -> str:
        """Post in the channel's next free slot, and return the message's ts.

        A 429 means Slack refused the post (nothing was posted): the channel is held for every process until
        Slack's Retry-After has passed, and the retry takes the first slot after that, like any other post.
        Every attempt is paced, so a retry never goes out between other processes' slots and sets off more
        429s (the Web API client's own retry, which this replaces for posts, did).
        """
        attempt = 0
        while True:
            attempt += 1
            self._pacer.wait_for_slot(job.channel, job.row_id)
            try:
                response = self._client.chat_postMessage(
                    channel=job.channel,
                    thread_ts=job.thread_ts if job.kind is OutboxKind.REPLY else None,
                    text=rendered.text,
                    blocks=rendered.block_dicts(),
                    unfurl_links=False,
                    unfurl_media=False,
                    metadata={"event_type": METADATA_EVENT,
                              "event_payload": {"outbox_id": job.row_id, "onboarding_id": job.onboarding_id}},
                )
                return str(response["ts"])
            except SlackApiError as exc:
                wait = retry_after(exc)
                if wait is None or attempt >= MAX_RATE_LIMITED_POSTS:
                    raise
            logger.info("outbox row %s: Slack rate limit on %s; the channel waits %.1fs", job.row_id, job.channel, wait)
            self._on_rate_limit(wait)
            self._pacer.hold(job.channel, job.row_id, wait)

    def _update(self, channel: str, ts: str, rendered: Rendered) -> None:
        self._client.chat_update(channel=channel, ts=ts, text=rendered.text, blocks=rendered.block_dicts())

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
                repo.record_thread(session=session, onboarding_id=job.onboarding_id, thread_ts=ts)
            covers = job.covers_up_to if job.kind is OutboxKind.CARD and not job.posts else None
            queue.finish(session=session, row_id=job.row_id, now=now, ts=ts, card_rows_up_to=covers,
                         onboarding_id=job.onboarding_id)
        self.stats.delivered += 1

    def _handle_slack_error(self, job: _Job, exc: SlackApiError) -> _Outcome:
        error = str(exc.response.get("error") or exc.response.status_code)
        if error in PERMANENT_ERRORS:
            logger.error("outbox row %s for onboarding #%s failed permanently: %s", job.row_id, job.onboarding_id,
                         error)
            with session_scope(self._engine) as session:
                queue.fail(session=session, row_id=job.row_id, error=error)
            self.stats.failed += 1
            return _Outcome.FAILED
        logger.warning("outbox row %s: Slack answered %s; retrying later", job.row_id, error)
        # Slack refused the request outright, so nothing was posted: a plain retry is safe.
        self._reschedule(job, error=error, in_doubt=False)
        return _Outcome.RETRY

    def _reschedule(self, job: _Job, *, error: str, in_doubt: bool) -> None:
        with session_scope(self._engine) as session:
            queue.reschedule(session=session, row_id=job.row_id, now=self._clock(), error=error, in_doubt=in_doubt,
                             max_backoff=MAX_BACKOFF)
        self.stats.retried += 1


class _Outcome(Enum):
    DELIVERED = "delivered"
    FAILED = "failed"  # given up: the case's next row may go
    RETRY = "retry"  # rescheduled: the case waits
    NOT_CLAIMED = "not claimed"


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


def _resolutions(*, session: Session, case: Onboarding, resolution: Resolution, approvers: tuple[str, ...],
                 resolve_row_id: int) -> tuple[tuple[str, Rendered], ...]:
    """The delivered step messages this resolution applies to, re-rendered without their buttons."""
    assert case.id is not None
    step = resolution.step
    # Only the step messages posted since the previous resolution of the same step: an earlier message
    # keeps the record of whoever resolved it then.
    earlier = queue.resolutions_before(session=session, onboarding_id=case.id, row_id=resolve_row_id)
    floor = max((row.id or 0 for row in earlier if decode_resolution(row.notice).step is step), default=0)
    updates = []
    for row in queue.delivered_step_messages(session=session, onboarding_id=case.id, after=floor,
                                             before=resolve_row_id):
        notice = decode_notice(row.notice)
        if step_of(notice) is step and row.slack_ts:
            ctx = NoticeContext(case=case, approvers=approvers, resolution=resolution)
            updates.append((row.slack_ts, render_notice(notice, ctx)))
    return tuple(updates)
