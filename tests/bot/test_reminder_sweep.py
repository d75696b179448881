"""The reminder sweep (reminders, expiry) against the real runtime, fake Slack and Sinch sandbox, on a set clock.

Cases are driven through Slack (signed requests) up to the invitation; then the tests call the sweeps
the scheduler would call, at chosen clock times, and look at what reached the fake Slack and the database.
Nothing sleeps: the bot's clock and the sandbox's clock are moved by hand.
"""


from __future__ import annotations

from datetime import datetime, timedelta

from bot.slack.ids import ActionId
from store.states import OnboardingState as S
from tests.bot.harness import LEAD, STAFF, BotHarness
from tests.bot.jobs_helpers import (
    APPROVER_MENTIONS,
    REQUESTER_MENTION,
    Invited,
    app_reads,
    at,
    body,
    invite,
    invited_at_of,
    remind,
    replies,
    sweep,
)

# -- reminders, expiry ----------------------------------------------------------------------------


def test_the_customer_reminder_after_three_days_mentions_the_requester_once(bot: BotHarness) -> None:
    case = invite(bot)
    invited_at = invited_at_of(bot, case.case_id)
    at(bot, invited_at + timedelta(days=3) - timedelta(minutes=1))
    assert remind(bot) == 0
    for moment in (timedelta(days=3), timedelta(days=3), timedelta(days=3, hours=1), timedelta(days=5)):
        at(bot, invited_at + moment)
        remind(bot)
    reminders = replies(bot, case.case_id, "Reminder")
    assert len(reminders) == 1
    assert REQUESTER_MENTION in body(reminders[0]) and "3 days" in body(reminders[0])
    assert not any(mention in body(reminders[0]) for mention in APPROVER_MENTIONS)
    assert bot.case(case.case_id).state == S.AWAITING_CUSTOMER


def test_after_fourteen_days_the_case_expires_into_removing_the_customers_access(bot: BotHarness) -> None:
    case = invite(bot)
    invited_at = invited_at_of(bot, case.case_id)
    at(bot, invited_at + timedelta(days=14) - timedelta(seconds=1))
    remind(bot)
    assert bot.case(case.case_id).state == S.AWAITING_CUSTOMER

    at(bot, invited_at + timedelta(days=14))
    remind(bot)
    remind(bot)
    stored = bot.case(case.case_id)
    assert (stored.state, stored.revoke_outcome, stored.next_poll_at) == (S.REVOKING, S.EXPIRED, None)
    assert len(replies(bot, case.case_id, "Onboarding expired")) == 1
    assert len(replies(bot, case.case_id, "Remove the customer's access")) == 1
    assert "did not connect a Page in time" in body(bot.message_with(ActionId.ACCESS_REMOVED, case.case_id))
    reads = app_reads(bot)
    assert sweep(bot).polled == 0 and app_reads(bot) == reads, "an expired case is no longer polled"

    bot.click(STAFF, ActionId.ACCESS_REMOVED, message=bot.message_with(ActionId.ACCESS_REMOVED, case.case_id))
    assert bot.case(case.case_id).state == S.EXPIRED


def to_revoking(bot: BotHarness) -> tuple[Invited, datetime]:
    case = invite(bot)
    bot.sandbox.connect_page(case.project_id, case.app_id)
    sweep(bot)
    bot.clock.advance(minutes=1)
    sweep(bot)
    stored = bot.case(case.case_id)
    assert stored.state == S.REVOKING
    return case, stored.state_entered_at


