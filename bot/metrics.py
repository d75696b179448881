"""Prometheus metrics for one running bot: counters fed by the code that acts, gauges read from the database.

Every metric lives in the runtime's own CollectorRegistry (never the library's global one), so two
runtimes in one process (tests, the demo) never share or collide. Names are documented in
docs/operations.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.background.outbox import DeliveryStats
from bot.stage_metrics import StageDurationCollector
from store.db import session_scope
from store.stats import operational_figures

__all__ = ["CONTENT_TYPE", "Metrics"]

logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SINCH_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)
# Slack gives an ack 3 s; the buckets resolve the range an operator acts on (well under 1 s, near 3 s).
ACK_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("messenger-onboarding-bot")
    except PackageNotFoundError:
        return "unknown"


class Metrics:
    """The bot's metrics; `render()` is the body of GET /metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.slack_rate_limited = Counter("onboarding_slack_rate_limited", "Slack 429 answers waited out",
                                          registry=self.registry)
        self.sinch_calls = Counter("onboarding_sinch_calls", "Sinch API calls by outcome", ["outcome"],
                                   registry=self.registry)
        self.sinch_latency = Histogram("onboarding_sinch_call_seconds", "Sinch API call duration",
                                       buckets=SINCH_LATENCY_BUCKETS, registry=self.registry)
        self.polls = Counter("onboarding_polls", "Messenger status polls by outcome", ["outcome"],
                             registry=self.registry)
        self.socket_mode_reconnects = Counter("onboarding_socket_mode_reconnects",
                                              "Socket Mode connections opened after the first", registry=self.registry)
        self._add_on_call_metrics()

    def _add_on_call_metrics(self) -> None:
        """What on-call asks first: requests by kind and outcome, ack latency, errors, the process, the version."""
        self.slack_requests = Counter("onboarding_slack_requests", "Slack requests by kind and outcome",
                                      ["kind", "outcome"], registry=self.registry)
        self.ack_latency = Histogram("onboarding_slack_ack_seconds", "Time Slack waited for each ack, by kind",
                                     ["kind"], buckets=ACK_LATENCY_BUCKETS, registry=self.registry)
        self.listener_errors = Counter("onboarding_listener_errors",
                                       "Unexpected errors in listeners and in work started after an ack",
                                       registry=self.registry)
        ProcessCollector(registry=self.registry)  # process_cpu_seconds_total, process_resident_memory_bytes, …
        build_info = Gauge("onboarding_build_info", "Always 1; the version label says which version runs",
                           ["version"], registry=self.registry)
        build_info.labels(_version()).set(1)

    def observe_request(self, kind: str, outcome: str, seconds: float) -> None:
        """Hook for the request middleware (bot/slack/request_metrics.py): one answered Slack request."""
        self.slack_requests.labels(kind, outcome).inc()
        self.ack_latency.labels(kind).observe(seconds)
        if outcome == "error":
            self.listener_errors.inc()

    def socket_mode_connected(self, count: int) -> None:
        """Hook for the Socket Mode connector: its `count`-th connection is open."""
        if count > 1:
            self.socket_mode_reconnects.inc()

    def observe_sinch(self, method: str, path: str, status: int | None, seconds: float) -> None:
        """Hook for the Sinch client: one finished HTTP call."""
        self.sinch_calls.labels(sinch_outcome(status)).inc()
        self.sinch_latency.observe(seconds)

    def watch(self, *, engine: Engine, clock: Callable[[], datetime], removal_due_after: timedelta,
              delivery: DeliveryStats) -> None:
        """Add the collectors that read the database and the outbox's counters at scrape time."""
        self.registry.register(_DatabaseCollector(engine, clock, removal_due_after))
        self.registry.register(_DeliveryCollector(delivery))
        self.registry.register(StageDurationCollector(engine, clock))

    def watch_readiness(self, ready: Callable[[], bool]) -> None:
        """`onboarding_ready`: 1 when /readyz would answer 200 at scrape time (for the alert on a replica not ready)."""
        self.registry.register(_ReadyCollector(ready))

    def render(self) -> bytes:
        return generate_latest(self.registry)


