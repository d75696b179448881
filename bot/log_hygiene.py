"""Log hygiene for every logger in the process: no request bodies, no secrets, one line per record.

Why a record factory and not a handler filter: a filter on our handler does not see records that reach
other handlers (a test's capture, an operator's extra handler), and a filter on a logger does not see its
children's records. Third-party loggers write what we must not keep: when a signature check fails,
`slack_bolt.RequestVerification` logs the whole request body at INFO (a register-project submission
carries a Sinch key secret), and slack_sdk logs request and response bodies at DEBUG. The factory runs
once per record that passes its logger's level, before any handler, for every logger.

Each record's message is rendered, then:
- request and response bodies are replaced by their length (`body: (redacted, 1234 characters)`);
- known secrets (the settings' tokens and keys) and anything shaped like a Slack token or an HTTP
  credential are replaced by `(redacted)`;
- control characters, line and paragraph separators, bidi overrides and lone surrogates are written as
  escapes (`\\n`, `\\x1b`, `\\u2028`), so text a user typed (`/onboard status x\\nFORGED …`) can neither
  start a forged log line nor break the handler's encoding.
A traceback keeps its line breaks, but goes through the same redaction.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["LogHygiene", "escape_controls", "install_log_hygiene"]

_MAX_REMEMBERED = 64  # secret sets from the most recent runtimes (tests build many in one process)
_MIN_SECRET = 8  # shorter values would redact ordinary words

# `body: …`, `request body: …`, `body_params: …`, `json_body: …` up to the next field slack_sdk writes
# after it (`, files:`, `, headers:`, `, error:`), or to the end of the message (Bolt: `…, body: <raw body>)`).
# Socket Mode logs whole envelopes as `message: {…}` or `data: b'…'` at DEBUG: those count when structured.
_BODY = re.compile(r"(\b(?:body|body_params|json_body|payload)\s*[:=]\s*"
                   r"|\b(?:message|data)\s*[:=]\s*(?=[\[{'\"]|b'))(.+?)"
                   r"(?=, (?:files|json_body|headers|error)\s*:|\)?\Z)", re.DOTALL)
_CREDENTIALS = re.compile(
    r"\bxox[a-z]-[A-Za-z0-9-]+"  # Slack bot, user and refresh tokens
    r"|\bxapp-[A-Za-z0-9-]+"  # Slack app-level tokens (Socket Mode)
    r"|\b(?:Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}",  # HTTP credentials copied from a header
)


def _escape_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in (*range(0x20), *range(0x7F, 0xA0)):
        table[code] = {0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}.get(code, f"\\x{code:02x}")
    for code in (0x2028, 0x2029, 0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)):
        table[code] = f"\\u{code:04x}"
    for code in range(0xD800, 0xE000):  # a lone surrogate cannot be encoded: the handler would fail
        table[code] = f"\\u{code:04x}"
    return table


_ESCAPES = _escape_table()


def escape_controls(text: str) -> str:
    """`text` on one line, with every control, separator, bidi override and surrogate written as an escape."""
    return text.translate(_ESCAPES)


class LogHygiene:
    """What to take out of log records: bodies, credential shapes, and these known secret values."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._remembered: dict[tuple[str, ...], None] = {}
        self._secrets: tuple[str, ...] = ()

    def remember(self, secrets: Iterable[str]) -> None:
        """Redact these values from now on (the most recent runtimes' sets are kept)."""
        values = tuple(sorted({value for value in secrets if len(value) >= _MIN_SECRET}))
        if not values:
            return
        with self._lock:
            self._remembered.pop(values, None)
            self._remembered[values] = None
            while len(self._remembered) > _MAX_REMEMBERED:
                del self._remembered[next(iter(self._remembered))]
            # Longest first, so a secret that contains another is redacted whole.
            known = {value for group in self._remembered for value in group}
            self._secrets = tuple(sorted(known, key=len, reverse=True))

    def redact(self, text: str) -> str:
        """Bodies, credential shapes and known secrets replaced; line breaks kept."""
        text = _BODY.sub(lambda found: f"{found.group(1)}(redacted, {len(found.group(2))} characters)", text)
        text = _CREDENTIALS.sub(_credential_kind, text)
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "(redacted)")
        return text

    def clean(self, record: logging.LogRecord) -> None:
        """Render the record's message now, cleaned, so no handler or formatter sees the raw one."""
        try:
            message = record.getMessage()
        except Exception:  # a library's bad format string: keep what there is rather than lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = escape_controls(self.redact(message))
        record.args = None
        if record.exc_info and not record.exc_text:
            traceback_text = logging.Formatter().formatException(record.exc_info)
            lines = (escape_controls(line) for line in self.redact(traceback_text).split("\n"))
            record.exc_text = "\n".join(lines)


def _credential_kind(found: re.Match[str]) -> str:
    """`xoxb-1-abc` -> `xoxb-(redacted)`, `Bearer abc` -> `Bearer (redacted)`: the kind stays readable."""
    credential = found.group()
    if " " in credential:
        return credential.split()[0] + " (redacted)"
    return credential.split("-", 1)[0] + "-(redacted)"


_install_lock = threading.Lock()


def install_log_hygiene(secrets: Iterable[str] = ()) -> LogHygiene:
    """Clean every log record from now on (idempotent); also redact `secrets`. Returns the active instance."""
    with _install_lock:
        factory = logging.getLogRecordFactory()
        hygiene: LogHygiene | None = getattr(factory, "hygiene", None)
        if hygiene is None:
            hygiene = LogHygiene()
            logging.setLogRecordFactory(_cleaning_factory(factory, hygiene))
    hygiene.remember(secrets)
    return hygiene


def _cleaning_factory(make: Callable[..., logging.LogRecord], hygiene: LogHygiene) -> Callable[..., logging.LogRecord]:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        hygiene.clean(record)
        return record

    factory.hygiene = hygiene  # type: ignore[attr-defined]
    return factory
