"""An acknowledged click or submission is never lost: a process SIGKILLed right after it answered Slack 200
leaves the action committed, and the other process (or the restarted one) finishes what follows, once.

Two real `python -m bot run` processes share one database. The action under test goes to process A; the
moment A's answer arrives, A is SIGKILLed. Listeners run with process_before_response=True, so the answer
only leaves after the transaction committed. What comes after the commit (the Slack posts, the app
creation) is claimed in the database, so B takes it over once A's lease has run out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from bot.slack.ids import ActionId
from tests.replicas.cluster import LEAD, Cluster, Replica, running_cluster
from tests.replicas.figures import FIGURES

pytestmark = pytest.mark.e2e

REQUESTER, STAFF = "U0REQ", "U0STAFF"
ENV = {"SWEEP_INTERVAL": "1s", "POLL_FAST_INTERVAL": "1s", "LEASE_TTL": "2s", "SLACK_POST_INTERVAL": "0.1s",
       "APP_RETRY_INTERVAL": "1s"}  # a creation that timed out while its process died is retried soon


@pytest.fixture
def cluster(tmp_path: Path, database_url: str) -> Iterator[Cluster]:
    with running_cluster(tmp_path, database_url, replicas=2, env=ENV,
                         users={REQUESTER: "rita", STAFF: "sam"}) as running:
        yield running


def acked_then_killed(cluster: Cluster, replica: Replica, send: Callable[[], httpx.Response]) -> None:
    """`send()` goes to `replica`; as soon as its 200 is back, SIGKILL it."""
    response = send()
    assert response.status_code == 200, response.text
    cluster.kill(replica)


def drained(cluster: Cluster) -> bool:
    return not cluster.query("SELECT id FROM outbox WHERE status <> 'delivered'")


def actions(cluster: Cluster, case_id: int) -> list[str]:
    return [row[0] for row in cluster.query("SELECT action FROM audit_event WHERE onboarding_id = :id ORDER BY id",
                                            id=case_id)]


def assert_every_post_once(cluster: Cluster) -> None:
    posted = cluster.posted_outbox_ids()
    assert [row for row, times in posted.items() if times > 1] == []
    rows = cluster.query("SELECT id, onboarding_id, kind FROM outbox ORDER BY id")
    replies = {row[0] for row in rows if row[2] == "reply"}
    first_cards = {min(row[0] for row in rows if row[1] == case and row[2] == "card") for case in {r[1] for r in rows}}
    assert set(posted) == replies | first_cards


@pytest.mark.parametrize("step", ["approve", "register_project", "invitation_sent", "access_removed"])
def test_an_action_acked_by_a_process_killed_right_after_takes_effect_exactly_once(cluster: Cluster, step: str) -> None:
    a, b = cluster.replicas
    case_id = cluster.submit_intake(REQUESTER, "Kappa Kites")
    creds = cluster.sandbox.create_project("Kappa Kites", "eu")

    def act(name: str, send: Callable[[Replica | None], httpx.Response], committed_state: str) -> None:
        """Take this step through any process, or (the step under test) through A, killed once it answered."""
        if name != step:
            send(None)
            return
        acked_then_killed(cluster, a, lambda: send(a))
        assert cluster.state(case_id) == committed_state, "committed before the ack"
        cluster.start(a)  # back behind the load balancer; B carries on meanwhile

    act("approve", lambda to: cluster.click(LEAD, case_id, ActionId.APPROVE, to=to), "creating_project")
    if step == "register_project":
        # Sinch is slow to create the app, so A dies while its creation (started after the ack) is in flight.
        cluster.sandbox.add_fault(f"/projects/{creds.project_id}/apps$", method="POST", latency_ms=1500)
    act("register_project", lambda to: cluster.register_project(STAFF, case_id, creds, to=to), "creating_app")
    cluster.wait(lambda: cluster.state(case_id) == "inviting", "the app to be created")
    act("invitation_sent", lambda to: cluster.click(STAFF, case_id, ActionId.INVITATION_SENT, to=to),
        "awaiting_customer")
    cluster.wait(lambda: cluster.state(case_id) == "awaiting_customer", "the invitation")

    app_id = cluster.case(case_id)["app_id"]
    cluster.sandbox.connect_page(creds.project_id, app_id)
    cluster.wait(lambda: cluster.state(case_id) == "revoking", "the channel to go active")
    act("access_removed", lambda to: cluster.click(STAFF, case_id, ActionId.ACCESS_REMOVED, to=to), "completed")
    cluster.wait(lambda: cluster.state(case_id) == "completed", "the access removal")
    cluster.wait(lambda: drained(cluster), "every post to be delivered", timeout=60)

    expected = {"approve": "approve", "register_project": "register_project", "invitation_sent": "confirm_invite",
                "access_removed": "confirm_revocation"}[step]
    assert actions(cluster, case_id).count(expected) == 1
    assert cluster.apps_of(creds.project_id) == [app_id], "exactly one app"
    assert_every_post_once(cluster)
    assert len(cluster.slack_state.messages("C0REPLICAS", top_level_only=True)) == 1, "one status card"
    FIGURES[f"ack durability ({step}): kills"] = cluster.kills
