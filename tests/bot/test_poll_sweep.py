"""The poll sweep against the real runtime, the fake Slack and the Sinch sandbox, on an injected clock.

Cases are driven through Slack (signed requests) up to the invitation; then the tests call the sweeps
the scheduler would call, at chosen clock times, and look at what reached the fake Slack and the database.
Nothing sleeps: the bot's clock and the sandbox's clock are moved by hand.
"""


from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.slack.ids import ActionId
from sinch import SinchClient
from sinch.sandbox import endpoints_for
from store.limits import column_length
from store.models import AuditEvent, Onboarding
from store.states import OnboardingState as S
from tests.bot.harness import LEAD, SANDBOX, STAFF, BotHarness
from tests.bot.jobs_helpers import (
    REQUESTER_MENTION,
    app_reads,
    at,
    body,
    fail_reads_of,
    invite,
    invited_at_of,
    next_poll_of,
    replies,
    sweep,
)

# -- the poll cadence ------------------------------------------------------------------------------


def test_polls_every_minute_for_the_first_hour_then_every_five_minutes_for_a_day_then_every_half_hour(
        bot: BotHarness) -> None:
    case = invite(bot)
    invited_at = invited_at_of(bot, case.case_id)
    assert invited_at is not None
    expected = [  # time since the invite -> interval until the next poll
        (timedelta(0), timedelta(minutes=1)),
        (timedelta(minutes=1), timedelta(minutes=1)),
        (timedelta(minutes=59), timedelta(minutes=1)),
        (timedelta(hours=1), timedelta(minutes=5)),
        (timedelta(hours=23, minutes=59), timedelta(minutes=5)),
        (timedelta(days=1, minutes=4), timedelta(minutes=30)),
        (timedelta(days=2), timedelta(minutes=30)),
    ]
    for since_invite, interval in expected:
        at(bot, invited_at + since_invite)
        reads = app_reads(bot)
        assert sweep(bot).polled == 1, since_invite
        assert app_reads(bot) == reads + 1
        assert bot.case(case.case_id).next_poll_at == bot.clock.now + interval, since_invite


def test_a_sweep_before_the_next_poll_is_due_leaves_sinch_alone(bot: BotHarness) -> None:
    case = invite(bot)
    sweep(bot)
    due = bot.case(case.case_id).next_poll_at
    reads = app_reads(bot)
    bot.clock.advance(seconds=59)
    assert sweep(bot).polled == 0
    assert (app_reads(bot), bot.case(case.case_id).next_poll_at) == (reads, due)


# -- status changes -------------------------------------------------------------------------------


def test_pending_then_active_are_each_posted_once_however_often_the_sweep_runs(bot: BotHarness) -> None:
    case = invite(bot)
    sweep(bot)
    assert bot.case(case.case_id).state == S.AWAITING_CUSTOMER
    assert len(bot.thread(case.case_id)) == 9  # nothing polled has been posted yet: NOT_CONNECTED is no news

    bot.sandbox.connect_page(case.project_id, case.app_id, delay_seconds=600)
    for _ in range(4):  # the sandbox keeps saying PENDING until its clock passes the delay
        bot.clock.advance(minutes=1)
        sweep(bot)
    assert bot.case(case.case_id).state == S.ACTIVATING
    assert len(replies(bot, case.case_id, "Messenger channel PENDING")) == 1

    bot.sandbox_time += 600
    bot.clock.advance(minutes=1)
    sweep(bot)
    # ACTIVE moves straight on to removing the customer's access, with the step posted in the same sweep.
    assert bot.case(case.case_id).state == S.REVOKING
    assert len(replies(bot, case.case_id, "Messenger channel ACTIVE")) == 1
    revoke_step = bot.message_with(ActionId.ACCESS_REMOVED, case.case_id)
    assert "Remove the customer's access now" in body(revoke_step)

    thread_length, reads = len(bot.thread(case.case_id)), app_reads(bot)
    for _ in range(3):
        bot.clock.advance(minutes=1)
        sweep(bot)
    assert (len(bot.thread(case.case_id)), app_reads(bot)) == (thread_length, reads), "REVOKING is not polled"
    assert len(replies(bot, case.case_id, "Messenger channel PENDING")) == 1
    assert len(replies(bot, case.case_id, "Messenger channel ACTIVE")) == 1


