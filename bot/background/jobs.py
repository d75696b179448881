"""Scheduled work: the Messenger poll sweep, reminders and expiry, resuming app creation, Home refresh.

Jobs keep no state of their own: every run re-reads the cases from the database, and every change goes
through the workflow (state, audit event and outbox rows in one transaction).
"""

from __future__ import annotations

import functools
import logging
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot import workflow
from bot.background.app_creation import create_app, credentials_for
from bot.background.reminder_due import may_be_due
from bot.background.reviews import review_sweep
from bot.background.timing import next_poll_at, poll_backoff
from bot.deps import Deps
from bot.log_context import about_case
from bot.slack.home_tab import publish_home
from bot.workflow.channels import apply_channel_readings, poll_due, set_poll_due
from bot.workflow.notices import PollRecovered, PollTrouble
from bot.workflow.reminders import REMINDED_STATES, DueReminder, ExpireNow, due_reminder
from sinch import ChannelReadings, MessengerStatus, SinchError, SinchRateLimited
from store import leases, repo
from store.db import session_scope
from store.models import Channel, Onboarding, OutboxKind
from store.secrets import SecretUnreadable
from store.states import POLLED_STATES, OnboardingState

__all__ = ["SweepReport", "home_refresh", "poll_one", "poll_sweep", "reminder_sweep"]

logger = logging.getLogger(__name__)
S = OnboardingState
SWEEP_BATCH = 50_000
REMINDER_CHUNK = 1_000
POLL_CHUNK_PER_WORKER = 2  # cases claimed per poll worker at a time: the rest stay free for other processes
LOCK_WAIT = timedelta(seconds=1)  # how long a claim waits for a case that another transaction holds locked
CLAIM_ROUNDS = 4  # a claim and up to three more after waiting for such locks


@dataclass
class SweepReport:
    polled: int = 0
    changed: int = 0
    failed: int = 0
    apps_resumed: int = 0
    errors: list[str] = field(default_factory=list)


def poll_sweep(deps: Deps) -> SweepReport:
    """Resume due app creations, then poll every due case with bounded concurrency.

    Cases are claimed in chunks (their work lease), so several processes share one sweep and none polls
    a case another is polling; one case's failure never stops the others.
    """
    now = deps.clock()
    report = SweepReport()
    with session_scope(deps.engine) as session:
        stalled_apps = leases.due_app_creations(session=session, now=now, limit=100)
    for case_id in stalled_apps:
        # Resumes after a crash or a retryable failure (looking before creating); claims the case first.
        if create_app(deps, case_id):
            report.apps_resumed += 1
    concurrency = deps.settings.timers.poll_concurrency
    chunk = concurrency * POLL_CHUNK_PER_WORKER
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="poll") as pool:
        running: set[Future[str]] = set()
        more = True
        while more or running:
            # Claim the next chunk while the pool still has a chunk's worth to do, so the workers never wait
            # for a claim, and no more cases are held than this process will soon poll.
            if more and len(running) < chunk and report.polled + len(running) < SWEEP_BATCH:
                claimed = _claim(deps, functools.partial(
                    leases.claim_due_polls, states=POLLED_STATES, now=now, owner=deps.worker_id,
                    lease_ttl=deps.settings.lease_ttl), limit=chunk)
                for case_id, previous in claimed.taken_over:
                    logger.info("onboarding #%s: took over its poll from %s (its lease ended)", case_id, previous)
                running |= {pool.submit(_poll_claimed, deps, case) for case in claimed.cases}
                more = len(claimed.ids) == chunk
                continue
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                report.polled += 1
                outcome = future.result()
                deps.on_poll(outcome)
                if outcome == "changed":
                    report.changed += 1
                elif outcome == "failed":
                    report.failed += 1
    if report.changed or report.failed or report.apps_resumed:
        deps.outbox.wake()
    return report


