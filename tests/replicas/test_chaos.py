"""Chaos: three real `python -m bot run` processes on one database while one of them is SIGKILLed and
restarted every few seconds; more than twenty onboardings driven to their end through Slack requests spread
round-robin over the three. Afterwards, exactly: no post twice, none missing, one card and one app per case,
each reminder once, every audit trail complete and in order, the channel's pace kept across processes.

Kinds of onboarding: plain (the Page connects), a 503 on the first app creation (retried by a sweep),
FAILING then ACTIVE (the customer fixes their Page), and expiring (the customer never connects: a reminder,
the expiry, a revoke reminder, then the access removal).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.slack.ids import ActionId
from bot.workflow.reminders import due_count
from tests.replicas.cluster import CHANNEL, LEAD, Cluster
from tests.replicas.figures import FIGURES

pytestmark = pytest.mark.e2e

# Seconds; SLACK_POST_INTERVAL, shortened so 300 posts fit the time budget, yet long enough that two posts
# sharing one slot (a shortfall of a whole interval) stand out from arrival jitter.
POST_INTERVAL = 0.35
EXPIRE_AFTER, CUSTOMER_REMINDER_AFTER, REVOKE_REMINDER = 40, 15, 6  # seconds
ENV = {
    "SWEEP_INTERVAL": "1s", "POLL_FAST_INTERVAL": "1s", "LEASE_TTL": "3s", "APP_RETRY_INTERVAL": "1s",
    "SLACK_POST_INTERVAL": f"{POST_INTERVAL}s", "CUSTOMER_EXPIRE_AFTER": f"{EXPIRE_AFTER}s",
    "CUSTOMER_REMINDER_AFTER": f"{CUSTOMER_REMINDER_AFTER}s", "REVOKE_REMINDERS": f"{REVOKE_REMINDER}s",
    "REVOKE_ESCALATE_AFTER": "1h", "MANUAL_STEP_REMINDER_AFTER": "1h",
}
KINDS = ["plain"] * 9 + ["app_503"] * 5 + ["failing_then_active"] * 4 + ["expiring"] * 3  # 21 onboardings
KILL_EVERY = 4.0  # seconds between SIGKILLs
ARRIVAL_JITTER = 0.2  # seconds: posts are paced at their send; arrival at the fake Slack jitters by this much


@pytest.fixture
def cluster(tmp_path: Path, database_url: str) -> Iterator[Cluster]:
    running = Cluster(tmp_path, database_url, replicas=3, env=ENV)
    try:
        running.start_all()
        yield running
    finally:
        running.close()


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


def onboard(cluster: Cluster, index: int, kind: str) -> int:
    """One onboarding from the form to its end, as people and the customer would do it."""
    requester, staff, name = f"U0REQ{index:02d}", f"U0STF{index:02d}", f"Customer {index:02d} {kind}"
    case_id = cluster.submit_intake(requester, name)
    cluster.click(LEAD, case_id, ActionId.APPROVE)
    creds = cluster.sandbox.create_project(name, "eu")
    if kind == "app_503":
        cluster.sandbox.add_fault(f"/projects/{creds.project_id}/apps$", method="POST", status=503)
    cluster.wait(lambda: cluster.button(case_id, ActionId.REGISTER_PROJECT), f"#{case_id}'s project step")
    cluster.register_project(staff, case_id, creds)
    cluster.wait(lambda: cluster.state(case_id) == "inviting", f"#{case_id}'s app")
    cluster.click(staff, case_id, ActionId.INVITATION_SENT)
    cluster.wait(lambda: cluster.state(case_id) == "awaiting_customer", f"#{case_id}'s invitation")
    app_id = cluster.case(case_id)["app_id"]
    if kind == "expiring":
        cluster.wait(lambda: cluster.state(case_id) == "revoking", f"#{case_id} to expire", timeout=EXPIRE_AFTER + 60)
        cluster.wait(lambda: reminders(cluster, case_id, "revoking") >= 1, f"#{case_id}'s revoke reminder")
    else:
        if kind == "failing_then_active":
            cluster.sandbox.connect_page(creds.project_id, app_id, outcome="FAILING",
                                         description="The Page access token could not be validated")
            cluster.wait(lambda: cluster.state(case_id) == "failing", f"#{case_id} to fail")
        cluster.sandbox.connect_page(creds.project_id, app_id)
        cluster.wait(lambda: cluster.state(case_id) == "revoking", f"#{case_id} to go active")
    cluster.click(staff, case_id, ActionId.ACCESS_REMOVED)
    final = "expired" if kind == "expiring" else "completed"
    cluster.wait(lambda: cluster.state(case_id) == final, f"#{case_id} to be {final}")
    return case_id


def _when(value: object) -> datetime:
    """An audit time as a datetime (SQLite hands raw SQL results back as text)."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def reminders(cluster: Cluster, case_id: int, state: str) -> int:
    rows = cluster.query("SELECT count(*) FROM audit_event e WHERE e.onboarding_id = :id AND e.action = 'remind' "
                         "AND e.detail <> 'customer' AND :state = "
                         "(SELECT p.to_state FROM audit_event p WHERE p.onboarding_id = e.onboarding_id "
                         "AND p.to_state IS NOT NULL AND p.id < e.id ORDER BY p.id DESC LIMIT 1)",
                         id=case_id, state=state)
    return int(rows[0][0])