def test_failing_is_alerted_with_sinchs_description_once_and_the_recovery_is_posted(bot: BotHarness) -> None:
    case = invite(bot)
    description = "The Page access token could not be validated: token expired"
    bot.sandbox.connect_page(case.project_id, case.app_id, outcome="FAILING", description=description)
    for _ in range(5):
        bot.clock.advance(minutes=1)
        sweep(bot)
    stored = bot.case(case.case_id)
    assert (stored.state, stored.channel_description) == (S.FAILING, description)
    alerts = replies(bot, case.case_id, "Messenger channel failing")
    assert len(alerts) == 1
    assert description in body(alerts[0]) and REQUESTER_MENTION in body(alerts[0])

    # The customer reconnects: Sinch says PENDING again, then ACTIVE.
    bot.sandbox.connect_page(case.project_id, case.app_id, outcome="ACTIVE", delay_seconds=300)
    for _ in range(3):
        bot.clock.advance(minutes=1)
        sweep(bot)
    assert bot.case(case.case_id).state == S.ACTIVATING
    assert len(replies(bot, case.case_id, "Messenger channel recovered")) == 1
    bot.sandbox_time += 300
    bot.clock.advance(minutes=1)
    sweep(bot)
    assert bot.case(case.case_id).state == S.REVOKING
    assert len(replies(bot, case.case_id, "Messenger channel failing")) == 1
    assert len(replies(bot, case.case_id, "Messenger channel ACTIVE")) == 1


def test_a_description_longer_than_its_column_is_kept_cut_and_alerted_once(bot: BotHarness) -> None:
    """Sinch's text is not ours to bound: it is stored cut to the column (PostgreSQL would refuse it whole),
    and a description that had to be cut does not count as a new one on every poll."""
    case = invite(bot)
    description = "The Page access token could not be validated. " * 100
    bot.sandbox.connect_page(case.project_id, case.app_id, outcome="FAILING", description=description)
    for _ in range(5):
        bot.clock.advance(minutes=1)
        sweep(bot)
    stored = bot.case(case.case_id)
    assert stored.state == S.FAILING and stored.channel_description is not None
    assert len(stored.channel_description) == column_length(Onboarding, "channel_description") < len(description)
    assert description.startswith(stored.channel_description.removesuffix("…"))
    assert len(replies(bot, case.case_id, "Messenger channel failing")) == 1
    assert all(len(event.detail) <= column_length(AuditEvent, "detail") for event in bot.events(case.case_id))


# -- Sinch errors ---------------------------------------------------------------------------------


def test_429_500_a_dropped_connection_and_a_malformed_body_back_off_only_their_own_case(bot: BotHarness) -> None:
    limited, broken, dropped, garbled, healthy, also_healthy = (
        invite(bot, name) for name in ("Limited Co", "Broken Co", "Dropped Co", "Garbled Co", "Fine Co", "Good Co"))
    fail_reads_of(bot, limited.app_id, status=429, retry_after=45)
    fail_reads_of(bot, broken.app_id, status=500)
    fail_reads_of(bot, dropped.app_id, drop=True)
    fail_reads_of(bot, garbled.app_id, body="{not json")
    for case in (healthy, also_healthy):
        bot.sandbox.connect_page(case.project_id, case.app_id)

    report = sweep(bot)

    now = bot.clock.now
    assert (report.polled, report.failed, report.changed) == (6, 4, 2)
    for case in (healthy, also_healthy):
        assert bot.case(case.case_id).state == S.ACTIVATING
        assert len(replies(bot, case.case_id, "Messenger channel PENDING")) == 1
        assert bot.case(case.case_id).next_poll_at == now + timedelta(minutes=1)
    # Sinch's Retry-After decides when the rate-limited case is read again; the others double their interval.
    assert bot.case(limited.case_id).next_poll_at == now + timedelta(seconds=45)
    for case in (broken, dropped, garbled):
        assert bot.case(case.case_id).next_poll_at == now + timedelta(minutes=2)
    for case in (limited, broken, dropped, garbled):
        stored = bot.case(case.case_id)
        assert (stored.state, stored.poll_failures, stored.poll_alerted) == (S.AWAITING_CUSTOMER, 1, False)
        assert len(bot.thread(case.case_id)) == 9, "one failure is not worth a message"

    # The faults were one-offs: the next sweep at the due time reads every case normally.
    at(bot, now + timedelta(minutes=2))
    report = sweep(bot)
    assert (report.polled, report.failed) == (6, 0)
    assert all(bot.case(case.case_id).poll_failures == 0 for case in (limited, broken, dropped, garbled))


