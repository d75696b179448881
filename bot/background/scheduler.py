"""The APScheduler wiring: every job registered here, with stable ids, one instance at a time."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from slack_sdk import WebClient

from bot.background import jobs
from bot.background.repeated_failure import RepeatedFailure
from bot.deps import Deps
from store.write_lock import background_writes

__all__ = ["build_scheduler"]

logger = logging.getLogger(__name__)
HOME_REFRESH_EVERY = timedelta(minutes=1)


def build_scheduler(deps: Deps, *, client: WebClient) -> BackgroundScheduler:
    """A scheduler (not started) running the sweeps. Dependencies go in through `kwargs`, never globals."""
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"max_instances": 1, "coalesce": True,
                                                                  "misfire_grace_time": 60})
    sweep = deps.settings.timers.sweep_interval.total_seconds()
    scheduler.add_job(_logged(jobs.poll_sweep, "the poll sweep"), "interval", seconds=sweep, id="poll-sweep",
                      kwargs={"deps": deps}, replace_existing=True)
    scheduler.add_job(_logged(jobs.reminder_sweep, "the reminder sweep"), "interval", seconds=sweep, id="reminders",
                      kwargs={"deps": deps}, replace_existing=True)
    scheduler.add_job(_logged(jobs.home_refresh, "the App Home refresh"), "interval",
                      seconds=HOME_REFRESH_EVERY.total_seconds(), id="home-refresh",
                      kwargs={"deps": deps, "client": client}, replace_existing=True)
    scheduler.add_job(_logged(jobs.access_review_sweep, "the access review sweep"), "interval", seconds=sweep,
                      id="access-review", kwargs={"deps": deps, "client": client}, replace_existing=True)
    return scheduler


def _logged(job: Callable[..., object], what: str) -> Callable[..., None]:
    """`job` with its failures logged as RepeatedFailure does (a traceback once per run of failures, then a line
    each) instead of APScheduler's full traceback every time; the next run tries again either way. Its
    transactions give way to requests' for SQLite's write lock (background_writes)."""
    failures = RepeatedFailure(logger, what)

    def run(**kwargs: Any) -> None:
        try:
            with background_writes():
                job(**kwargs)
        except Exception as exc:  # noqa: BLE001 - any failure of a sweep is logged and retried by the next run
            failures.failed(exc)
        else:
            failures.succeeded()

    run.__name__ = getattr(job, "__name__", what)
    return run
