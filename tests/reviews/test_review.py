"""The weekly access review against the real runtime: fake Slack over loopback, a real database, a frozen clock."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from bot.background.jobs import access_review_sweep, reminder_sweep
from bot.cli import main
from bot.deps import Deps
from bot.ops.export import export_audit
from bot.runtime import build_runtime
from bot.slack.client import make_web_client
from bot.slack.ids import ActionId
from devslack import FakeMessage
from store.models import AccessReview, Onboarding, PageType, Region, ReviewItem
from store.states import OnboardingState
from tests.bot.harness import CHANNEL, LEAD, OUTSIDER, REQUESTER, STAFF, BotHarness, run_now

S = OnboardingState
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday: the default schedule's instant (mon 09:00 UTC)


@pytest.fixture
def bot(tmp_path: Path, migrated_database_url: str) -> Iterator[BotHarness]:
    harness = BotHarness(tmp_path, database_url=migrated_database_url)
    harness.clock.now = MONDAY - timedelta(hours=1)  # the first sweep's baseline: last Monday's instant
    yield harness
    harness.close()


def seed(bot: BotHarness, name: str, state: OnboardingState, *, invited: datetime | None = None,
         revoked: datetime | None = None, thread_ts: str | None = None) -> int:
    with Session(bot.deps.engine) as session:
        case = Onboarding(customer_name=name, customer_key=name.lower(), contact_email=f"{name.lower()}@x.test",
                          region=Region.EU, page=f"https://facebook.com/{name.lower()}", page_type=PageType.BUSINESS,
                          state=state, requester_id=REQUESTER, invited_at=invited, invited_by=STAFF,
                          revoked_at=revoked, revoked_by=STAFF if revoked else None, slack_channel=CHANNEL,
                          revoke_outcome=S.COMPLETED if revoked else None, thread_ts=thread_ts)
        session.add(case)
        session.commit()
        assert case.id is not None
        return case.id



def reviews(bot: BotHarness) -> list[AccessReview]:
    with Session(bot.deps.engine) as session:
        return list(session.exec(select(AccessReview).order_by(col(AccessReview.id))))


def posted(bot: BotHarness) -> list[FakeMessage]:
    return [m for m in bot.slack_state.messages(CHANNEL, top_level_only=True) if "Access review" in m.text]


def text_of(message: FakeMessage) -> str:
    return message.text + json.dumps(message.blocks)


def run_sweep(bot: BotHarness, deps: Deps | None = None) -> int:
    """One run of the scheduler's access review job, as a process's scheduler runs it."""
    return access_review_sweep(deps or bot.deps, make_web_client(bot.settings, background=True))


def test_first_sweep_is_a_baseline_then_one_review_per_instant(bot: BotHarness) -> None:
    run_sweep(bot)
    assert [r.post_status for r in reviews(bot)] == ["skipped"] and posted(bot) == []
    bot.clock.now = MONDAY - timedelta(seconds=1)
    run_sweep(bot)
    assert posted(bot) == []
    bot.clock.now = MONDAY
    run_sweep(bot)
    run_sweep(bot)
    [message] = posted(bot)
    assert "nobody holds access" in message.text


def listed(bot: BotHarness, review_id: int) -> list[tuple[str, str]]:
    with Session(bot.deps.engine) as session:
        items = session.exec(select(ReviewItem, Onboarding).join(Onboarding)
                             .where(ReviewItem.review_id == review_id).order_by(col(ReviewItem.id))).all()
    return [(case.customer_name, item.kind) for item, case in items]


def test_the_review_lists_exactly_holding_and_removed_since_the_last(bot: BotHarness) -> None:
    run_sweep(bot)  # the baseline: lists nothing, so the first review lists every removal not yet reviewed
    seed(bot, "Oldgone", S.COMPLETED, invited=MONDAY - timedelta(days=30), revoked=MONDAY - timedelta(days=20))
    seed(bot, "Waiting", S.AWAITING_CUSTOMER, invited=MONDAY - timedelta(days=2))
    seed(bot, "Approving", S.AWAITING_APPROVAL)
    bot.clock.now = MONDAY
    run_sweep(bot)
    first = reviews(bot)[-1]
    assert listed(bot, first.id or 0) == [("Waiting", "holding"), ("Oldgone", "removed")]

    week = MONDAY + timedelta(days=7)
    seed(bot, "Removing", S.REVOKING, invited=MONDAY - timedelta(days=5))
    seed(bot, "Gone", S.COMPLETED, invited=MONDAY - timedelta(days=6), revoked=week - timedelta(days=1),
         thread_ts="1764000000.000100")
    seed(bot, "Rejected", S.REJECTED)
    seed(bot, "Later", S.COMPLETED, invited=week - timedelta(days=3), revoked=week + timedelta(minutes=5))
    bot.clock.now = week
    run_sweep(bot)
    second = reviews(bot)[-1]
    assert listed(bot, second.id or 0) == [("Removing", "holding"), ("Waiting", "holding"), ("Gone", "removed")]
    message = posted(bot)[-1]
    body = text_of(message)
    assert "Access review" in message.text and len(posted(bot)) == 2
    for words in ("Removing", "Waiting", "Gone", "(Messenger)", f"<@{REQUESTER}>", f"removal confirmed by <@{STAFF}>",
                  f"https://slack.com/archives/{CHANNEL}/p1764000000000100"):
        assert words in body
    for name in ("Oldgone", "Approving", "Rejected", "Later"):
        assert name not in body
    assert "Checked" in body and "Still has access" in body


def click(bot: BotHarness, user: str, action: ActionId, value: str) -> int:
    [message] = posted(bot)[-1:]
    response = bot.send(bot.sim.click(user, message=message, action_id=action, value=value, allow_missing=True))
    return response.status


def two_removals(bot: BotHarness) -> tuple[int, int, AccessReview]:
    run_sweep(bot)
    first = seed(bot, "Alpha", S.COMPLETED, invited=MONDAY - timedelta(days=6), revoked=MONDAY - timedelta(minutes=40))
    second = seed(bot, "Beta", S.COMPLETED, invited=MONDAY - timedelta(days=6), revoked=MONDAY - timedelta(minutes=30))
    bot.clock.now = MONDAY
    run_sweep(bot)
    return first, second, reviews(bot)[-1]


def item_ids(bot: BotHarness) -> list[int]:
    with Session(bot.deps.engine) as session:
        return [i.id or 0 for i in session.exec(select(ReviewItem).order_by(col(ReviewItem.id)))]


def signatures(bot: BotHarness) -> list[tuple[str | None, str | None]]:
    with Session(bot.deps.engine) as session:
        return [(i.signed_by, i.outcome) for i in session.exec(select(ReviewItem).order_by(col(ReviewItem.id)))]


def test_sign_off_one_then_all_and_a_second_click_changes_nothing(bot: BotHarness) -> None:
    _, _, review = two_removals(bot)
    one, two = item_ids(bot)
    assert click(bot, LEAD, ActionId.REVIEW_CHECKED, f"{review.id}:{one}") == 200
    assert signatures(bot) == [(LEAD, "checked"), (None, None)]
    body = text_of(posted(bot)[-1])
    assert f"signed by <@{LEAD}>" in body and body.count(ActionId.REVIEW_CHECKED.value) == 1  # one row left
    bot.clock.now += timedelta(minutes=5)
    click(bot, "U0GROUPLEAD", ActionId.REVIEW_CHECK_ALL, str(review.id))
    assert signatures(bot) == [(LEAD, "checked"), ("U0GROUPLEAD", "checked")]
    assert ActionId.REVIEW_CHECKED.value not in text_of(posted(bot)[-1])
    # A second click (a stale message, a retried request) changes nothing.
    click(bot, "U0GROUPLEAD", ActionId.REVIEW_STILL_HAS_ACCESS, f"{review.id}:{one}")
    assert signatures(bot) == [(LEAD, "checked"), ("U0GROUPLEAD", "checked")]
    assert bot.case(1).state == S.COMPLETED


def test_only_approvers_sign_off(bot: BotHarness) -> None:
    _, _, review = two_removals(bot)
    one, _ = item_ids(bot)
    click(bot, OUTSIDER, ActionId.REVIEW_CHECKED, f"{review.id}:{one}")
    assert signatures(bot) == [(None, None), (None, None)]
    assert any("APPROVERS" in text for text in bot.ephemerals(OUTSIDER))


def test_still_has_access_reopens_the_removal_with_its_reminders(bot: BotHarness) -> None:
    first, _, review = two_removals(bot)
    one, _ = item_ids(bot)
    click(bot, LEAD, ActionId.REVIEW_STILL_HAS_ACCESS, f"{review.id}:{one}")
    case = bot.case(first)
    assert case.state == S.REVOKING and case.revoked_at is None and case.state_entered_at == MONDAY
    texts = " ".join(bot.thread_texts(first))
    assert "still has access" in texts and ActionId.ACCESS_REMOVED.value in texts
    assert "Still has access (removal reopened)" in text_of(posted(bot)[-1])
    # The removal is chased again: the first revoke reminder (1 h by default) goes out.
    bot.clock.now = MONDAY + timedelta(hours=1, minutes=1)
    assert reminder_sweep(bot.deps) == 1
    bot.deliver()
    assert "remove" in bot.thread_texts(first)[-1].lower()


def test_unsigned_review_is_reminded_daily_and_then_mentions_approvers(bot: BotHarness) -> None:
    two_removals(bot)
    review_ts = posted(bot)[-1].ts
    bot.clock.now = MONDAY + timedelta(hours=23)
    run_sweep(bot)
    assert bot.slack_state.thread(CHANNEL, review_ts)[1:] == []
    bot.clock.now = MONDAY + timedelta(days=1)
    run_sweep(bot)
    run_sweep(bot)
    [first] = bot.slack_state.thread(CHANNEL, review_ts)[1:]
    assert "2 confirmed removal" in first.text and f"<@{LEAD}>" not in first.text
    bot.clock.now = MONDAY + timedelta(days=2)
    run_sweep(bot)
    second = bot.slack_state.thread(CHANNEL, review_ts)[-1]
    assert f"<@{LEAD}>" in second.text and "<!subteam^S0LEADS>" in second.text


def test_two_processes_over_the_instant_make_one_review(bot: BotHarness) -> None:
    run_sweep(bot)
    seed(bot, "Waiting", S.AWAITING_CUSTOMER, invited=MONDAY - timedelta(days=2))
    bot.clock.now = MONDAY
    # A second runtime (another process's scheduler) on the same database and Slack.
    other_runtime = build_runtime(bot.settings, clock=bot.clock, post_interval=0, run_later=run_now,
                                  sinch_transport=bot.sandbox_transport)
    try:
        barrier = threading.Barrier(2)

        def go(deps: Deps) -> None:
            barrier.wait()
            run_sweep(bot, deps)

        threads = [threading.Thread(target=go, args=(d,)) for d in (bot.deps, other_runtime.deps)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        other_runtime.shutdown()
    assert len(posted(bot)) == 1 and len(reviews(bot)) == 2  # the baseline and one review


def test_down_over_two_instants_posts_one_late_review(bot: BotHarness) -> None:
    run_sweep(bot)
    bot.clock.now = MONDAY + timedelta(days=7, hours=30)  # two instants passed while nothing ran
    run_sweep(bot)
    run_sweep(bot)
    assert len(posted(bot)) == 1
    assert reviews(bot)[-1].scheduled_for == MONDAY + timedelta(days=7)


def test_post_now_against_the_scheduled_instant_makes_one(bot: BotHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    run_sweep(bot)
    for name, value in {"SLACK_BOT_TOKEN": bot.settings.slack_bot_token.reveal(), "SLACK_SIGNING_SECRET": "x",
                        "SLACK_API_URL": bot.settings.slack_api_url, "ONBOARDING_CHANNEL": CHANNEL,
                        "APPROVERS": LEAD, "BOT_SECRET_KEY": bot.settings.bot_secret_key.reveal(),
                        "DATABASE_URL": bot.settings.database_url}.items():
        monkeypatch.setenv(name, value)
    assert main(["review", "--post-now"]) == 0  # the instant before the real clock's now is owed: it takes it
    assert len(posted(bot)) == 1
    latest = reviews(bot)[-1]
    # The sweep at that same instant finds it made and posts nothing more.
    bot.clock.now = latest.scheduled_for
    run_sweep(bot)
    assert len(posted(bot)) == 1
    assert main(["review", "--post-now"]) == 0  # asked again: a new review, posted now
    assert len(posted(bot)) == 2 and "Access review" in posted(bot)[-1].text


def test_export_includes_reviews_and_sign_offs(bot: BotHarness) -> None:
    _, _, review = two_removals(bot)
    one, _ = item_ids(bot)
    click(bot, LEAD, ActionId.REVIEW_CHECKED, f"{review.id}:{one}")
    out = io.StringIO()
    export_audit(bot.deps.engine, out, fmt="json")
    rows = json.loads(out.getvalue())
    listed = [row["detail"] for row in rows if row["action"] == "review_listed"]
    assert len(listed) == 2
    assert f"signed checked by {LEAD} at {MONDAY.isoformat()}" in listed[0] and "not signed" in listed[1]
    signed = [row for row in rows if row["action"] == "review_signed"]
    assert [(row["customer_name"], row["actor"], row["detail"]) for row in signed] == [
        ("Alpha", LEAD, f"access review {review.id}: checked")]