def test_after_repeated_failures_the_thread_gets_one_note_and_later_one_recovered_note(bot: BotHarness) -> None:
    case = invite(bot)
    other = invite(bot, "Other Co")
    fail_reads_of(bot, case.app_id, status=500, count=-1)
    alert_after = bot.settings.timers.poll_failure_alert_after
    intervals = []
    for attempt in range(1, alert_after + 3):
        at(bot, next_poll_of(bot, case.case_id))
        sweep(bot)
        stored = bot.case(case.case_id)
        intervals.append(next_poll_of(bot, case.case_id) - bot.clock.now)
        notes = replies(bot, case.case_id, "Cannot reach Sinch")
        assert len(notes) == (1 if attempt >= alert_after else 0), attempt
    assert stored.poll_failures == alert_after + 2
    assert f"{alert_after} tries in a row" in body(notes[0]) and "500" in body(notes[0])
    assert intervals == [timedelta(minutes=m) for m in (2, 4, 8, 16, 30)], "doubling, capped at the slow interval"
    assert replies(bot, other.case_id, "Cannot reach Sinch") == [], "the other case was never affected"

    bot.sandbox.clear_faults()
    for _ in range(3):
        at(bot, next_poll_of(bot, case.case_id))
        sweep(bot)
    stored = bot.case(case.case_id)
    assert (stored.poll_failures, stored.poll_alerted) == (0, False)
    assert len(replies(bot, case.case_id, "Sinch reachable")) == 1
    assert len(replies(bot, case.case_id, "Cannot reach Sinch")) == 1


def test_an_app_sinch_created_despite_an_error_answer_is_found_by_the_sweep_not_created_twice(bot: BotHarness) -> None:
    bot.submit_intake()
    bot.click(LEAD, ActionId.APPROVE)
    creds = bot.sandbox.create_project("Acme Bikes", "eu")
    # The create goes out once and gets a 503; Sinch may still have made the app (here it did, by hand).
    bot.sandbox.add_fault("/apps$", method="POST", status=503)
    bot.click(STAFF, ActionId.REGISTER_PROJECT)
    bot.submit_modal(STAFF, {"project_id": creds.project_id, "key_id": creds.key_id,
                             "key_secret": creds.key_secret})
    assert bot.case().state == S.CREATING_APP
    with SinchClient.create(endpoints=endpoints_for(SANDBOX), transport=bot.sandbox_transport) as other:
        made = other.apps.create(creds, display_name="Acme Bikes - Messenger")

    bot.clock.advance(minutes=10)
    report = sweep(bot)

    assert report.apps_resumed == 1
    case = bot.case()
    assert (case.state, case.app_id) == (S.INVITING, made.id)
    assert [app["id"] for app in bot.sandbox.state()["apps"]["eu"]] == [made.id]
    assert len(replies(bot, 1, "App created")) == 1 and "found" in body(replies(bot, 1, "App created")[0])


# -- bounded concurrency --------------------------------------------------------------------------


