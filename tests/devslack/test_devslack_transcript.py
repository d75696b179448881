"""Plain-text transcripts of threads."""

from __future__ import annotations

from typing import Any

from devslack import FakeSlackState, ManualClock, render_message, render_thread

CARD: list[dict[str, Any]] = [
    {"type": "header", "text": {"type": "plain_text", "text": "Acme Corp"}},
    {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "*Region* EU\n*Requester* <@U1>"},
        "fields": [{"type": "mrkdwn", "text": "State: awaiting approval"}],
    },
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "Opened <!date^1764000000^{ago}|just now>"}]},
    {
        "type": "actions",
        "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Approve"}, "action_id": "approve"},
            {"type": "button", "text": {"type": "plain_text", "text": "Reject"}, "action_id": "reject"},
        ],
    },
]


def test_render_thread_shows_latest_parent_and_numbered_replies(
    state: FakeSlackState, slack_clock: ManualClock
) -> None:
    state.add_channel("C_ONBOARD", name="onboarding")
    parent = state.post_message("C_ONBOARD", text="Acme: awaiting approval", blocks=CARD)
    slack_clock.advance(65)
    state.post_message("C_ONBOARD", text="Approval requested from <@U2>", thread_ts=parent.ts)
    slack_clock.advance(5)
    state.post_user_message("C_ONBOARD", "U2", "on it", thread_ts=parent.ts)
    state.update_message("C_ONBOARD", parent.ts, text="Acme: approved", blocks=CARD[:2])

    lines = render_thread(state, "C_ONBOARD", parent.ts).splitlines()

    assert lines[0] == f"#onboarding thread {parent.ts} (2 replies)"
    assert lines[1] == "[parent 16:00:00] @onboarding-bot (edited 1x)"
    assert "    Acme: approved" in lines
    assert "    == Acme Corp ==" in lines
    assert "    *Requester* @alice" in lines
    assert "    State: awaiting approval" in lines
    assert not any("[Approve]" in line for line in lines)  # the parent's latest version has no buttons
    assert lines[-4:] == [
        "#1 16:01:05 @onboarding-bot",
        "    Approval requested from @bob",
        "#2 16:01:10 @bob",
        "    on it",
    ]


def test_render_message_lists_buttons_context_and_skips_duplicate_fallback(state: FakeSlackState) -> None:
    msg = state.post_message("C1", text="Acme Corp", blocks=CARD)
    rendered = render_message(msg)
    assert rendered.splitlines()[0] == "@UBOT"
    assert "[Approve] [Reject]" in rendered
    assert "Opened just now" in rendered
    assert rendered.count("Acme Corp") == 1


def test_unknown_thread(state: FakeSlackState) -> None:
    assert render_thread(state, "C1", "1.000000") == "(no message 1.000000 in C1)"
