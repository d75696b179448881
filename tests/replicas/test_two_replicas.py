"""Two `python -m bot run` processes on one database, as a rolling deploy or an autoscaler leaves them, with
Slack's requests spread round-robin over both and Sinch slow to answer: six onboardings, each post once,
one status card and one app per case, every poll by one process at a time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.common import collector_paused
from tests.replicas.cluster import Cluster, running_cluster
from tests.replicas.stories import (
    Timers,
    check_audit_trails,
    check_channel_pace,
    check_nothing_lost_or_doubled,
    onboard_all,
    wait_for_outbox,
)

# One worker runs both pace-checking cluster tests, one after the other (see tests/conftest.py).
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("paced_clusters")]

TIMERS = Timers(post_interval=0.2, expire_after=3600, revoke_reminder=3600)
ENV = {"SWEEP_INTERVAL": "1s", "POLL_FAST_INTERVAL": "1s", "APP_RETRY_INTERVAL": "1s", **TIMERS.env()}
KINDS = ["plain", "plain", "app_503", "app_503", "failing_then_active", "failing_then_active"]
SLOW_STATUS_READ = 1500  # ms: longer than a sweep interval, so a second process would poll the same case


@pytest.fixture
def cluster(tmp_path: Path, database_url: str) -> Iterator[Cluster]:
    # This process stamps each post's arrival at the fake Slack: a full garbage collection here (this worker's
    # heap, 100-300 ms with the GIL held) would stamp one late and make the next look early (bench.common).
    with running_cluster(tmp_path, database_url, replicas=2, env=ENV) as running, collector_paused():
        yield running


def test_two_processes_share_six_onboardings_and_do_everything_once(cluster: Cluster) -> None:
    started = time.monotonic()
    cluster.sandbox.add_fault(r"/apps/[^/]+$", method="GET", latency_ms=SLOW_STATUS_READ, count=-1)
    kinds = onboard_all(cluster, KINDS, TIMERS)
    wait_for_outbox(cluster)
    check_nothing_lost_or_doubled(cluster, kinds, label="two replicas", started=started)
    check_audit_trails(cluster, kinds, TIMERS)
    check_channel_pace(cluster, post_interval=TIMERS.post_interval, arrival_jitter=0.15, label="two replicas")
    assert all(replica.alive for replica in cluster.replicas)
    assert cluster.count_in_logs(r"took over") == 0, "no lease ran out: nothing was taken over"