class _Claim(Protocol):
    """A claim in `store/leases.py` with everything but its session and limit bound."""

    def __call__(self, *, session: Session, limit: int) -> leases.Claimed: ...


def _claim(deps: Deps, claim: _Claim, *, limit: int) -> leases.Claimed:
    """Run `claim(session=, limit=)` for up to `limit` cases. The cases it passed over only because another
    transaction held them locked at that instant (a reminder claim or release, a click: milliseconds each) are
    waited for and claimed again, a few times at most: passed over, they would wait for the next sweep, and as
    sweeps fire together, every sweep (store/leases.py)."""
    with session_scope(deps.engine) as session:
        claimed = claim(session=session, limit=limit)
    ids, taken_over, cases = list(claimed.ids), list(claimed.taken_over), list(claimed.cases)
    for _ in range(CLAIM_ROUNDS - 1):
        if not claimed.busy:
            break
        with session_scope(deps.engine) as session:
            leases.wait_for_row_locks(session=session, onboarding_ids=claimed.busy, timeout=LOCK_WAIT)
        with session_scope(deps.engine) as session:
            claimed = claim(session=session, limit=limit - len(ids))
        ids += claimed.ids
        taken_over += claimed.taken_over
        cases += claimed.cases
    return leases.Claimed(ids=ids, taken_over=taken_over, cases=cases)


def _poll_claimed(deps: Deps, case: Onboarding) -> str:
    """poll_one on a case this process claimed (it releases the case in its last transaction); a bug in one
    case is logged and counted.

    After an unexpected error (a deadlock, a lost connection) the case stays due: its lease ends at the
    moment of the failure, which is after this sweep's `now`, so this sweep does not claim it again at once
    and the next one does. Holding the whole lease instead would stop its polls for LEASE_TTL.
    """
    assert case.id is not None
    case_id = case.id
    try:
        with about_case(case_id):
            return poll_one(deps, case_id, claimed=case)
    except Exception:
        logger.exception("onboarding #%s: polling failed unexpectedly; the next sweep tries again", case_id)
    try:
        with session_scope(deps.engine) as session:
            leases.release_work(session=session, onboarding_id=case_id, owner=deps.worker_id,
                                free_from=deps.clock())
    except Exception:  # the lease then runs out by itself
        logger.exception("onboarding #%s: could not release its poll lease", case_id)
    return "failed"


def poll_one(deps: Deps, case_id: int, *, claimed: Onboarding | None = None) -> str:
    """Read one case's Messenger status and apply it. Returns "changed", "same", "failed" or "skipped".

    `claimed` is the case's row as this process's claim read it (store.leases.Claimed.cases), which saves
    reading it again; without it the case is read here. The transaction that records the outcome also gives
    up this process's work lease on the case (if it holds one), in the same UPDATE.
    """
    if claimed is None:
        with session_scope(deps.engine) as session:
            claimed = repo.get_onboarding(session=session, onboarding_id=case_id)
            if claimed is None or claimed.state not in POLLED_STATES or not claimed.app_id:
                leases.release_work(session=session, onboarding_id=case_id, owner=deps.worker_id)
                return "skipped"
    return _poll_read(deps, claimed)


