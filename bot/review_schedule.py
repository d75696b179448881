"""The access review's weekly schedule (ACCESS_REVIEW_SCHEDULE in ACCESS_REVIEW_TIMEZONE): parsing and instants.

Pure: no I/O, no clock. A wall-clock time in a real zone, so a review set for Monday 09:00 in Europe/Berlin
goes out at 09:00 local time on both sides of a daylight-saving change (08:00 UTC in winter, 07:00 in summer).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["OFF", "WEEKDAYS", "WeeklySchedule", "latest_instant", "parse_schedule", "parse_zone"]

OFF = "off"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SCHEDULE = re.compile(r"^\s*([A-Za-z]{3})[A-Za-z]*\s+(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class WeeklySchedule:
    """Once a week on `weekday` (0 = Monday) at `at`, wall-clock time in `zone`."""

    weekday: int
    at: time
    zone: ZoneInfo

    def describe(self) -> str:
        """`mon 09:00 Europe/Berlin`, for logs and the check command."""
        return f"{WEEKDAYS[self.weekday]} {self.at:%H:%M} {self.zone.key}"


def parse_zone(text: str) -> ZoneInfo:
    """An IANA zone such as `Europe/Berlin` or `UTC`; ValueError naming the problem otherwise."""
    name = text.strip()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone (examples: UTC, Europe/Berlin, "
                         "America/New_York)") from None


def parse_schedule(text: str, zone: ZoneInfo) -> WeeklySchedule | None:
    """`mon 09:00` (a weekday and a 24-hour time) or `off` (None); ValueError naming the problem otherwise."""
    if text.strip().lower() == OFF:
        return None
    match = _SCHEDULE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a weekday and a time like 'mon 09:00' (or 'off' to disable)")
    day, hour, minute = match.group(1).lower(), int(match.group(2)), int(match.group(3))
    if day not in WEEKDAYS:
        raise ValueError(f"{match.group(1)!r} is not a weekday (mon, tue, wed, thu, fri, sat, sun)")
    if hour > 23 or minute > 59:
        raise ValueError(f"{hour:02d}:{minute:02d} is not a time of day (00:00 to 23:59)")
    return WeeklySchedule(weekday=WEEKDAYS.index(day), at=time(hour, minute), zone=zone)


def _instant(schedule: WeeklySchedule, day: date) -> datetime:
    # A wall time the clocks skip (a spring-forward gap) resolves with the offset before the change, as
    # zoneinfo does; a repeated one (autumn) takes its first occurrence (fold=0).
    return datetime.combine(day, schedule.at, tzinfo=schedule.zone).astimezone(UTC)


def latest_instant(schedule: WeeklySchedule, now: datetime) -> datetime:
    """The last scheduled instant at or before `now` (UTC)."""
    local_day = now.astimezone(schedule.zone).date()
    day = local_day - timedelta(days=(local_day.weekday() - schedule.weekday) % 7)
    instant = _instant(schedule, day)
    if instant > now:
        instant = _instant(schedule, day - timedelta(days=7))
    return instant
