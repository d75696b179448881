"""Onboardings driven end to end through a Cluster, as people and customers would, and the exact checks
that nothing was lost or doubled afterwards. Shared by the several-process tests (two replicas side by
side, and the chaos test that kills them in turn).

Kinds of onboarding: plain (the Page connects), a 503 on the first app creation (retried by a sweep),
FAILING then ACTIVE (the customer fixes their Page), and expiring (the customer never connects: a reminder,
the expiry, a revoke reminder, then the access removal), and both channels (Messenger and Instagram: one app,
one invitation, both polled, one removal; `onboard_all` makes the first plain onboarding one of these).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.slack.ids import ActionId
from bot.workflow.reminders import due_count
from tests.replicas.cluster import CHANNEL, LEAD, Cluster
from tests.replicas.figures import FIGURES


@dataclass(frozen=True)
class Timers:
    """The shortened timers a cluster runs with (seconds), as the checks need to know them."""

    post_interval: float
    expire_after: float
    revoke_reminder: float

    def env(self) -> dict[str, str]:
        return {"SLACK_POST_INTERVAL": f"{self.post_interval}s", "CUSTOMER_EXPIRE_AFTER": f"{self.expire_after}s",
                "REVOKE_REMINDERS": f"{self.revoke_reminder}s"}


def onboard(cluster: Cluster, index: int, kind: str, timers: Timers) -> int:
    """One onboarding from the form to its end, as people and the customer would do it."""
    requester, staff, name = f"U0REQ{index:02d}", f"U0STF{index:02d}", f"Customer {index:02d} {kind}"
    case_id = _submit_both(cluster, requester, name) if kind == "both_channels" else cluster.submit_intake(
        requester, name)
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
        cluster.wait(lambda: cluster.state(case_id) == "revoking", f"#{case_id} to expire",
                     timeout=timers.expire_after + 60)
        cluster.wait(lambda: reminders(cluster, case_id, "revoking") >= 1, f"#{case_id}'s revoke reminder")
    else:
        if kind == "failing_then_active":
            cluster.sandbox.connect_page(creds.project_id, app_id, outcome="FAILING",
                                         description="The Page access token could not be validated")
            cluster.wait(lambda: cluster.state(case_id) == "failing", f"#{case_id} to fail")
        cluster.sandbox.connect_page(creds.project_id, app_id)
        if kind == "both_channels":
            cluster.wait(lambda: cluster.state(case_id) == "activating", f"#{case_id}'s Messenger channel")
            cluster.sandbox.connect_instagram(creds.project_id, app_id, username=f"customer.{index:02d}")
        cluster.wait(lambda: cluster.state(case_id) == "revoking", f"#{case_id} to go active")
    cluster.click(staff, case_id, ActionId.ACCESS_REMOVED)
    final = "expired" if kind == "expiring" else "completed"
    cluster.wait(lambda: cluster.state(case_id) == final, f"#{case_id} to be {final}")
    return case_id


def _submit_both(cluster: Cluster, requester: str, name: str) -> int:
    """The intake of a Messenger-and-Instagram onboarding (Cluster.submit_intake asks for Messenger only)."""
    before = cluster.last_view(requester)
    cluster.send(cluster.sim.slash_command(requester, text="", channel_id=CHANNEL))
    slug = name.lower().replace(" ", "-").replace("_", "-")
    cluster.send(cluster.sim.submit_view(requester, view_id=cluster.new_view(requester, before), values={
        "customer_name": name, "contact_email": f"owner@{slug}.test", "region": "eu", "notes": "",
        "page": f"https://www.facebook.com/{slug}", "page_type": "business", "channels": "messenger_instagram",
        "instagram_username": f"@{slug.replace('-', '_')}", "prerequisites": [
            "business_verified", "page_admin", "chat_button", "ig_professional", "ig_page_linked",
            "ig_messages_access"]}))
    cluster.wait(lambda: cluster.case_id(name), f"the case of {name}")
    case_id = cluster.case_id(name)
    assert case_id is not None
    return case_id


def onboard_all(cluster: Cluster, kinds: Sequence[str], timers: Timers) -> dict[int, str]:
    """Every onboarding at once, one person each; returns each case's kind by case id."""
    if "plain" in kinds:  # every run includes one onboarding of both channels
        kinds = list(kinds)
        kinds[kinds.index("plain")] = "both_channels"
    with ThreadPoolExecutor(max_workers=len(kinds)) as people:
        futures = [people.submit(onboard, cluster, index, kind, timers) for index, kind in enumerate(kinds, 1)]
        case_ids = [future.result(timeout=300) for future in futures]
    return dict(zip(case_ids, kinds, strict=True))


def wait_for_outbox(cluster: Cluster) -> None:
    cluster.wait(lambda: not cluster.query("SELECT id FROM outbox WHERE status <> 'delivered'"),
                 "the outbox to drain", timeout=60)