def _poll_read(deps: Deps, case: Onboarding) -> str:
    """poll_one with the case's row in hand (detached): Sinch's answer is applied in one transaction."""
    assert case.id is not None
    case_id = case.id
    if case.state not in POLLED_STATES or not case.app_id:
        with session_scope(deps.engine) as session:
            leases.release_work(session=session, onboarding_id=case_id, owner=deps.worker_id)
        return "skipped"
    app_id = case.app_id
    due = poll_due(case)
    channels = case.requested_channels
    if not (case.project_id and case.key_id and case.key_secret_sealed):
        _record_poll_failure(deps, case_id, "no access key is stored for this onboarding", None)
        return "failed"
    try:
        creds = credentials_for(deps, project_id=case.project_id, key_id=case.key_id,
                                sealed_secret=case.key_secret_sealed, region=case.region)
    except SecretUnreadable as exc:
        _record_poll_failure(deps, case_id, f"the stored access key cannot be used ({exc})", None)
        return "failed"
    try:
        if channels == (Channel.MESSENGER,):
            reading: MessengerStatus | ChannelReadings = deps.sinch.messenger.status(creds, app_id)
        else:  # every requested channel in one poll (one GET of the app, or one Provisioning GET per channel)
            reading = deps.sinch.instagram.channels(creds, app_id, messenger=Channel.MESSENGER in channels,
                                                    instagram=Channel.INSTAGRAM in channels)
    except SinchError as exc:
        retry_after = exc.retry_after if isinstance(exc, SinchRateLimited) else None
        logger.warning("onboarding #%s: polling Sinch failed: %s", case_id, exc)
        _record_poll_failure(deps, case_id, str(exc), retry_after)
        return "failed"

    now = deps.clock()
    if (isinstance(reading, MessengerStatus) and not case.poll_alerted
            and workflow.poll_changes_nothing(case, reading)):
        # Nothing to apply: one UPDATE records the poll, unless the case was written since the claim.
        with session_scope(deps.engine) as session:
            recorded = leases.finish_quiet_poll(session=session, case=case, checked_at=now,
                                                next_poll_at=_next_due(deps, due, now, invited_at=case.invited_at),
                                                owner=deps.worker_id)
        if recorded:
            return "same"
    with session_scope(deps.engine) as session:
        if isinstance(reading, ChannelReadings):
            changed = apply_channel_readings(session=session, onboarding_id=case_id, readings=reading, now=now)
        else:
            changed = workflow.apply_channel_status(session=session, onboarding_id=case_id, reading=reading, now=now)
        # apply_channel_status has just loaded and locked the case in this session, so this is the same object
        # from the identity map: no second SELECT, and its changes and ours go out in one UPDATE at commit
        # (another load here would flush them early: two UPDATEs and two version bumps per poll).
        current = repo.get_onboarding(session=session, onboarding_id=case_id)
        assert current is not None
        case = current
        if case.poll_alerted:
            case.poll_alerted = False
            repo.enqueue(session=session, onboarding=case, kind=OutboxKind.REPLY, now=now,
                         notice=PollRecovered())
        case.poll_failures = 0
        if case.state in POLLED_STATES:
            set_poll_due(case, _next_due(deps, due, now, invited_at=case.invited_at))
        session.add(case)
        if not leases.release_work_with(case, owner=deps.worker_id):
            leases.release_work(session=session, onboarding_id=case_id, owner=deps.worker_id)
    return "changed" if changed else "same"


def _next_due(deps: Deps, due: datetime | None, now: datetime, *, invited_at: datetime | None) -> datetime:
    """When a case polled at `now` (its poll was due at `due`) is due next.

    Counted from when the poll was due, not from when Sinch answered: sweeps run at a fixed rate, so a due time
    that slipped by the poll's own few milliseconds would wait for the next sweep every time (a 60 s cadence
    would become 75 s). A poll that is late by more than a sweep restarts from now."""
    timers = deps.settings.timers
    base = due if due is not None and now - due < timers.sweep_interval else now
    return next_poll_at(invited_at=invited_at, now=base, timers=timers)


def _record_poll_failure(deps: Deps, case_id: int, error: str, retry_after: float | None) -> None:
    """Back the case off; after N failures in a row, tell its thread once."""
    now = deps.clock()
    timers = deps.settings.timers
    with session_scope(deps.engine) as session:
        leases.release_work(session=session, onboarding_id=case_id, owner=deps.worker_id)
        case = repo.get_onboarding(session=session, onboarding_id=case_id)
        if case is None or case.state not in POLLED_STATES:
            return
        case.poll_failures += 1
        set_poll_due(case, now + poll_backoff(failures=case.poll_failures, retry_after=retry_after, timers=timers))
        if case.poll_failures >= timers.poll_failure_alert_after and not case.poll_alerted:
            case.poll_alerted = True
            repo.enqueue(session=session, onboarding=case, kind=OutboxKind.REPLY, now=now,
                         notice=PollTrouble(error=error[:1000], failures=case.poll_failures))
        session.add(case)


