"""Fault injection, latency, the chat.postMessage rate limiter, control routes and response_url."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import builtin_handlers
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from devslack import FakeSlackState, ManualClock, RunningFakeSlack, loopback


@pytest.fixture
def observed_retry_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Make slack_sdk's rate-limit retry sleep observable (and instant) instead of blocking."""
    sleeps: list[float] = []
    monkeypatch.setattr(builtin_handlers, "time", SimpleNamespace(sleep=sleeps.append))
    # The handler adds random() jitter to Retry-After; pin it so the sleep is exact.
    monkeypatch.setattr(builtin_handlers, "random", SimpleNamespace(random=lambda: 0.0))
    return sleeps


def test_rate_limit_retry_handler_recovers_from_one_429(
    client: WebClient, state: FakeSlackState, observed_retry_sleeps: list[float]
) -> None:
    state.add_fault("chat.postMessage", status=429, retry_after=7)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))

    resp = client.chat_postMessage(channel="C1", text="hello")

    assert resp["ok"] is True
    assert observed_retry_sleeps == [7.0]
    assert [(c.status, c.error) for c in state.calls_to("chat.postMessage")] == [(429, "ratelimited"), (200, None)]
    assert [m.text for m in state.messages("C1")] == ["hello"]


def test_without_a_retry_handler_the_429_surfaces_with_retry_after(client: WebClient, state: FakeSlackState) -> None:
    state.add_fault("chat.update", retry_after=3)
    posted = client.chat_postMessage(channel="C1", text="v1")
    with pytest.raises(SlackApiError) as err:
        client.chat_update(channel="C1", ts=posted["ts"], text="v2")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "3"
    assert err.value.response["error"] == "ratelimited"
    # The fault was one-shot: the next call goes through.
    assert client.chat_update(channel="C1", ts=posted["ts"], text="v2")["ok"]
    assert state.messages("C1")[0].text == "v2"


def test_error_faults_with_count_and_wildcard(client: WebClient, state: FakeSlackState) -> None:
    state.add_fault("users.info", status=200, error="fatal_error", count=2)
    errors: list[str | None] = []
    for _ in range(3):
        try:
            client.users_info(user="U1")
            errors.append(None)
        except SlackApiError as exc:
            errors.append(exc.response["error"])
    assert errors == ["fatal_error", "fatal_error", None]

    state.add_fault("*", status=503, error="service_unavailable")
    with pytest.raises(SlackApiError) as err:
        client.auth_test()
    assert err.value.response.status_code == 503


def test_latency_uses_the_injected_sleep(client: WebClient, state: FakeSlackState) -> None:
    sleeps: list[float] = []
    state.sleep = sleeps.append
    state.latency_ms = 250
    state.add_fault("chat.postMessage", error="", latency_ms=100)
    client.chat_postMessage(channel="C1", text="slow")
    client.chat_postMessage(channel="C1", text="less slow")
    assert sleeps == [0.35, 0.25]
    assert len(state.messages("C1")) == 2


def test_post_rate_limiter_is_a_per_channel_token_bucket(
    client: WebClient, state: FakeSlackState, slack_clock: ManualClock
) -> None:
    state.enable_post_rate_limit(per_channel_per_second=1.0, burst=2)
    client.chat_postMessage(channel="C1", text="1")
    client.chat_postMessage(channel="C1", text="2")
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C1", text="3")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "1"
    assert client.chat_postMessage(channel="C2", text="other channel")["ok"]
    slack_clock.advance(1.0)
    assert client.chat_postMessage(channel="C1", text="3 again")["ok"]
    assert [m.text for m in state.messages("C1")] == ["1", "2", "3 again"]


def test_retry_handler_paces_posts_through_the_rate_limiter(
    client: WebClient, state: FakeSlackState, slack_clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The retry sleep advances the fake's clock, so the bucket refills exactly as in real time.
    monkeypatch.setattr(builtin_handlers, "time", SimpleNamespace(sleep=slack_clock.sleep))
    monkeypatch.setattr(builtin_handlers, "random", SimpleNamespace(random=lambda: 0.0))
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=5))
    state.enable_post_rate_limit(per_channel_per_second=1.0, burst=1)
    start = slack_clock()

    for i in range(4):
        client.chat_postMessage(channel="C1", text=f"m{i}")

    assert [m.text for m in state.messages("C1")] == ["m0", "m1", "m2", "m3"]
    assert sum(1 for c in state.calls_to("chat.postMessage") if c.status == 429) == 3
    assert slack_clock() - start == pytest.approx(3.0)


def test_control_routes(running: RunningFakeSlack, client: WebClient) -> None:
    base = running.base_url
    assert loopback.post(base + "/_fake/faults", json={"method": "chat.postMessage", "retry_after": 2}).json()["ok"]
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="C1", text="first")
    client.chat_postMessage(channel="C1", text="second", metadata={"event_type": "t", "event_payload": {}})

    dump = loopback.get(base + "/_fake/state").json()
    assert [m["text"] for m in dump["messages"]["C1"]] == ["second"]
    assert dump["messages"]["C1"][0]["metadata"]["event_type"] == "t"
    assert dump["calls"] == {"chat.postMessage": 2}

    loopback.post(base + "/_fake/config", json={"latency_ms": 5, "post_rate_limit": {"burst": 1}})
    assert running.state.latency_ms == 5
    assert loopback.post(base + "/_fake/reset").json()["ok"]
    after = loopback.get(base + "/_fake/state").json()
    assert after["messages"] == {} and after["calls"] == {}
    assert running.state.latency_ms == 0
    assert loopback.get(base + "/_fake/nothing").status_code == 404
    assert loopback.post(base + "/_fake/faults", json={}).status_code == 400


def test_response_url_replace_original_ephemeral_and_limits(
    running: RunningFakeSlack, client: WebClient, state: FakeSlackState
) -> None:
    card = client.chat_postMessage(channel="C1", text="Approve?", blocks=[{"type": "divider"}])
    state.register_response_url("tok1", user="U2", channel="C1", message_ts=card["ts"])

    replaced = loopback.post(running.response_url("tok1"), json={"replace_original": True, "text": "Approved by bob"})
    loopback.post(running.response_url("tok1"), json={"text": "only bob sees this"})
    loopback.post(running.response_url("tok1"), json={"response_type": "in_channel", "text": "for everyone"})

    assert replaced.status_code == 200
    msgs = state.messages("C1")
    assert (msgs[0].text, msgs[0].blocks, len(msgs[0].edits)) == ("Approved by bob", [], 1)
    assert msgs[1].text == "for everyone"
    assert [e.text for e in state.ephemerals_for("U2")] == ["only bob sees this"]
    assert [p.body.get("text") for p in state.response_posts][:1] == ["Approved by bob"]

    for _ in range(2):
        loopback.post(running.response_url("tok1"), json={"text": "again"})
    sixth = loopback.post(running.response_url("tok1"), json={"text": "too many"})
    assert (sixth.status_code, sixth.json()["error"]) == (404, "used_url")
    assert loopback.post(running.response_url("nope"), json={"text": "x"}).status_code == 404
