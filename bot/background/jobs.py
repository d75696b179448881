"""Scheduled work: the Messenger poll sweep, reminders and expiry, resuming app creation, Home refresh.

Jobs keep no state of their own: every run re-reads the cases from the database, and every change goes
through the workflow (state, audit event and outbox rows in one transaction).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import workflow
from bot.background.app_creation import create_app, credentials_for
from bot.background.timing import next_poll_at, poll_backoff
from bot.deps import Deps
from bot.slack.home_tab import publish_home
from bot.workflow.notices import PollRecovered, PollTrouble
from bot.workflow.reminders import REMINDED_STATES, DueReminder, ExpireNow, due_reminder
from sinch import SinchError, SinchRateLimited
from store import repo
from store.db import session_scope
from store.models import Onboarding, OutboxKind
from store.secrets import SecretUnreadable
from store.states import POLLED_STATES, OnboardingState

__all__ = ["SweepReport", "home_refresh", "poll_one", "poll_sweep", "reminder_sweep"]

logger = logging.getLogger(__name__)
S = OnboardingState
SWEEP_BATCH = 50_000


@dataclass
class SweepReport:
    polled: int = 0
    changed: int = 0
    failed: int = 0
    apps_resumed: int = 0
    errors: list[str] = field(default_factory=list)


def poll_sweep(deps: Deps) -> SweepReport:
    """Poll every due case with bounded concurrency; one case's failure never stops the others."""
    now = deps.clock()
    report = SweepReport()
    with session_scope(deps.engine) as session:
        due = repo.due_for_poll(session=session, states=POLLED_STATES, now=now, limit=SWEEP_BATCH)
        stalled_apps = repo.due_for_poll(session=session, states=[S.CREATING_APP], now=now, limit=100)
    for case_id in stalled_apps:
        create_app(deps, case_id)  # resumes after a crash or a retryable failure; looks before creating
        report.apps_resumed += 1
    if due:
        with ThreadPoolExecutor(max_workers=deps.settings.timers.poll_concurrency,
                                thread_name_prefix="poll") as pool:
            for outcome in pool.map(lambda case_id: _poll_guarded(deps, case_id), due):
                deps.on_poll(outcome)
                report.polled += 1
                if outcome == "changed":
                    report.changed += 1
                elif outcome == "failed":
                    report.failed += 1
    if report.changed or report.failed:
        deps.outbox.wake()
    return report


def _poll_guarded(deps: Deps, case_id: int) -> str:
    """poll_one, with a bug in one case logged and counted instead of ending the whole sweep's report."""
    try:
        return poll_one(deps, case_id)
    except Exception:
        logger.exception("onboarding #%s: polling failed unexpectedly; it stays due for the next sweep", case_id)
        return "failed"


def poll_one(deps: Deps, case_id: int) -> str:
    """Read one case's Messenger status and apply it. Returns "changed", "same", "failed" or "skipped"."""
    with session_scope(deps.engine) as session:
        case = repo.get_onboarding(session=session, onboarding_id=case_id)
        if case is None or case.state not in POLLED_STATES or not case.app_id:
            return "skipped"
        app_id = case.app_id
        due = case.next_poll_at
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
        reading = deps.sinch.messenger.status(creds, app_id)
    except SinchError as exc:
        retry_after = exc.retry_after if isinstance(exc, SinchRateLimited) else None
        logger.warning("onboarding #%s: polling Sinch failed: %s", case_id, exc)
        _record_poll_failure(deps, case_id, str(exc), retry_after)
        return "failed"

    now = deps.clock()
    with session_scope(deps.engine) as session:
        changed = workflow.apply_channel_status(session=session, onboarding_id=case_id, reading=reading, now=now)
        # apply_channel_status has just loaded and locked the case in this session, so this is the same object
        # from the identity map: no second SELECT, and its changes and ours go out in one UPDATE at commit
        # (another load here would flush them early: two UPDATEs and two version bumps per poll).
        case = repo.get_onboarding(session=session, onboarding_id=case_id)
        assert case is not None
        if case.poll_alerted:
            case.poll_alerted = False
            repo.enqueue(session=session, onboarding=case, kind=OutboxKind.REPLY, now=now,
                         notice=PollRecovered())
        case.poll_failures = 0
        if case.state in POLLED_STATES:
            timers = deps.settings.timers
            # Count from when the poll was due, not from when Sinch answered: sweeps run at a fixed rate, so a
            # due time that slipped by the poll's own few milliseconds would wait for the next sweep every time
            # (a 60 s cadence would become 75 s). A poll that is late by more than a sweep restarts from now.
            base = due if due is not None and now - due < timers.sweep_interval else now
            case.next_poll_at = next_poll_at(invited_at=case.invited_at, now=base, timers=timers)
        session.add(case)
    return "changed" if changed else "same"


def _record_poll_failure(deps: Deps, case_id: int, error: str, retry_after: float | None) -> None:
    """Back the case off; after N failures in a row, tell its thread once."""
    now = deps.clock()
    timers = deps.settings.timers
    with session_scope(deps.engine) as session:
        case = repo.get_onboarding(session=session, onboarding_id=case_id)
        if case is None or case.state not in POLLED_STATES:
            return
        case.poll_failures += 1
        case.next_poll_at = now + poll_backoff(failures=case.poll_failures, retry_after=retry_after, timers=timers)
        if case.poll_failures >= timers.poll_failure_alert_after and not case.poll_alerted:
            case.poll_alerted = True
            repo.enqueue(session=session, onboarding=case, kind=OutboxKind.REPLY, now=now,
                         notice=PollTrouble(error=error[:1000], failures=case.poll_failures))
        session.add(case)


def reminder_sweep(deps: Deps) -> int:
    """Post every reminder that has come due, expire customers who never connected; returns how many acted."""
    now = deps.clock()
    approvers = list(deps.approvers.mentions)
    acted = 0
    with session_scope(deps.engine) as session:
        cases = repo.in_states(session=session, states=REMINDED_STATES)
    for case in cases:
        try:
            acted += _remind_one(deps, case, now=now, approvers=approvers)
        except workflow.OnboardingError as exc:
            logger.info("onboarding #%s moved on while reminding: %s", case.id, exc)
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
    """Re-publish the Home tab of recent viewers, at most once a minute each."""
    refreshed = 0
    for user in deps.home_viewers.due(deps.clock()):
        try:
            publish_home(deps, client, user)
            refreshed += 1
        except SlackApiError as exc:
            logger.warning("cannot refresh the Home tab of %s: %s", user, exc.response.get("error"))
    return refreshed
