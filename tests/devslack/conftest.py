"""Fixtures: a fake Slack on a loopback port with a manual clock, and a real WebClient pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from devslack import FakeSlackState, ManualClock, RunningFakeSlack, start_fake_slack


@pytest.fixture
def slack_clock() -> ManualClock:
    return ManualClock(1_764_000_000.0)


@pytest.fixture
def state(slack_clock: ManualClock) -> FakeSlackState:
    # The injected sleep advances the manual clock, so latency faults cost no wall time.
    fake = FakeSlackState(clock=slack_clock, sleep=slack_clock.sleep)
    fake.add_user("U1", "alice", "Alice Example", email="alice@example.com")
    fake.add_user("U2", "bob", "Bob Example")
    fake.add_usergroup("S_APPROVERS", ["U2", "U3"])
    return fake


@pytest.fixture
def running(state: FakeSlackState) -> Iterator[RunningFakeSlack]:
    with start_fake_slack(state=state) as server:
        yield server


@pytest.fixture
def client(running: RunningFakeSlack) -> WebClient:
    return WebClient(token=running.state.bot_token, base_url=running.url, timeout=5)
