"""The APScheduler wiring: every job registered here, with stable ids, one instance at a time."""

from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from slack_sdk import WebClient

from bot.background import jobs
from bot.deps import Deps

__all__ = ["build_scheduler"]

logger = logging.getLogger(__name__)
HOME_REFRESH_EVERY = timedelta(minutes=1)


def build_scheduler(deps: Deps, *, client: WebClient) -> BackgroundScheduler:
    """A scheduler (not started) running the sweeps. Dependencies go in through `kwargs`, never globals."""
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"max_instances": 1, "coalesce": True,
                                                                  "misfire_grace_time": 60})
    sweep = deps.settings.timers.sweep_interval.total_seconds()
    scheduler.add_job(jobs.poll_sweep, "interval", seconds=sweep, id="poll-sweep", kwargs={"deps": deps},
                      replace_existing=True)
    scheduler.add_job(jobs.reminder_sweep, "interval", seconds=sweep, id="reminders", kwargs={"deps": deps},
                      replace_existing=True)
    scheduler.add_job(jobs.home_refresh, "interval", seconds=HOME_REFRESH_EVERY.total_seconds(),
                      id="home-refresh", kwargs={"deps": deps, "client": client}, replace_existing=True)
    scheduler.add_job(jobs.access_review_sweep, "interval", seconds=sweep, id="access-review",
                      kwargs={"deps": deps, "client": client}, replace_existing=True)
    return scheduler
