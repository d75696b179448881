"""A real slack_sdk WebClient against the fake: messages, threads, reads, directory and errors."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import ActionsBlock, ButtonElement, SectionBlock

from devslack import FakeSlackState, ManualClock, RunningFakeSlack, loopback, start_fake_slack

CARD_BLOCKS = [
    SectionBlock(text="*Acme* onboarding", block_id="summary"),
    ActionsBlock(
        block_id="decide",
        elements=[ButtonElement(text="Approve", action_id="approve", value="req-1", style="primary")],
    ),
]


def test_auth_test_reports_the_bot_identity(client: WebClient, state: FakeSlackState) -> None:
    resp = client.auth_test()
    assert (resp["user_id"], resp["team_id"], resp["bot_id"]) == ("UBOT", state.team_id, state.bot_id)
    headers = {k.lower(): v for k, v in resp.headers.items()}
    assert headers["content-type"].startswith("application/json")
    assert "chat:write" in headers["x-oauth-scopes"]


def test_post_reply_update_round_trip(client: WebClient, state: FakeSlackState, slack_clock: ManualClock) -> None:
    parent = client.chat_postMessage(channel="C_ONBOARD", text="Acme: awaiting approval", blocks=CARD_BLOCKS)
    reply = client.chat_postMessage(channel="C_ONBOARD", thread_ts=parent["ts"], text="Approval requested")
    slack_clock.advance(2)
    reply2 = client.chat_postMessage(channel="C_ONBOARD", thread_ts=parent["ts"], text="Approved by bob")
    updated = client.chat_update(channel="C_ONBOARD", ts=parent["ts"], text="Acme: approved", blocks=[])

    assert parent["ts"] < reply["ts"] < reply2["ts"]
    assert reply2["ts"].startswith("1764000002.")
    assert updated["message"]["text"] == "Acme: approved"
    thread = state.thread("C_ONBOARD", parent["ts"])
    assert [m.text for m in thread] == ["Acme: approved", "Approval requested", "Approved by bob"]
    assert thread[0].blocks == []
    assert [e.text for e in thread[0].edits] == ["Acme: awaiting approval"]
    assert thread[0].edits[0].blocks[1]["elements"][0]["action_id"] == "approve"
    # The recorded body is what the bot sent, parsed, with the token gone.
    first = state.calls_to("chat.postMessage")[0]
    assert first.params["blocks"][0]["text"]["text"] == "*Acme* onboarding"
    assert "token" not in first.params
    assert state.calls_to("chat.update")[0].params["ts"] == parent["ts"]


def test_update_keeps_blocks_when_omitted_and_refuses_foreign_or_unknown_messages(
    client: WebClient, state: FakeSlackState
) -> None:
    card = client.chat_postMessage(channel="C1", text="card", blocks=CARD_BLOCKS)
    client.chat_update(channel="C1", ts=card["ts"], text="card v2")
    assert state.messages("C1")[0].blocks[0]["block_id"] == "summary"

    human = state.post_user_message("C1", "U1", "hello bot")
    with pytest.raises(SlackApiError) as foreign:
        client.chat_update(channel="C1", ts=human.ts, text="hijack")
    with pytest.raises(SlackApiError) as unknown:
        client.chat_update(channel="C1", ts="1.000001", text="nope")
    assert foreign.value.response["error"] == "cant_update_message"
    assert unknown.value.response["error"] == "message_not_found"
    assert human.text == "hello bot"


def test_invalid_token_is_rejected(running: RunningFakeSlack) -> None:
    bad = WebClient(token="xoxb-wrong", base_url=running.url)
    with pytest.raises(SlackApiError) as err:
        bad.chat_postMessage(channel="C1", text="x")
    assert err.value.response["error"] == "invalid_auth"
    assert running.state.messages("C1") == []
    assert running.state.calls_to("chat.postMessage")[0].error == "invalid_auth"


def test_unknown_method_and_missing_text(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as unknown:
        client.api_call("chat.teleport", json={"channel": "C1"})
    with pytest.raises(SlackApiError) as no_text:
        client.api_call("chat.postMessage", json={"channel": "C1"})
    assert unknown.value.response["error"] == "unknown_method"
    assert no_text.value.response["error"] == "no_text"


def test_channel_membership_and_strict_channels(client: WebClient, state: FakeSlackState) -> None:
    state.add_channel("C_PRIVATE", is_member=False)
    with pytest.raises(SlackApiError) as not_in:
        client.chat_postMessage(channel="C_PRIVATE", text="x")
    assert not_in.value.response["error"] == "not_in_channel"
    assert client.chat_postMessage(channel="C_ANY", text="lenient by default")["ok"]

    state.strict_channels = True
    with pytest.raises(SlackApiError) as missing:
        client.chat_postMessage(channel="C_UNKNOWN", text="x")
    assert missing.value.response["error"] == "channel_not_found"


def test_too_many_blocks_is_invalid_blocks(client: WebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": f"line {i}"}} for i in range(51)]
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C1", text="long", blocks=blocks)
    assert err.value.response["error"] == "invalid_blocks"
    assert "50" in err.value.response["response_metadata"]["messages"][0]


def test_form_bodies_with_json_string_fields_are_parsed(running: RunningFakeSlack) -> None:
    # slack_sdk sends some methods as forms; blocks/metadata then arrive as JSON strings.
    resp = loopback.post(
        running.url + "chat.postMessage",
        data={
            "channel": "C1",
            "text": "form",
            "blocks": '[{"type": "divider"}]',
            "metadata": '{"event_type": "onboarding", "event_payload": {"id": 7}}',
        },
        headers={"Authorization": f"Bearer {running.state.bot_token}"},
    )
    assert resp.json()["ok"] is True
    msg = running.state.messages("C1")[0]
    assert msg.blocks == [{"type": "divider"}]
    assert msg.metadata == {"event_type": "onboarding", "event_payload": {"id": 7}}


def test_replies_and_history_return_metadata_and_honour_windows(
    client: WebClient, state: FakeSlackState, slack_clock: ManualClock
) -> None:
    meta = {"event_type": "onboarding_case", "event_payload": {"case_id": "c-1"}}
    parent = client.chat_postMessage(channel="C1", text="parent", metadata=meta)
    replies = []
    for i in range(3):
        slack_clock.advance(1)
        replies.append(client.chat_postMessage(channel="C1", thread_ts=parent["ts"], text=f"r{i}")["ts"])
    client.chat_postMessage(channel="C1", text="other top-level")

    thread = client.conversations_replies(channel="C1", ts=parent["ts"], include_all_metadata=True)
    assert [m["text"] for m in thread["messages"]] == ["parent", "r0", "r1", "r2"]
    assert thread["messages"][0]["metadata"] == meta
    assert thread["messages"][0]["reply_count"] == 3

    windowed = client.conversations_replies(channel="C1", ts=parent["ts"], oldest=replies[0], latest=replies[2])
    assert [m["text"] for m in windowed["messages"]] == ["parent", "r1"]

    history = client.conversations_history(channel="C1", limit=1, include_all_metadata=True)
    assert [m["text"] for m in history["messages"]] == ["other top-level"]
    assert history["has_more"] is True
    page2 = client.conversations_history(channel="C1", limit=1, cursor=history["response_metadata"]["next_cursor"])
    assert page2["messages"][0]["metadata"]["event_payload"] == {"case_id": "c-1"}


def test_ephemeral_permalink_and_dm(client: WebClient, state: FakeSlackState) -> None:
    msg = client.chat_postMessage(channel="C1", text="card")
    reply = client.chat_postMessage(channel="C1", text="reply", thread_ts=msg["ts"])
    client.chat_postEphemeral(channel="C1", user="U1", text="only you", thread_ts=msg["ts"])
    link = client.chat_getPermalink(channel="C1", message_ts=msg["ts"])["permalink"]
    reply_link = client.chat_getPermalink(channel="C1", message_ts=reply["ts"])["permalink"]
    dm = client.chat_postMessage(channel="U1", text="psst")

    assert [e.text for e in state.ephemerals_for("U1")] == ["only you"]
    assert link == f"https://fake.slack.local/archives/C1/p{msg['ts'].replace('.', '')}"
    assert reply_link.endswith(f"?thread_ts={msg['ts']}&cid=C1")
    assert dm["channel"].startswith("D")
    assert client.conversations_open(users="U1")["channel"]["id"] == dm["channel"]


def test_directory_lookups(client: WebClient) -> None:
    assert client.usergroups_users_list(usergroup="S_APPROVERS")["users"] == ["U2", "U3"]
    assert client.users_info(user="U1")["user"]["real_name"] == "Alice Example"
    assert client.users_lookupByEmail(email="ALICE@example.com")["user"]["id"] == "U1"
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: client.usergroups_users_list(usergroup="S_NOPE"), "no_such_subteam"),
        (lambda: client.users_info(user="U_NOPE"), "user_not_found"),
        (lambda: client.users_lookupByEmail(email="x@example.com"), "users_not_found"),
    ]
    for call, error in cases:
        with pytest.raises(SlackApiError) as err:
            call()
        assert err.value.response["error"] == error


def test_two_servers_are_independent_and_stop_cleanly() -> None:
    with start_fake_slack() as a, start_fake_slack() as b:
        WebClient(token=a.state.bot_token, base_url=a.url).chat_postMessage(channel="C1", text="a")
        assert a.port != b.port
        assert b.state.messages("C1") == []
    with pytest.raises(httpx.ConnectError):
        loopback.get(a.base_url + "/_fake/state", timeout=1)


def test_concurrent_posts_get_unique_increasing_ts(running: RunningFakeSlack) -> None:
    def post_many(worker: int) -> list[str]:
        client = WebClient(token=running.state.bot_token, base_url=running.url)
        return [client.chat_postMessage(channel="C1", text=f"{worker}-{i}")["ts"] for i in range(15)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        per_worker = list(pool.map(post_many, range(4)))

    all_ts = [ts for batch in per_worker for ts in batch]
    assert len(set(all_ts)) == 60
    assert all(batch == sorted(batch) for batch in per_worker)
    stored = [m.ts for m in running.state.messages("C1")]
    assert stored == sorted(stored) and len(stored) == 60


def test_channel_names_resolve_to_declared_ids(client: WebClient, state: FakeSlackState) -> None:
    state.add_channel("C_ONBOARD", name="onboarding")
    assert client.chat_postMessage(channel="#onboarding", text="by name")["channel"] == "C_ONBOARD"
    assert [m.text for m in state.messages("C_ONBOARD")] == ["by name"]