def reminder_sweep(deps: Deps) -> int:
    """Post every reminder that has come due, expire customers who never connected; returns how many acted.

    The open cases that may owe something (`may_be_due`) are claimed first (their reminder lease): while one
    process decides a case's reminders, another process's sweep skips it. A sweep with nothing due is one
    indexed query that finds nothing.
    """
    now = deps.clock()
    due = may_be_due(now, deps.settings.timers)  # only cases that may owe something are claimed (and written)
    approvers = list(deps.approvers.mentions)
    acted = 0
    held: list[int] = []
    try:
        while True:  # in chunks (bounded IN lists); claims are held to the end, so each case is seen once
            claimed = _claim(deps, functools.partial(
                leases.claim_for_reminders, states=REMINDED_STATES, now=now, owner=deps.worker_id,
                lease_ttl=deps.settings.lease_ttl, due=due), limit=REMINDER_CHUNK)
            held += claimed.ids
            for case in claimed.cases:  # as the claim read them, locked: no second read
                try:
                    acted += _remind_one(deps, case, now=now, approvers=approvers)
                except workflow.OnboardingError as exc:
                    logger.info("onboarding #%s moved on while reminding: %s", case.id, exc)
            if len(claimed.ids) < REMINDER_CHUNK:
                break
    finally:
        for start in range(0, len(held), REMINDER_CHUNK):
            with session_scope(deps.engine) as session:
                leases.release_reminders(session=session, onboarding_ids=held[start:start + REMINDER_CHUNK],
                                         owner=deps.worker_id)
    if acted:
        deps.outbox.wake()
    return acted


def _remind_one(deps: Deps, case: Onboarding, *, now: datetime, approvers: list[str]) -> int:
    """Apply `due_reminder` to one case (as read by the sweep); returns 1 if it acted."""
    due = due_reminder(case, now, deps.settings.timers)
    if due is None or case.id is None:
        return 0
    with session_scope(deps.engine) as session:
        if isinstance(due, ExpireNow):
            workflow.expire(session=session, onboarding_id=case.id, now=now)
            return 1
        current = workflow.load(session=session, onboarding_id=case.id)
        if current.state != case.state or current.version != case.version:
            return 0  # the case changed since we read it; the next sweep decides again
        workflow.remind(session=session, onboarding_id=case.id, due=due, now=now,
                        mention=_audience(due, requester=case.requester_id, approvers=approvers))
    return 1


def _audience(due: DueReminder, *, requester: str, approvers: list[str]) -> list[str]:
    return ([requester] if due.to_requester else []) + (approvers if due.to_approvers else [])


def home_refresh(deps: Deps, client: WebClient) -> int:
    """Re-publish the Home tab of recent viewers, at most once a minute each (claimed: one process each)."""
    refreshed = 0
    with session_scope(deps.engine) as session:
        leases.forget_events_before(session=session, before=deps.clock() - timedelta(days=1))
    for user in deps.home_viewers.claim_due(deps.clock()):
        try:
            publish_home(deps, client, user, opened=False)
            refreshed += 1
        except SlackApiError as exc:
            logger.warning("cannot refresh the Home tab of %s: %s", user, exc.response.get("error"))
    return refreshed


def access_review_sweep(deps: Deps, client: WebClient) -> int:
    """The weekly access review: opened once per scheduled instant across processes, chased, delivered."""
    return review_sweep(engine=deps.engine, client=client, schedule=deps.settings.access_review,
                        channel=deps.settings.onboarding_channel, approvers=deps.approvers.mentions,
                        now=deps.clock(), owner=deps.worker_id, lease_ttl=deps.settings.lease_ttl)
