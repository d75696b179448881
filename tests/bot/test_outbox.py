"""The outbox dispatcher against the fake Slack: order, retries, 429s, pacing, exactly-once across a crash."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.background.outbox import OutboxDispatcher
from bot.slack.client import make_web_client
from bot.slack.ids import ActionId
from store import outbox as queue
from store.db import session_scope
from store.models import OutboxKind, OutboxMessage, OutboxStatus
from tests.bot.harness import CHANNEL, LEAD, REQUESTER, STAFF, VALID_FORM, BotHarness


class Recorder:
    """An injected sleep and monotonic clock: sleeping advances the clock and is recorded."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def dispatcher(bot: BotHarness, recorder: Recorder, *, post_interval: float = 0.0,
               on_rate_limit: Callable[[float], None] = lambda seconds: None) -> OutboxDispatcher:
    client = make_web_client(bot.settings, background=True, sleep=recorder.sleep)
    return OutboxDispatcher(engine=bot.deps.engine, client=client, approvers=bot.deps.approvers.mentions,
                            clock=bot.clock, post_interval=post_interval, wall=recorder.monotonic,
                            sleep=recorder.sleep, on_rate_limit=on_rate_limit)


def submit_without_delivery(bot: BotHarness, **overrides: Any) -> None:
    view_id = bot.open_intake()
    bot.sim.dispatch(bot.app, bot.sim.submit_view(REQUESTER, view_id=view_id, values={**VALID_FORM, **overrides}))


def rows(bot: BotHarness) -> list[OutboxMessage]:
    with Session(bot.deps.engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))


def test_a_429_is_waited_out_for_exactly_retry_after_then_delivered(bot: BotHarness) -> None:
    recorder = Recorder()
    submit_without_delivery(bot)
    bot.slack_state.add_fault("chat.postMessage", status=429, retry_after=7, count=1)
    assert dispatcher(bot, recorder).deliver_due() == 2
    assert recorder.sleeps == [7.0]
    assert len(bot.thread()) == 2
    assert [r.status for r in rows(bot)] == [OutboxStatus.DELIVERED] * 2


def test_a_server_error_is_retried_later_and_nothing_is_posted_twice(bot: BotHarness) -> None:
    recorder = Recorder()
    submit_without_delivery(bot)
    bot.slack_state.add_fault("chat.postMessage", status=500, error="internal_error", count=1)
    outbox = dispatcher(bot, recorder)
    assert outbox.deliver_due() == 0
    first = rows(bot)[0]
    assert (first.status, first.last_error) == (OutboxStatus.PENDING, "internal_error")
    bot.clock.advance(seconds=5)
    assert outbox.deliver_due() == 2
    assert len(bot.slack_state.messages(CHANNEL)) == 2


def test_an_in_doubt_row_found_in_slack_is_recorded_not_posted_again(bot: BotHarness) -> None:
    """A crash after Slack accepted the post but before we recorded it: the metadata finds the message."""
    recorder = Recorder()
    submit_without_delivery(bot)
    dispatcher(bot, recorder).deliver_due()
    posts_before = len(bot.slack_state.calls_to("chat.postMessage"))
    with Session(bot.deps.engine) as session:  # rewind the reply's row to "claimed, outcome unknown"
        session.execute(update(OutboxMessage).where(col(OutboxMessage.kind) == OutboxKind.REPLY)
                        .values(status=OutboxStatus.SENDING, slack_ts=None))
        session.commit()
    assert dispatcher(bot, recorder).deliver_due() == 1
    assert len(bot.slack_state.calls_to("chat.postMessage")) == posts_before
    assert len(bot.thread()) == 2
    reply = [r for r in rows(bot) if r.kind == OutboxKind.REPLY][0]
    assert reply.status == OutboxStatus.DELIVERED and reply.slack_ts == bot.thread()[1].ts


def test_an_in_doubt_row_not_in_slack_is_posted_once(bot: BotHarness) -> None:
    """A crash after claiming but before the post reached Slack."""
    recorder = Recorder()
    submit_without_delivery(bot)
    with Session(bot.deps.engine) as session:
        session.execute(update(OutboxMessage).values(status=OutboxStatus.SENDING))
        session.commit()
    assert dispatcher(bot, recorder).deliver_due() == 2
    assert len(bot.thread()) == 2


def test_queued_card_updates_collapse_into_one_chat_update(bot: BotHarness) -> None:
    bot.submit_intake()
    updates_before = len(bot.slack_state.calls_to("chat.update"))
    recorder = Recorder()
    # Three changes queued before the dispatcher gets to any of them.
    for _ in range(3):
        with Session(bot.deps.engine) as session:
            session.add(OutboxMessage(onboarding_id=1, kind=OutboxKind.CARD, next_attempt_at=bot.clock(),
                                      created_at=bot.clock()))
            session.commit()
    assert dispatcher(bot, recorder).deliver_due() == 1
    assert len(bot.slack_state.calls_to("chat.update")) == updates_before + 1
    assert all(r.status == OutboxStatus.DELIVERED for r in rows(bot))


