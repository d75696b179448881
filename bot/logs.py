"""Logging set-up for the command line: plain text or, with LOG_FORMAT=json, one JSON object per line.

Either way every record first goes through the log hygiene (bot/log_hygiene.py): no request bodies, no
secrets, control characters escaped.

The onboarding a line is about goes in its own field (`onboarding_id`): from `extra={"onboarding_id": …}`
when the caller passes it, else from the "onboarding #N" the bot's messages already carry.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime

from bot.log_context import CaseFilter
from bot.log_hygiene import install_log_hygiene

__all__ = ["JsonFormatter", "configure_logging"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_ONBOARDING_REF = re.compile(r"\bonboarding #(\d+)\b", re.IGNORECASE)
# Libraries whose INFO lines say nothing an operator acts on (Alembic announces its context at every start).
QUIET_AT_INFO = ("alembic", "apscheduler.scheduler", "apscheduler.executors.default")


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", "onboarding_id"?, "exception"?}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        }
        onboarding_id = getattr(record, "onboarding_id", None)
        if onboarding_id is None and (found := _ONBOARDING_REF.search(message)):
            onboarding_id = int(found.group(1))
        if onboarding_id is not None:
            entry["onboarding_id"] = onboarding_id
        if record.exc_info:
            # exc_text is the traceback as the log hygiene cleaned it (secrets redacted).
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str, log_format: str = "text", *, secrets: Iterable[str] = ()) -> None:
    """Root logging for one process; LOG_FORMAT is "text" (default) or "json". `secrets` are redacted."""
    if log_format not in ("text", "json"):
        raise ValueError(f"LOG_FORMAT must be text or json, not {log_format!r}")
    install_log_hygiene(secrets)  # before anything logs: it cleans every record, whatever the handler
    handler = logging.StreamHandler()
    handler.addFilter(CaseFilter())  # onboarding_id on lines logged while working on one case
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    if root.level >= logging.INFO:
        for name in QUIET_AT_INFO:
            logging.getLogger(name).setLevel(logging.WARNING)