def reminders(cluster: Cluster, case_id: int, state: str) -> int:
    rows = cluster.query("SELECT count(*) FROM audit_event e WHERE e.onboarding_id = :id AND e.action = 'remind' "
                         "AND e.detail <> 'customer' AND :state = "
                         "(SELECT p.to_state FROM audit_event p WHERE p.onboarding_id = e.onboarding_id "
                         "AND p.to_state IS NOT NULL AND p.id < e.id ORDER BY p.id DESC LIMIT 1)",
                         id=case_id, state=state)
    return int(rows[0][0])


def _when(value: object) -> datetime:
    """An audit time as a datetime (SQLite hands raw SQL results back as text)."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def check_nothing_lost_or_doubled(cluster: Cluster, kinds: dict[int, str], *, label: str, started: float) -> None:
    """Every post once, one card and one app per case; the figures go under `label`."""
    rows = cluster.query("SELECT id, onboarding_id, kind FROM outbox ORDER BY id")
    posted = cluster.posted_outbox_ids()  # each message carries its outbox row's id in its metadata
    first_cards = {case: min(row[0] for row in rows if row[1] == case and row[2] == "card") for case in kinds}
    expected = {row[0] for row in rows if row[2] == "reply"} | set(first_cards.values())
    duplicates = sum(times - 1 for times in posted.values())
    missing = expected - set(posted)
    FIGURES.update({f"{label}: onboardings": len(kinds), f"{label}: posts": sum(posted.values()),
                    f"{label}: SIGKILLs": cluster.kills, f"{label}: duplicates": duplicates,
                    f"{label}: missing": len(missing),
                    f"{label}: takeovers (leases that ran out)": cluster.count_in_logs(r"took over"),
                    f"{label}: requests failed over to another process": cluster.failovers,
                    f"{label}: wall time (s)": round(time.monotonic() - started, 1)})
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


PLAIN_PATH = ["awaiting_approval", "creating_project", "creating_app", "inviting", "awaiting_customer"]


def check_audit_trails(cluster: Cluster, kinds: dict[int, str], timers: Timers) -> None:
    """Transitions chain (each starts where the previous ended), ids and times are in order, each kind's path
    is complete, each action taken once, and each reminder sent once per due time."""
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
        assert states[:5] == PLAIN_PATH, f"#{case_id}: {states}"
        if kind == "expiring":
            assert states == [*PLAIN_PATH, "revoking", "expired"], f"#{case_id}: {states}"
        else:
            assert states[-2:] == ["revoking", "completed"], f"#{case_id}: {states}"
        if kind == "failing_then_active":
            assert "failing" in states, f"#{case_id}: {states}"
        actions = Counter(e.action for e in events)
        assert actions["create_app"] == 1 and actions["register_project"] == 1 and actions["approve"] == 1
        assert actions["create_app_failed"] == (1 if kind == "app_503" else 0), f"#{case_id}: {actions}"

        # The customer reminder once (only the expiring ones wait that long); revoke reminders never more
        # than the due times that passed while the case was REVOKING.
        customer = [e for e in events if e.action == "remind" and e.detail == "customer"]
        assert len(customer) == 1 if kind == "expiring" else len(customer) <= 1, f"#{case_id}"
        entered = _when(next(e.at for e in moves if e.to_state == "revoking"))
        left = _when(moves[-1].at)
        due = due_count(since=entered, now=left, offsets=[timedelta(seconds=timers.revoke_reminder * (n + 1))
                                                          for n in range(100)])
        assert reminders(cluster, case_id, "revoking") <= max(due, 0 if kind != "expiring" else 1), f"#{case_id}"


def check_channel_pace(cluster: Cluster, *, post_interval: float, arrival_jitter: float, label: str) -> None:
    """Posts are sent at slots `post_interval` apart, across processes: any k+1 consecutive posts span at least
    k intervals, give or take how late a post arrives at the fake Slack (it records arrivals, not sends;
    two posts in one slot would fall a whole interval short)."""
    arrived = sorted(call.time for call in cluster.slack_state.calls_to("chat.postMessage")
                     if call.status == 200 and call.error is None)
    assert len(arrived) == sum(cluster.posted_outbox_ids().values())
    shortfall = max((post_interval * (j - i) - (arrived[j] - arrived[i])
                     for i in range(len(arrived)) for j in range(i + 1, min(i + 50, len(arrived)))), default=0.0)
    per_second = max((sum(1 for t in arrived if start <= t < start + 1.0) for start in arrived), default=0)
    FIGURES[f"{label}: smallest gap between two arrivals (s)"] = round(
        min((b - a for a, b in zip(arrived, arrived[1:], strict=False)), default=0.0), 3)
    FIGURES[f"{label}: most posts in any 1 s (pace 1 per {post_interval} s)"] = per_second
    FIGURES[f"{label}: largest shortfall against the pace (s)"] = round(shortfall, 3)
    assert shortfall <= arrival_jitter