def test_three_processes_killed_in_turn_lose_nothing_and_double_nothing(cluster: Cluster) -> None:
    started = time.monotonic()
    with Killer(cluster) as killer, ThreadPoolExecutor(max_workers=len(KINDS)) as people:
        futures = {index: people.submit(onboard, cluster, index, kind) for index, kind in enumerate(KINDS, 1)}
        case_ids = {index: future.result(timeout=300) for index, future in futures.items()}
    assert killer.error is None, killer.error
    cluster.wait(lambda: not cluster.query("SELECT id FROM outbox WHERE status <> 'delivered'"),
                 "the outbox to drain", timeout=60)
    elapsed = time.monotonic() - started
    kinds = {case_ids[index]: kind for index, kind in enumerate(KINDS, 1)}

    # Posts: every row that posts is in Slack exactly once (its id is in the message metadata).
    rows = cluster.query("SELECT id, onboarding_id, kind FROM outbox ORDER BY id")
    posted = cluster.posted_outbox_ids()
    first_cards = {case: min(row[0] for row in rows if row[1] == case and row[2] == "card") for case in kinds}
    expected = {row[0] for row in rows if row[2] == "reply"} | set(first_cards.values())
    duplicates = sum(times - 1 for times in posted.values())
    missing = expected - set(posted)
    FIGURES.update({"chaos: onboardings": len(kinds), "chaos: posts": sum(posted.values()),
                    "chaos: SIGKILLs": cluster.kills, "chaos: duplicates": duplicates, "chaos: missing": len(missing),
                    "chaos: takeovers (leases that ran out)": cluster.count_in_logs(r"took over"),
                    "chaos: requests failed over to another process": cluster.failovers,
                    "chaos: wall time (s)": round(elapsed, 1)})
    assert duplicates == 0 and not missing and set(posted) == expected

    # One status card per case: the channel's top-level messages are exactly the cases' first card rows.
    top_level = cluster.slack_state.messages(CHANNEL, top_level_only=True)
    assert sorted(int((m.metadata or {})["event_payload"]["outbox_id"]) for m in top_level) == \
        sorted(first_cards.values())

    # Exactly one app per case, the one the case recorded.
    for case_id in kinds:
        case = cluster.case(case_id)
        project = cluster.query("SELECT project_id FROM onboarding WHERE id = :id", id=case_id)[0][0]
        assert cluster.apps_of(project) == [case["app_id"]], f"#{case_id}"

    # Audit trails: transitions chain (each starts where the previous ended), ids and times in order, and
    # each kind's path is complete.
    paths = {
        "plain": ["awaiting_approval", "creating_project", "creating_app", "inviting", "awaiting_customer"],
        "expiring": ["awaiting_approval", "creating_project", "creating_app", "inviting", "awaiting_customer",
                     "revoking", "expired"],
    }
    for case_id, kind in kinds.items():
        events = cluster.query("SELECT id, at, action, from_state, to_state, detail FROM audit_event "
                               "WHERE onboarding_id = :id ORDER BY id", id=case_id)
        times = [_when(e.at) for e in events]
        assert times == sorted(times), f"#{case_id} audit times out of order"
        moves = [e for e in events if e.to_state is not None]
        previous = None
        for move in moves:
            assert move.from_state == previous, f"#{case_id}: {move.action} from {move.from_state}, not {previous}"
            previous = move.to_state
        states = [m.to_state for m in moves]
        assert states[:5] == paths["plain"], f"#{case_id}: {states}"
        if kind == "expiring":
            assert states == paths["expiring"], f"#{case_id}: {states}"
        else:
            assert states[-2:] == ["revoking", "completed"], f"#{case_id}: {states}"
        if kind == "failing_then_active":
            assert "failing" in states, f"#{case_id}: {states}"
        actions = Counter(e.action for e in events)
        assert actions["create_app"] == 1 and actions["register_project"] == 1 and actions["approve"] == 1
        assert actions["create_app_failed"] == (1 if kind == "app_503" else 0), f"#{case_id}: {actions}"

        # Reminders: once per due time. The customer reminder once (only the expiring ones wait that long);
        # revoke reminders never more than the due times that passed while the case was REVOKING.
        customer = [e for e in events if e.action == "remind" and e.detail == "customer"]
        assert len(customer) == 1 if kind == "expiring" else len(customer) <= 1, f"#{case_id}"
        entered = _when(next(e.at for e in moves if e.to_state == "revoking"))
        left = _when(moves[-1].at)
        due = due_count(since=entered, now=left, offsets=[timedelta(seconds=REVOKE_REMINDER * (n + 1))
                                                          for n in range(100)])
        assert reminders(cluster, case_id, "revoking") <= max(due, 0 if kind != "expiring" else 1), f"#{case_id}"

    # The channel's pace, across processes: posts are sent at slots SLACK_POST_INTERVAL apart, so any k+1
    # consecutive posts span at least k intervals, give or take how late a post arrives at the fake Slack
    # (it records when each request arrived, not when it was sent; on this loaded machine the difference
    # jitters by up to ~0.15 s, whereas two posts in one slot would fall a whole interval short).
    arrived = sorted(call.time for call in cluster.slack_state.calls_to("chat.postMessage")
                     if call.status == 200 and call.error is None)
    assert len(arrived) == sum(posted.values())
    shortfall = max((POST_INTERVAL * (j - i) - (arrived[j] - arrived[i])
                     for i in range(len(arrived)) for j in range(i + 1, min(i + 50, len(arrived)))), default=0.0)
    per_second = max(sum(1 for t in arrived if start <= t < start + 1.0) for start in arrived)
    FIGURES["chaos: smallest gap between two arrivals (s)"] = round(
        min(b - a for a, b in zip(arrived, arrived[1:], strict=False)), 3)
    FIGURES[f"chaos: most posts in any 1 s (pace 1 per {POST_INTERVAL} s)"] = per_second
    FIGURES["chaos: largest shortfall against the pace (s)"] = round(shortfall, 3)
    assert shortfall <= ARRIVAL_JITTER
