"""Stage times from a seeded audit trail with known durations (medians and 90th percentiles by hand), as the
report, the `/onboard report` answer, the App Home and `/metrics` show them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from bot.slack.client import make_web_client
from bot.slack.home_tab import publish_home
from bot.workflow.stage_report import read_report, stage_durations
from store.models import AuditEvent, Onboarding, PageType, Region
from store.states import OnboardingState
from tests.bot.harness import CHANNEL, LEAD, REQUESTER, BotHarness

S = OnboardingState
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
# Each case: hours spent at approval, project, app, invite, connect, removal (None: not reached, so the case
# waits at that stage from then on).
HISTORY: list[tuple[str, list[float | None]]] = [
    ("Alpha", [1, 1, 0.1, 2, 24, 0.5]),
    ("Beta", [2, 1, 0.1, 2, 72, None]),
    ("Gamma", [3, 2, 0.1, None]),
    ("Delta", [4, 5, None]),
    ("Epsilon", [10, None]),
    ("Zeta", [None]),
]
PATH = [(S.AWAITING_APPROVAL, S.CREATING_PROJECT, "approve"), (S.CREATING_PROJECT, S.CREATING_APP, "register_project"),
        (S.CREATING_APP, S.INVITING, "app_created"), (S.INVITING, S.AWAITING_CUSTOMER, "confirm_invite"),
        (S.AWAITING_CUSTOMER, S.REVOKING, "channel_active"), (S.REVOKING, S.COMPLETED, "confirm_revocation")]


@pytest.fixture
def bot(tmp_path: Path, migrated_database_url: str) -> Iterator[BotHarness]:
    harness = BotHarness(tmp_path, database_url=migrated_database_url)
    harness.clock.now = NOW
    seed(harness)
    yield harness
    harness.close()


def seed(bot: BotHarness) -> None:
    """Every case starts 20 days ago and moves on after the hours given."""
    with Session(bot.deps.engine) as session:
        for name, hours in HISTORY:
            at = NOW - timedelta(days=20)
            case = Onboarding(customer_name=name, customer_key=name.lower(), contact_email=f"{name.lower()}@x.test",
                              region=Region.EU, page="https://facebook.com/x", page_type=PageType.BUSINESS,
                              state=S.AWAITING_APPROVAL, requester_id=REQUESTER, created_at=at, state_entered_at=at)
            session.add(case)
            session.flush()
            assert case.id is not None
            session.add(AuditEvent(onboarding_id=case.id, at=at, actor=REQUESTER, action="submit",
                                   to_state=S.AWAITING_APPROVAL))
            for (source, target, action), spent in zip(PATH, hours, strict=False):
                if spent is None:
                    break
                at += H * spent
                session.add(AuditEvent(onboarding_id=case.id, at=at, actor=LEAD, action=action, from_state=source,
                                       to_state=target))
                case.state, case.state_entered_at = target, at
                if target == S.AWAITING_CUSTOMER:
                    case.invited_at = at
            session.add(case)
        session.commit()


def test_medians_and_90th_percentiles_by_hand(bot: BotHarness) -> None:
    with Session(bot.deps.engine) as session:
        report = read_report(session=session, now=NOW, days=30)
    figures = {(f.stage.key, f.channel): (f.count, f.median, f.p90) for f in report.figures}
    # approval 1, 2, 3, 4, 10 h: median 3 h; nearest rank ceil(0.9 * 5) = 5th -> 10 h
    assert figures[("approval", "")] == (5, 3 * H, 10 * H)
    # project 1, 1, 2, 5 h: median (1 + 2) / 2 = 1.5 h; ceil(0.9 * 4) = 4th -> 5 h
    assert figures[("project", "")] == (4, 1.5 * H, 5 * H)
    assert figures[("app", "")] == (3, 0.1 * H, 0.1 * H)
    assert figures[("invite", "")] == (2, 2 * H, 2 * H)
    # connect 24, 72 h: median 48 h; ceil(0.9 * 2) = 2nd -> 72 h
    assert figures[("connect", "Messenger")] == (2, 48 * H, 72 * H)
    assert figures[("removal", "")] == (1, 0.5 * H, 0.5 * H)
    waiting = {key: [w.case.customer_name for w in cases] for key, cases in report.waiting.items()}
    assert waiting == {"approval": ["Zeta"], "project": ["Epsilon"], "app": ["Delta"], "invite": ["Gamma"],
                       "connect": [], "removal": ["Beta"]}


def test_a_shorter_window_leaves_older_stages_out(bot: BotHarness) -> None:
    with Session(bot.deps.engine) as session:
        report = read_report(session=session, now=NOW, days=10)
    # Every stage of the history ended 16 days ago or earlier (the longest case took 77 hours from 20 days ago).
    counts = {f.stage.key: f.count for f in report.figures}
    assert counts == {"approval": 0, "project": 0, "app": 0, "invite": 0, "connect": 0, "removal": 0}


def test_report_command_home_and_metrics(bot: BotHarness) -> None:
    response = bot.send(bot.sim.slash_command(LEAD, text="report", channel_id=CHANNEL))
    assert response.status == 200
    answer = json.dumps([e.blocks for e in bot.slack_state.ephemerals_for(LEAD)]) + " ".join(bot.ephemerals(LEAD))
    assert "Stage times, last 30 days" in answer and "median 3h, 90th percentile 10h" in answer
    assert "waiting on the approvers" in answer
    bot.send(bot.sim.slash_command(LEAD, text="report 0", channel_id=CHANNEL))
    assert any("from 1 to 365" in text for text in bot.ephemerals(LEAD))

    publish_home(bot.deps, make_web_client(bot.settings, background=True), LEAD)
    view = bot.slack_state.home_views[LEAD].view
    assert "Stage times, last 30 days" in json.dumps(view) and len(view["blocks"]) <= 100

    metrics = bot.runtime.metrics.render().decode()
    assert 'onboarding_stage_duration_seconds_count{channel="all",stage="approval"} 5.0' in metrics
    assert 'onboarding_stage_duration_seconds_bucket{channel="Messenger",le="86400.0",stage="connect"} 1.0' in metrics


def test_each_channel_of_a_two_channel_case_has_its_own_connect_time() -> None:
    """Messenger went ACTIVE 5 h after the invite, Instagram 30 h after it (when the case moved on)."""
    invited = NOW - timedelta(days=3)
    case = Onboarding(id=7, customer_name="Both", customer_key="both", contact_email="b@x.test", region=Region.EU,
                      page="https://facebook.com/x", page_type=PageType.BUSINESS, state=S.REVOKING,
                      requester_id=REQUESTER, channels="messenger,instagram", instagram_username="both",
                      invited_at=invited, active_at=invited + 5 * H, ig_active_at=invited + 30 * H)
    events = [AuditEvent(onboarding_id=7, at=invited, actor=LEAD, action="confirm_invite", from_state=S.INVITING,
                         to_state=S.AWAITING_CUSTOMER),
              AuditEvent(onboarding_id=7, at=invited + 30 * H, actor="bot", action="channel_active",
                         from_state=S.ACTIVATING, to_state=S.REVOKING)]
    connect = {d.channel: d.took for d in stage_durations(events, {7: case}) if d.stage == "connect"}
    assert connect == {"Messenger": 5 * H, "Instagram": 30 * H}
