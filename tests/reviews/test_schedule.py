"""ACCESS_REVIEW_SCHEDULE and ACCESS_REVIEW_TIMEZONE: parsing at start-up, and instants across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.config import ConfigError, Settings
from bot.review_schedule import latest_instant, parse_schedule
from tests.bot.test_config import valid_env


def test_default_is_monday_nine_utc() -> None:
    schedule = Settings.from_env(valid_env()).access_review
    assert schedule is not None
    assert (schedule.weekday, schedule.at, schedule.zone.key) == (0, time(9, 0), "UTC")


def test_off_disables_the_review() -> None:
    assert Settings.from_env(valid_env(ACCESS_REVIEW_SCHEDULE="off")).access_review is None


def test_a_zone_and_a_day_are_read() -> None:
    schedule = Settings.from_env(valid_env(ACCESS_REVIEW_SCHEDULE="Friday 16:30",
                                           ACCESS_REVIEW_TIMEZONE="Europe/Berlin")).access_review
    assert schedule is not None and schedule.describe() == "fri 16:30 Europe/Berlin"


@pytest.mark.parametrize(("variable", "value", "words"), [
    ("ACCESS_REVIEW_SCHEDULE", "monday", "like 'mon 09:00'"),
    ("ACCESS_REVIEW_SCHEDULE", "mox 09:00", "not a weekday"),
    ("ACCESS_REVIEW_SCHEDULE", "mon 25:00", "not a time of day"),
    ("ACCESS_REVIEW_SCHEDULE", "mon 09:60", "not a time of day"),
    ("ACCESS_REVIEW_TIMEZONE", "Mars/Olympus", "not an IANA time zone"),
    ("ACCESS_REVIEW_TIMEZONE", "../etc/passwd", "not an IANA time zone"),
])
def test_bad_values_name_the_variable_and_the_problem(variable: str, value: str, words: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(valid_env(**{variable: value}))
    [problem] = raised.value.problems
    assert problem.startswith(f"{variable}: ") and words in problem


def test_both_bad_values_are_named_at_once() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(valid_env(ACCESS_REVIEW_SCHEDULE="weekly", ACCESS_REVIEW_TIMEZONE="Nowhere"))
    assert [problem.split(":")[0] for problem in raised.value.problems] == ["ACCESS_REVIEW_TIMEZONE",
                                                                            "ACCESS_REVIEW_SCHEDULE"]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_latest_instant_is_at_or_before_now() -> None:
    schedule = parse_schedule("mon 09:00", ZoneInfo("UTC"))
    assert schedule is not None
    assert latest_instant(schedule, at("2026-12-07T09:00:00")) == at("2026-12-07T09:00:00")  # Monday, on the dot
    assert latest_instant(schedule, at("2026-12-07T08:59:59")) == at("2026-11-30T09:00:00")
    assert latest_instant(schedule, at("2026-12-10T12:00:00")) == at("2026-12-07T09:00:00")


def test_local_nine_oclock_on_both_sides_of_the_spring_change() -> None:
    # Berlin moves from CET (+1) to CEST (+2) on Sunday 29 March 2026.
    schedule = parse_schedule("mon 09:00", ZoneInfo("Europe/Berlin"))
    assert schedule is not None
    assert latest_instant(schedule, at("2026-03-28T12:00:00")) == at("2026-03-23T08:00:00")
    assert latest_instant(schedule, at("2026-03-30T06:59:00")) == at("2026-03-23T08:00:00")
    assert latest_instant(schedule, at("2026-03-30T07:00:00")) == at("2026-03-30T07:00:00")


def test_autumn_change_and_a_local_day_that_differs_from_the_utc_day() -> None:
    # New York: EDT (-4) until Sunday 1 November 2026, then EST (-5). Sunday 22:00 local is Monday in UTC.
    schedule = parse_schedule("sun 22:00", ZoneInfo("America/New_York"))
    assert schedule is not None
    assert latest_instant(schedule, at("2026-10-26T03:00:00")) == at("2026-10-26T02:00:00")
    assert latest_instant(schedule, at("2026-11-09T02:59:00")) == at("2026-11-02T03:00:00")
    assert latest_instant(schedule, at("2026-11-09T03:00:00")) == at("2026-11-09T03:00:00")
