"""The fresh-project check's Sinch side, run inside the register-project modal submission (in the request).

Slack gives a modal submission 3 s. The key check, the project's apps in every region and the ASP's subprojects
are independent reads, so they go out in parallel on a small thread pool and the whole lot gets one budget: what
has not answered by then is a timeout (a field error asking to try again), never a half-registered case.
"""

from __future__ import annotations

import dataclasses
import logging
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from bot.deps import Deps
from bot.workflow.freshness import FoundApp
from sinch import (
    ConversationApp,
    Region,
    SinchAuthError,
    SinchCredentials,
    SinchSubprojectsUnavailable,
    Subproject,
)

__all__ = ["CHECK_BUDGET", "ChecksTimedOut", "SinchFacts", "account_credentials", "gather_sinch_facts"]

logger = logging.getLogger(__name__)

CHECK_BUDGET = 2.3  # seconds for every Sinch read of the check together, inside Slack's 3 s


class ChecksTimedOut(Exception):
    """Sinch did not answer every check within the budget."""


@dataclass(frozen=True)
class SinchFacts:
    apps: list[FoundApp]
    subproject_ids: frozenset[str] | None  # None: unavailable (closed beta) or not configured


def account_credentials(deps: Deps) -> SinchCredentials | None:
    """A key of the ASP's own project, when configured (the region is irrelevant to the Subprojects API)."""
    settings = deps.settings
    if not settings.subproject_check_configured:
        return None
    return SinchCredentials(project_id=settings.sinch_account_project_id, key_id=settings.sinch_account_key_id,
                            key_secret=settings.sinch_account_key_secret.reveal(), region=Region.US)


def _subprojects(deps: Deps, account: SinchCredentials) -> list[Subproject] | None:
    try:
        return deps.sinch_interactive.subprojects.list(account)
    except SinchSubprojectsUnavailable as exc:
        logger.info("subproject check unavailable: %s", exc)
        return None
    except SinchAuthError as exc:
        # Our own key is misconfigured: `python -m bot check` says so; it must not block staff's registration.
        logger.warning("subproject check unavailable: SINCH_ACCOUNT_KEY_* refused: %s", exc)
        return None


def gather_sinch_facts(deps: Deps, creds: SinchCredentials, *, budget: float = CHECK_BUDGET) -> SinchFacts:
    """The project's apps in US, EU and BR (which also proves the key) and the ASP's subprojects, in parallel.

    Raises the SinchError of the first failed read (the case's own region first, so a wrong key reads as one),
    or ChecksTimedOut when the budget runs out.
    """
    account = account_credentials(deps)
    regions = [creds.region, *(region for region in Region if region != creds.region)]
    pool = ThreadPoolExecutor(max_workers=len(regions) + 1, thread_name_prefix="project-check")
    try:
        listings: dict[Region, Future[list[ConversationApp]]] = {
            region: pool.submit(deps.sinch_interactive.apps.list, dataclasses.replace(creds, region=region))
            for region in regions
        }
        subprojects = pool.submit(_subprojects, deps, account) if account is not None else None
        waiting: list[Future[Any]] = [*listings.values()]
        if subprojects is not None:
            waiting.append(subprojects)
        _, pending = wait(waiting, timeout=budget)
        if pending:
            raise ChecksTimedOut()
        apps = [FoundApp(region=region, app_id=app.id, display_name=app.display_name)
                for region in regions for app in listings[region].result()]
        found = subprojects.result() if subprojects is not None else None
    finally:
        # Never wait for a straggler: its answer is no longer wanted, and it only reads.
        pool.shutdown(wait=False, cancel_futures=True)
    return SinchFacts(apps=apps, subproject_ids=None if found is None else frozenset(s.id for s in found))
