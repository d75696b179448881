"""store.payloads: a frozen dataclass goes into the outbox as JSON and comes back as itself."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import ClassVar

import pytest

from store import payloads


class Colour(StrEnum):
    RED = "red"


@dataclass(frozen=True)
class Sample:
    tag: ClassVar[str] = "sample"
    name: str
    count: int
    flag: bool
    colour: Colour
    at: datetime
    wait: timedelta | None = None
    who: tuple[str, ...] = ()
    note: str | None = None


AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_a_payload_round_trips_with_its_tag() -> None:
    value = Sample(name="x", count=3, flag=True, colour=Colour.RED, at=AT, wait=timedelta(hours=2), who=("U1",))
    text = payloads.encode(value)
    assert json.loads(text)["type"] == "sample"
    assert payloads.decode(text, {"sample": Sample}) == value
    assert payloads.tag_of(text) == "sample"


def test_unknown_keys_are_ignored_and_missing_defaults_filled() -> None:
    text = json.dumps({"type": "sample", "name": "x", "count": 1, "flag": False, "colour": "red",
                       "at": AT.isoformat(), "legacy": "whatever"})
    assert payloads.decode(text, {"sample": Sample}) == Sample(name="x", count=1, flag=False, colour=Colour.RED,
                                                               at=AT)


@pytest.mark.parametrize("text", [
    "not json", "[]", json.dumps({"type": "other"}), json.dumps({"type": "sample", "name": "x"}),
    json.dumps({"type": "sample", "name": "x", "count": "3", "flag": False, "colour": "red", "at": AT.isoformat()}),
    json.dumps({"type": "sample", "name": "x", "count": 3, "flag": False, "colour": "blue", "at": AT.isoformat()}),
])
def test_a_payload_that_does_not_fit_is_refused_clearly(text: str) -> None:
    with pytest.raises(payloads.PayloadError):
        payloads.decode(text, {"sample": Sample})


def test_no_payload_is_an_empty_object() -> None:
    assert payloads.encode(None) == "{}"
