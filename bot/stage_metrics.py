"""`/metrics`: a histogram of onboarding stage durations by stage and channel, read from the audit trail at
scrape time (so every replica reports the same figures)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.workflow.stage_report import STAGES, stage_durations
from store import reports
from store.db import session_scope

__all__ = ["BUCKETS", "StageDurationCollector"]

logger = logging.getLogger(__name__)
WINDOW = timedelta(days=30)  # stages that ended in the last 30 days, like the App Home's report
BUCKETS = (60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 12 * 3600.0, 86400.0, 3 * 86400.0, 7 * 86400.0,
           14 * 86400.0, 30 * 86400.0)


class StageDurationCollector(Collector):
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self._clock = clock

    def describe(self) -> Iterable[Metric]:
        return []  # computed per scrape; registering must not query the database

    def collect(self) -> Iterable[Metric]:
        now = self._clock()
        try:
            with session_scope(self._engine) as session:
                events, cases = reports.trails_since(session=session, since=now - WINDOW)
        except SQLAlchemyError as exc:
            logger.warning("metrics: stage durations cannot be read (%s)", type(exc).__name__)
            return
        durations = [d for d in stage_durations(events, {c.id: c for c in cases if c.id is not None})
                     if d.ended_at >= now - WINDOW]
        family = HistogramMetricFamily("onboarding_stage_duration_seconds",
                                       "Time each onboarding stage took (stages ended in the last 30 days)",
                                       labels=["stage", "channel"])
        for stage in STAGES:
            for channel in sorted({d.channel for d in durations if d.stage == stage.key}):
                seconds = [d.took.total_seconds() for d in durations if d.stage == stage.key and d.channel == channel]
                buckets = [(str(bound), float(sum(1 for s in seconds if s <= bound))) for bound in BUCKETS]
                buckets.append(("+Inf", float(len(seconds))))
                family.add_metric([stage.key, channel or "all"], buckets, sum_value=sum(seconds))
        yield family
