"""Logs an operator can follow a case by: one line per state change (from, to, who) with `onboarding_id`, the
Sinch calls made for a case carrying it too, and a database outage logging one traceback, then one line a failure."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from slack_sdk import WebClient

from bot.background.outbox import OutboxDispatcher
from bot.logs import configure_logging
from store.db import make_engine
from tests.bot.harness import LEAD, REQUESTER, STAFF, BotHarness
from tests.bot.jobs_helpers import invite


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The process's logging as `python -m bot run` configures it with LOG_FORMAT=json, written to a buffer
    instead of stderr (restored afterwards)."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    configure_logging("INFO", "json")
    captured = io.StringIO()
    (handler,) = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(captured)
    yield captured
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved_handlers:
        root.addHandler(handler)
    root.setLevel(saved_level)


def records(stream: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.splitlines() if line.startswith("{")]


def test_each_state_change_is_one_line_with_who_and_sinch_calls_carry_the_case(
        bot: BotHarness, json_log: io.StringIO) -> None:
    invited = invite(bot)
    lines = records(json_log.getvalue())
    changes = [r for r in lines if r["logger"] == "bot.workflow"]
    assert [r["message"] for r in changes] == [
        f"onboarding #{invited.case_id}: new -> awaiting_approval by {REQUESTER} (submit)",
        f"onboarding #{invited.case_id}: awaiting_approval -> creating_project by {LEAD} (approve)",
        f"onboarding #{invited.case_id}: creating_project -> creating_app by {STAFF} (register_project)",
        f"onboarding #{invited.case_id}: creating_app -> inviting by bot (create_app)",
        f"onboarding #{invited.case_id}: inviting -> awaiting_customer by {STAFF} (confirm_invite)",
    ]
    assert all(r["onboarding_id"] == invited.case_id for r in changes)
    sinch = [r for r in lines if str(r["logger"]).startswith("sinch")]
    assert sinch and all(r.get("onboarding_id") == invited.case_id for r in sinch), sinch


def test_a_database_outage_logs_one_traceback_then_one_line_per_failure(
        tmp_path: Path, json_log: io.StringIO) -> None:
    gone = make_engine(f"sqlite:///{tmp_path}/no-such-directory/onboarding.db")  # every connection fails
    dispatcher = OutboxDispatcher(engine=gone, client=WebClient(base_url="http://127.0.0.1:9/"), approvers=(),
                                  clock=lambda: datetime.now(UTC))
    stop = threading.Event()
    failures: list[logging.LogRecord] = []

    class Counter(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            failures.append(record)
            if len(failures) >= 5:
                stop.set()

    counter = Counter(level=logging.ERROR)
    logging.getLogger("bot.background.outbox").addHandler(counter)
    try:
        dispatcher.run(stop, idle_seconds=0.01)
    finally:
        logging.getLogger("bot.background.outbox").removeHandler(counter)
        gone.dispose()
    lines = [r for r in records(json_log.getvalue()) if r["logger"] == "bot.background.outbox"]
    assert len(lines) == len(failures) >= 5  # one line per failed pass
    assert [("exception" in r) for r in lines] == [True] + [False] * (len(lines) - 1)
    assert str(lines[0]["message"]).startswith("outbox delivery pass failed: OperationalError")
    assert str(lines[1]["message"]).startswith("outbox delivery pass failed again (2 in a row): OperationalError")