class InFlightGauge:
    """WSGI middleware in front of the sandbox: counts the API requests being served at the same time.

    Once armed, the first requests wait (on a condition, not a timer) until `expected` of them are in
    flight together, so the pool is seen at its full width; after that requests pass straight through.
    At that moment it also notes the bot's poll worker threads: if they are all held here, no other
    request can be on its way.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Condition()
        self.in_flight = 0
        self.peak = 0
        self.served = 0
        self.expected: int | None = None
        self.saturated = False
        self.workers_when_saturated: list[str] = []

    def arm(self, expected: int) -> None:
        with self.lock:
            self.expected, self.peak, self.served, self.saturated = expected, 0, 0, False

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.expected is None or environ["PATH_INFO"].startswith("/_sandbox"):
            return self.app(environ, start_response)
        with self.lock:
            self.in_flight += 1
            self.served += 1
            self.peak = max(self.peak, self.in_flight)
            if not self.saturated and self.in_flight >= self.expected:
                self.saturated = True
                self.workers_when_saturated = sorted(
                    thread.name for thread in threading.enumerate() if thread.name.startswith("poll"))
                self.lock.notify_all()
            self.lock.wait_for(lambda: self.saturated, timeout=10)
        try:
            return list(self.app(environ, start_response))
        finally:
            with self.lock:
                self.in_flight -= 1


def test_twenty_due_cases_are_polled_with_at_most_the_configured_number_of_requests_in_flight(
        tmp_path: Path, migrated_database_url: str) -> None:
    gauge: InFlightGauge | None = None

    def wrap(app: Callable[..., Iterable[bytes]]) -> InFlightGauge:
        nonlocal gauge
        gauge = InFlightGauge(app)
        return gauge

    bot = BotHarness(tmp_path, database_url=migrated_database_url, wrap_sandbox=wrap, POLL_CONCURRENCY="3")
    try:
        cases = [invite(bot, f"Customer {number}") for number in range(20)]
        assert gauge is not None
        gauge.arm(expected=3)
        report = sweep(bot)
        assert report.polled == 20 and report.failed == 0
        assert gauge.served == 20, "one status read per case (tokens are cached)"
        assert gauge.saturated, "three polls never ran side by side"
        assert gauge.peak == 3
        assert len(gauge.workers_when_saturated) == 3, "with three requests held, no other poll worker existed"
        assert all(bot.case(case.case_id).next_poll_at == bot.clock.now + timedelta(minutes=1) for case in cases)
    finally:
        bot.close()


class SlowSinch:
    """WSGI middleware: every Sinch API request takes `step` of the bot's (injected) clock."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.clock: Any = None
        self.step = timedelta(0)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.clock is not None and not environ["PATH_INFO"].startswith("/_sandbox"):
            self.clock.advance(seconds=self.step.total_seconds())
        return self.app(environ, start_response)


def test_the_time_a_poll_takes_does_not_stretch_the_cadence_by_a_sweep(tmp_path: Path, migrated_database_url: str,
                                                                     ) -> None:
    slow: SlowSinch | None = None

    def wrap(app: Callable[..., Iterable[bytes]]) -> SlowSinch:
        nonlocal slow
        slow = SlowSinch(app)
        return slow

    bot = BotHarness(tmp_path, database_url=migrated_database_url, wrap_sandbox=wrap)
    try:
        invite(bot)
        assert slow is not None
        slow.clock, slow.step = bot.clock, timedelta(seconds=2)
        start, sweep_every = bot.clock.now, bot.settings.timers.sweep_interval
        polled_at = []
        for number in range(17):  # the scheduler's sweeps, at a fixed rate, for four minutes
            at(bot, start + number * sweep_every)
            reads = app_reads(bot)
            sweep(bot)
            if app_reads(bot) > reads:
                polled_at.append(number * sweep_every)
        assert polled_at == [timedelta(minutes=minutes) for minutes in range(5)]
    finally:
        bot.close()


class BreaksOneStatusRead:
    """WSGI middleware: once armed, the next status read raises inside the app, as a bug would (the
    in-process transport hands the exception to the caller instead of an HTTP answer)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.armed = False

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.armed and environ["REQUEST_METHOD"] == "GET" and "/apps/" in environ["PATH_INFO"]:
            self.armed = False
            raise RuntimeError("an unexpected failure while polling")
        return self.app(environ, start_response)


def test_a_poll_that_fails_unexpectedly_is_tried_again_by_the_next_sweep(tmp_path: Path,
                                                                          migrated_database_url: str) -> None:
    breaker: BreaksOneStatusRead | None = None

    def wrap(app: Callable[..., Iterable[bytes]]) -> BreaksOneStatusRead:
        nonlocal breaker
        breaker = BreaksOneStatusRead(app)
        return breaker

    bot = BotHarness(tmp_path, database_url=migrated_database_url, wrap_sandbox=wrap)
    try:
        case = invite(bot)
        assert breaker is not None
        breaker.armed = True
        assert sweep(bot).failed == 1
        reads = app_reads(bot)
        # Not held for LEASE_TTL (30 s): the sweep a second later polls the case again.
        bot.clock.advance(seconds=1)
        report = sweep(bot)
        assert (report.polled, report.failed) == (1, 0)
        assert app_reads(bot) == reads + 1
        assert bot.case(case.case_id).work_lease_owner is None
    finally:
        bot.close()
