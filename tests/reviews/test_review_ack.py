"""A sign-off acked by a process SIGKILLed right after it answered Slack took effect, once, and shows after the
restart (two real `python -m bot run` processes on one database, as in tests/replicas/test_ack_durability.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from bot.config import Settings
from bot.ops.review import post_review_now
from bot.slack.ids import ActionId
from store.models import Onboarding, PageType, Region
from store.states import OnboardingState
from tests.replicas.cluster import LEAD, Cluster, running_cluster

pytestmark = pytest.mark.e2e

ENV = {"SWEEP_INTERVAL": "1s", "LEASE_TTL": "2s", "SLACK_POST_INTERVAL": "0.1s"}


@pytest.fixture
def cluster(tmp_path: Path, database_url: str) -> Iterator[Cluster]:
    with running_cluster(tmp_path, database_url, replicas=2, env=ENV, users={}) as running:
        yield running


def test_a_sign_off_acked_by_a_process_killed_right_after_took_effect(cluster: Cluster) -> None:
    a, _ = cluster.replicas
    now = datetime.now(UTC)
    with Session(cluster.engine) as session:  # a removal confirmed an hour ago
        session.add(Onboarding(customer_name="Omega Oars", customer_key="omega oars", contact_email="o@x.test",
                               region=Region.EU, page="https://facebook.com/omega", page_type=PageType.BUSINESS,
                               state=OnboardingState.COMPLETED, requester_id="U0REQ", slack_channel="C0REPLICAS",
                               invited_at=now - timedelta(days=2), revoked_at=now - timedelta(hours=1),
                               revoked_by="U0STAFF"))
        session.commit()
    post_review_now(Settings.from_env(cluster.env), now=now)
    [review] = [m for m in cluster.slack_state.messages("C0REPLICAS", top_level_only=True) if "Access review" in m.text]
    [(review_id, item_id)] = cluster.query("SELECT review_id, id FROM review_item")

    response = cluster.send(cluster.sim.click(LEAD, message=review, action_id=ActionId.REVIEW_CHECKED,
                                              value=f"{review_id}:{item_id}"), to=a)
    assert response.status_code == 200
    cluster.kill(a)
    signed = cluster.query("SELECT signed_by, outcome FROM review_item")
    assert signed == [(LEAD, "checked")], "committed before the ack"
    cluster.start(a)

    def shown() -> bool:
        message = cluster.slack_state.find_message("C0REPLICAS", review.ts)
        return message is not None and f"signed by <@{LEAD}>" in json.dumps(message.blocks)

    cluster.wait(shown, "the sign-off to replace the buttons")
    assert cluster.query("SELECT count(*) FROM audit_event WHERE action = 'review_signed'") == [(1,)]
