"""LOG_FORMAT=json: one JSON object per line, the onboarding id in its own field; Alembic quiet at INFO."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

from bot.logs import JsonFormatter

ROOT = Path(__file__).resolve().parents[2]


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("bot.background.jobs", logging.WARNING, __file__, 1, message, args, None)
    made.__dict__.update(extra)
    return made


def test_a_line_is_one_json_object_carrying_the_onboarding_id() -> None:
    line = JsonFormatter().format(record("onboarding #%s: polling Sinch failed: %s", 42, "timeout\nsecond line"))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["onboarding_id"] == 42 and entry["level"] == "WARNING" and entry["logger"] == "bot.background.jobs"
    assert entry["message"] == "onboarding #42: polling Sinch failed: timeout\nsecond line"


def test_an_explicit_onboarding_id_wins_and_lines_without_one_have_none() -> None:
    assert json.loads(JsonFormatter().format(record("card posted", onboarding_id=7)))["onboarding_id"] == 7
    assert "onboarding_id" not in json.loads(JsonFormatter().format(record("scheduler started")))


def test_migrate_logs_json_lines_without_alembic_chatter(tmp_path: Path, database_url: str) -> None:
    result = subprocess.run([sys.executable, "-m", "bot", "--log-level", "INFO", "migrate"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "LOG_FORMAT": "json",
                                 "DATABASE_URL": database_url})
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert all(json.loads(line)["level"] for line in lines)
    assert not any(json.loads(line)["logger"].startswith("alembic") for line in lines)