def sinch_outcome(status: int | None) -> str:
    if status is None:
        return "transport_error"
    if status == 429:
        return "rate_limited"
    if status < 400:
        return "ok"
    return "client_error" if status < 500 else "server_error"


class _ReadyCollector(Collector):
    def __init__(self, ready: Callable[[], bool]) -> None:
        self._ready = ready

    def describe(self) -> Iterable[Metric]:
        return []  # computed per scrape

    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily("onboarding_ready", "1 when /readyz would answer 200", value=1 if self._ready() else 0)


class _DeliveryCollector(Collector):
    def __init__(self, delivery: DeliveryStats) -> None:
        self._delivery = delivery

    def collect(self) -> Iterable[Metric]:
        posts = CounterMetricFamily("onboarding_slack_posts", "Outbox messages by delivery outcome",
                                    labels=["outcome"])
        posts.add_metric(["delivered"], self._delivery.delivered)
        posts.add_metric(["failed"], self._delivery.failed)
        yield posts
        yield CounterMetricFamily("onboarding_slack_retries", "Outbox deliveries scheduled for another attempt",
                                  value=self._delivery.retried)

    def describe(self) -> Iterable[Metric]:
        return []


class _DatabaseCollector(Collector):
    """Gauges computed from the database at scrape time (store.stats), so every replica reports the truth."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime], removal_due_after: timedelta) -> None:
        self._engine = engine
        self._clock = clock
        self._removal_due_after = removal_due_after

    def describe(self) -> Iterable[Metric]:
        return []  # computed per scrape; registering must not query the database

    def collect(self) -> Iterable[Metric]:
        now = self._clock()
        try:
            with session_scope(self._engine) as session:
                figures = operational_figures(session=session, now=now, removal_due_after=self._removal_due_after)
        except SQLAlchemyError as exc:
            logger.warning("metrics: the database cannot be read (%s)", type(exc).__name__)
            yield GaugeMetricFamily("onboarding_database_up", "1 when the database answered the last scrape",
                                    value=0)
            return
        yield GaugeMetricFamily("onboarding_database_up", "1 when the database answered the last scrape", value=1)
        by_state = GaugeMetricFamily("onboarding_onboardings", "Onboardings by state", labels=["state"])
        for state, count in figures.onboardings_by_state.items():
            by_state.add_metric([state.value], count)
        yield by_state
        by_channels = GaugeMetricFamily("onboarding_open_by_channels", "Open onboardings by requested channels",
                                        labels=["channels"])
        for channels, count in (figures.open_by_channels or {}).items():
            by_channels.add_metric([channels], count)
        yield by_channels
        yield GaugeMetricFamily("onboarding_customers_holding_access",
                                "Customers invited to the Sinch project whose access is not yet removed",
                                value=figures.customers_holding_access)
        yield GaugeMetricFamily("onboarding_oldest_access_seconds",
                                "Seconds since the longest-standing customer access was granted (0: none)",
                                value=_age(now, figures.oldest_access_since))
        yield GaugeMetricFamily("onboarding_overdue_removals",
                                "Access removals requested longer ago than REVOKE_ESCALATE_AFTER",
                                value=figures.overdue_removals)
        yield GaugeMetricFamily("onboarding_outbox_depth", "Slack messages waiting in the outbox",
                                value=figures.outbox_depth)
        yield GaugeMetricFamily("onboarding_outbox_oldest_seconds",
                                "Age of the oldest undelivered Slack message (0: none waiting)",
                                value=_age(now, figures.outbox_oldest))


def _age(now: datetime, since: datetime | None) -> float:
    return 0.0 if since is None else max(0.0, (now - since).total_seconds())