def test_revocation_reminders_come_at_one_four_and_twenty_four_hours_with_approvers_from_twenty_four(
        bot: BotHarness) -> None:
    case, since = to_revoking(bot)
    schedule = [  # (time in REVOKING, reminders posted so far)
        (timedelta(minutes=59), 0),
        (timedelta(hours=1), 1),
        (timedelta(hours=2), 1),
        (timedelta(hours=4), 2),
        (timedelta(hours=23, minutes=59), 2),
        (timedelta(hours=24), 3),
        (timedelta(hours=47), 3),
        (timedelta(hours=48), 4),
    ]
    for elapsed, expected in schedule:
        at(bot, since + elapsed)
        for _ in range(3):  # several sweeps at the same time: one due time, one reminder
            remind(bot)
        assert len(replies(bot, case.case_id, "Reminder")) == expected, elapsed
    first, second, third, fourth = (body(m) for m in replies(bot, case.case_id, "Reminder"))
    for reminder in (first, second, third, fourth):
        assert REQUESTER_MENTION in reminder and "Access removed" in reminder
    for early in (first, second):
        assert not any(mention in early for mention in APPROVER_MENTIONS)
    for escalated in (third, fourth):
        assert all(mention in escalated for mention in APPROVER_MENTIONS)


def test_a_bot_that_was_down_posts_one_catch_up_reminder_not_one_per_missed_due_time(bot: BotHarness) -> None:
    case, since = to_revoking(bot)
    at(bot, since + timedelta(hours=5))
    remind(bot)
    remind(bot)
    assert len(replies(bot, case.case_id, "Reminder")) == 1
    at(bot, since + timedelta(hours=23))
    remind(bot)
    assert len(replies(bot, case.case_id, "Reminder")) == 1


def test_a_restart_does_not_repeat_reminders_already_posted(bot: BotHarness) -> None:
    case, since = to_revoking(bot)
    at(bot, since + timedelta(hours=1))
    remind(bot)
    bot.restart()
    remind(bot)
    assert len(replies(bot, case.case_id, "Reminder")) == 1
    at(bot, since + timedelta(hours=4))
    remind(bot)
    bot.restart()
    remind(bot)
    assert len(replies(bot, case.case_id, "Reminder")) == 2

    customer = invite(bot, "Waiting Co")
    at(bot, invited_at_of(bot, customer.case_id) + timedelta(days=3))
    remind(bot)
    bot.restart()
    remind(bot)
    assert len(replies(bot, customer.case_id, "Reminder")) == 1


def test_no_revocation_reminder_follows_the_confirmed_removal(bot: BotHarness) -> None:
    case, since = to_revoking(bot)
    at(bot, since + timedelta(hours=1))
    remind(bot)
    bot.click(STAFF, ActionId.ACCESS_REMOVED, message=bot.message_with(ActionId.ACCESS_REMOVED, case.case_id))
    assert bot.case(case.case_id).state == S.COMPLETED
    for elapsed in (timedelta(hours=4), timedelta(hours=24), timedelta(days=5)):
        at(bot, since + elapsed)
        assert remind(bot) == 0
    assert len(replies(bot, case.case_id, "Reminder")) == 1


def test_the_invite_step_is_reminded_daily_until_it_is_confirmed_and_then_never_again(bot: BotHarness) -> None:
    bot.submit_intake()
    bot.click(LEAD, ActionId.APPROVE)
    creds = bot.sandbox.create_project("Acme Bikes", "eu")
    bot.click(STAFF, ActionId.REGISTER_PROJECT)
    bot.submit_modal(STAFF, {"project_id": creds.project_id, "key_id": creds.key_id,
                             "key_secret": creds.key_secret})
    since = bot.case().state_entered_at
    assert bot.case().state == S.INVITING
    at(bot, since + timedelta(hours=23))
    assert remind(bot) == 0
    at(bot, since + timedelta(hours=24))
    remind(bot)
    remind(bot)
    reminders = replies(bot, 1, "Reminder")
    assert len(reminders) == 1 and "Invitation sent" in body(reminders[0]) and REQUESTER_MENTION in body(reminders[0])

    bot.click(STAFF, ActionId.INVITATION_SENT)
    for elapsed in (timedelta(hours=48), timedelta(hours=72)):
        at(bot, since + elapsed)
        remind(bot)
    assert [m for m in replies(bot, 1, "Reminder") if "Invitation sent" in body(m)] == reminders