def test_a_permanent_slack_error_is_recorded_and_does_not_block_the_rest(bot: BotHarness) -> None:
    recorder = Recorder()
    submit_without_delivery(bot)
    outbox = dispatcher(bot, recorder)
    outbox.deliver_due()
    bot.slack_state.add_fault("chat.postMessage", status=200, error="invalid_blocks", count=1)
    with Session(bot.deps.engine) as session:
        for text in ("first", "second"):
            session.add(OutboxMessage(onboarding_id=1, kind=OutboxKind.REPLY, created_at=bot.clock(),
                                      next_attempt_at=bot.clock(),
                                      notice=json.dumps({"type": "reminder", "reminder": text, "mention": [],
                                                         "state": "awaiting_approval",
                                                         "since": bot.clock().isoformat()})))
        session.commit()
    outbox.deliver_due()
    statuses = [(r.status, r.last_error) for r in rows(bot)[-2:]]
    assert statuses == [(OutboxStatus.FAILED, "invalid_blocks"), (OutboxStatus.DELIVERED, None)]
    assert "second" in bot.thread()[-1].text + json.dumps(bot.thread()[-1].blocks)


def test_posts_are_paced_to_one_per_second_per_channel(bot: BotHarness) -> None:
    recorder = Recorder()
    # Two people open the form before either submits, so nothing is delivered before the paced dispatcher runs.
    views = [(REQUESTER, bot.open_intake(REQUESTER)), (STAFF, bot.open_intake(STAFF))]
    for (user, view_id), name, email in zip(views, ["Acme", "Beta"], ["a@acme.test", "b@beta.test"], strict=True):
        bot.sim.dispatch(bot.app, bot.sim.submit_view(user, view_id=view_id, values={
            **VALID_FORM, "customer_name": name, "contact_email": email}))
    dispatcher(bot, recorder, post_interval=1.0).deliver_due()
    assert len(bot.slack_state.calls_to("chat.postMessage")) == 4
    # One second apart, plus the 0.5 % margin that keeps a post's varying trip from arriving a hair early.
    assert recorder.sleeps == [1.005, 1.005, 1.005]


def test_a_post_answered_429_is_retried_in_the_first_slot_after_retry_after(bot: BotHarness) -> None:
    recorder = Recorder()
    views = [(REQUESTER, bot.open_intake(REQUESTER)), (STAFF, bot.open_intake(STAFF))]
    for (user, view_id), name, email in zip(views, ["Acme", "Beta"], ["a@acme.test", "b@beta.test"], strict=True):
        bot.sim.dispatch(bot.app, bot.sim.submit_view(user, view_id=view_id, values={
            **VALID_FORM, "customer_name": name, "contact_email": email}))
    bot.slack_state.add_fault("chat.postMessage", status=429, retry_after=3, count=1)
    rate_limits: list[float] = []
    assert dispatcher(bot, recorder, post_interval=1.0, on_rate_limit=rate_limits.append).deliver_due() == 4
    # The first post is refused; its retry waits out Retry-After and takes a slot like any post, so the
    # next post is a whole interval after the retry, not at once (the slot it reserved before has passed).
    assert recorder.sleeps == [3.0, 1.005, 1.005, 1.005]
    assert rate_limits == [3.0]
    assert len(bot.slack_state.calls_to("chat.postMessage")) == 5
    assert [r.status for r in rows(bot)] == [OutboxStatus.DELIVERED] * 4


def test_a_slot_taken_before_another_process_was_rate_limited_is_given_up(bot: BotHarness) -> None:
    recorder = Recorder()
    submit_without_delivery(bot)

    def sleep(seconds: float) -> None:
        if not recorder.sleeps:  # while this process waits for its slot, another's post gets Retry-After: 5
            with session_scope(bot.deps.engine) as session:
                queue.hold_channel(session=session, channel=CHANNEL, until=recorder.now + 5, interval=1.005)
        recorder.sleep(seconds)

    outbox = OutboxDispatcher(engine=bot.deps.engine, client=make_web_client(bot.settings, background=True),
                              approvers=bot.deps.approvers.mentions, clock=bot.clock, post_interval=1.0,
                              wall=recorder.monotonic, sleep=sleep)
    assert outbox.deliver_due() == 2
    # The reply's slot (1.005 s after the card) fell inside the hold: it waited for the end of the hold instead.
    assert recorder.sleeps == [1.005, 3.995]
    assert len(bot.slack_state.calls_to("chat.postMessage")) == 2


def test_each_post_carries_metadata_naming_its_row(bot: BotHarness) -> None:
    bot.submit_intake()
    metadata = [m.metadata for m in bot.thread()]
    assert [meta["event_payload"]["outbox_id"] if meta else None for meta in metadata] == [r.id for r in rows(bot)[:2]]


def test_a_reply_waits_for_its_thread_parent(bot: BotHarness) -> None:
    recorder = Recorder()
    submit_without_delivery(bot)
    bot.slack_state.add_fault("chat.postMessage", status=503, error="service_unavailable", count=1)
    outbox = dispatcher(bot, recorder)
    outbox.deliver_due()
    assert bot.slack_state.messages(CHANNEL) == []
    assert [r.status for r in rows(bot)] == [OutboxStatus.PENDING, OutboxStatus.PENDING]
    bot.clock.advance(seconds=10)
    outbox.deliver_due()
    card, reply = bot.thread()
    assert reply.thread_ts == card.ts


def test_resolving_a_step_only_touches_the_messages_of_that_step(bot: BotHarness) -> None:
    bot.submit_intake()
    bot.click(LEAD, ActionId.APPROVE)
    project_step = bot.message_with(ActionId.REGISTER_PROJECT)
    approval = [m for m in bot.thread() if "Approval needed" in json.dumps(m.blocks)][0]
    assert "Approved" in json.dumps(approval.blocks)
    assert ActionId.REGISTER_PROJECT.value in json.dumps(project_step.blocks)
