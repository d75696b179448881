"""The one runbook step Sinch has an API for: creating the Conversation API app, idempotently."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlmodel import Session

from bot import workflow
from bot.deps import Deps
from bot.log_context import about_case
from sinch import (
    ConversationApp,
    Region,
    SinchCredentials,
    SinchError,
    SinchNotFound,
    SinchRateLimited,
    SinchServerError,
    SinchTransportError,
)
from store import leases, repo
from store.db import session_scope
from store.models import Onboarding
from store.secrets import SecretUnreadable
from store.states import OnboardingState

__all__ = ["MAX_QUIET_ATTEMPTS", "create_app", "credentials_for"]

logger = logging.getLogger(__name__)

MAX_QUIET_ATTEMPTS = 3  # retryable failures retried by the scheduler before staff are asked to press Retry


def credentials_for(
    deps: Deps, *, project_id: str, key_id: str, sealed_secret: str, region: Region
) -> SinchCredentials:
    return SinchCredentials(project_id=project_id, key_id=key_id, key_secret=deps.secrets.open(sealed_secret),
                            region=region)


def _retry_delay(exc: SinchError, attempts: int, first: timedelta) -> timedelta | None:
    """How long until the next quiet attempt, or None when staff must look (permanent error)."""
    if attempts + 1 >= MAX_QUIET_ATTEMPTS:
        return None
    if isinstance(exc, SinchRateLimited) and exc.retry_after:
        return timedelta(seconds=exc.retry_after)
    if isinstance(exc, SinchServerError | SinchTransportError | SinchRateLimited):
        return first * (1 << attempts)
    return None


def _app_of_base(*, session: Session, case: Onboarding) -> str | None:
    """A further channel for a completed customer goes into that customer's app: its id, if it has one."""
    if case.existing_of is None:
        return None
    base = repo.get_onboarding(session=session, onboarding_id=case.existing_of)
    if base is None or not base.app_id or not workflow.adds_channel(base, case.requested_channels):
        return None
    return base.app_id


def _still_there(deps: Deps, creds: SinchCredentials, app_id: str) -> ConversationApp | None:
    """The app, read from the Conversation API; None when it was deleted meanwhile (then a new one is made)."""
    try:
        return deps.sinch.apps.get(creds, app_id)
    except SinchNotFound:
        logger.info("the app %s of the earlier onboarding is gone; creating a new one", app_id)
        return None


def create_app(deps: Deps, onboarding_id: int) -> bool:
    """Find or create the case's app and record it; a failure is recorded, never raised.

    The case is claimed in the database first (its work lease), so a second click, the scheduler or
    another process does nothing while one attempt is talking to Sinch; if that process dies, the lease
    ends after LEASE_TTL and the next sweep of any process resumes the creation (looking before creating).
    Returns whether this call did the work.
    """
    with session_scope(deps.engine) as session:
        claimed = leases.claim_app_creation(session=session, onboarding_id=onboarding_id, now=deps.clock(),
                                            owner=deps.worker_id, lease_ttl=deps.settings.lease_ttl)
    if not claimed.ids:
        return False
    for case_id, previous in claimed.taken_over:
        logger.info("onboarding #%s: took over the app creation from %s (its lease ended)", case_id, previous)
    try:
        with about_case(onboarding_id):  # Sinch's log lines about this creation carry the case's id
            _create_app(deps, onboarding_id)
    finally:
        with session_scope(deps.engine) as session:
            leases.release_work(session=session, onboarding_id=onboarding_id, owner=deps.worker_id)
        deps.outbox.wake()
    return True


def _create_app(deps: Deps, onboarding_id: int) -> None:
    with session_scope(deps.engine) as session:
        case = workflow.load(session=session, onboarding_id=onboarding_id)
        if case.state != OnboardingState.CREATING_APP:
            return
        app_name = case.app_name or workflow.app_display_name(case.customer_name, case.requested_channels)
        attempts = case.app_attempts
        same_app = _app_of_base(session=session, case=case)
        if not (case.project_id and case.key_id and case.key_secret_sealed):
            # Cannot happen through the workflow (registering stores all three); say so rather than crash.
            workflow.record_app_failure(session=session, onboarding_id=onboarding_id, now=deps.clock(),
                                        error="No access key is stored. Register the project again.", retry_in=None)
            return
        try:
            creds = credentials_for(deps, project_id=case.project_id, key_id=case.key_id,
                                    sealed_secret=case.key_secret_sealed, region=case.region)
        except SecretUnreadable as exc:
            workflow.record_app_failure(session=session, onboarding_id=onboarding_id, now=deps.clock(),
                                        error=f"{exc}. Register the project again with a new key.", retry_in=None)
            return

    app: ConversationApp | None
    try:
        # Look first: a crash after Sinch created the app but before we stored its id must not make a second one.
        app = _still_there(deps, creds, same_app) if same_app else None
        app = app or deps.sinch.apps.find_by_name(creds, app_name)
        reused = app is not None
        if app is None:
            app = deps.sinch.apps.create(creds, display_name=app_name)
    except SinchError as exc:
        logger.warning("onboarding #%s: creating the app failed: %s", onboarding_id, exc)
        retry_in = _retry_delay(exc, attempts, deps.settings.timers.app_retry_interval)
        with session_scope(deps.engine) as session:
            workflow.record_app_failure(session=session, onboarding_id=onboarding_id, now=deps.clock(),
                                        error=str(exc), retry_in=retry_in)
        return
    with session_scope(deps.engine) as session:
        workflow.record_app_created(session=session, onboarding_id=onboarding_id, app_id=app.id,
                                    app_name=app.display_name, reused=reused, now=deps.clock())
    logger.info("onboarding #%s: app %s %s", onboarding_id, app.id, "found" if reused else "created")
