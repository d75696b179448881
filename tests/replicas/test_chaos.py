"""Chaos: three real `python -m bot run` processes on one database while one of them is SIGKILLed and
restarted every few seconds; ten onboardings of every kind driven to their end through Slack requests spread
round-robin over the three. Afterwards, exactly: no post twice, none missing, one card and one app per case,
each reminder once, every audit trail complete and in order, the channel's pace kept across processes.

The kinds of onboarding and the checks are in stories.py.
"""

from __future__ import annotations

import threading
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

# Seconds; SLACK_POST_INTERVAL, shortened so 150 posts fit the time budget, yet long enough that two posts
# sharing one slot (a shortfall of a whole interval) stand out from arrival jitter.
TIMERS = Timers(post_interval=0.3, expire_after=12, revoke_reminder=4)
ENV = {
    "SWEEP_INTERVAL": "1s", "POLL_FAST_INTERVAL": "1s", "LEASE_TTL": "2s", "APP_RETRY_INTERVAL": "1s",
    "CUSTOMER_REMINDER_AFTER": "5s", "REVOKE_ESCALATE_AFTER": "1h", "MANUAL_STEP_REMINDER_AFTER": "1h",
    **TIMERS.env(),
}
# Ten onboardings, two or more of each kind: each kind meets kills at different steps. (Until issue 19 it was
# 21 of them, 9 plain; the same kinds and checks, more copies of them.)
KINDS = ["plain"] * 4 + ["app_503"] * 2 + ["failing_then_active"] * 2 + ["expiring"] * 2
KILL_EVERY = 3.0  # seconds between SIGKILLs
ARRIVAL_JITTER = 0.2  # seconds: posts are paced at their send; arrival at the fake Slack jitters by this much


@pytest.fixture
def cluster(tmp_path: Path, database_url: str) -> Iterator[Cluster]:
    # This process stamps each post's arrival at the fake Slack: a full garbage collection here (this worker's
    # heap, 100-300 ms with the GIL held) would stamp one late and make the next look early (bench.common).
    with running_cluster(tmp_path, database_url, replicas=3, env=ENV) as running, collector_paused():
        yield running


class Killer:
    """SIGKILLs the processes in turn, every KILL_EVERY seconds, and starts each again at once."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="killer", daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        turn = 0
        try:
            while not self.stop.wait(KILL_EVERY):
                replica = self.cluster.replicas[turn % len(self.cluster.replicas)]
                turn += 1
                self.cluster.kill(replica)
                self.cluster.start(replica)
        except BaseException as exc:  # reported by the test
            self.error = exc

    def __enter__(self) -> Killer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


def test_three_processes_killed_in_turn_lose_nothing_and_double_nothing(cluster: Cluster) -> None:
    started = time.monotonic()
    with Killer(cluster) as killer:
        kinds = onboard_all(cluster, KINDS, TIMERS)
    assert killer.error is None, killer.error
    wait_for_outbox(cluster)
    check_nothing_lost_or_doubled(cluster, kinds, label="chaos", started=started)
    check_audit_trails(cluster, kinds, TIMERS)
    check_channel_pace(cluster, post_interval=TIMERS.post_interval, arrival_jitter=ARRIVAL_JITTER, label="chaos")
