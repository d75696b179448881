"""Log hygiene: one record is one line, user text cannot forge another, and no body or secret is written.

The hygiene (bot/log_hygiene.py) is installed when the runtime is built, as `python -m bot run` does, and cleans
every record of every logger before any handler sees it. The tests log through our loggers and through
third-party ones, into a real handler with the CLI's format, with generated control characters,
separators, bidi overrides and lone surrogates; and they send `/onboard status <text>` with such characters
through the signed HTTP endpoint, then read the bot's log the way an operator would.
"""

from __future__ import annotations

import functools
import io
import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.log_hygiene import escape_controls, install_log_hygiene
from bot.runtime import make_wsgi_app
from tests.bot.harness import CHANNEL, REQUESTER, BotHarness
from tests.databases import DatabaseServer
from tests.hypothesis_profiles import examples
from tests.security.figures import FIGURES

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"  # the CLI's
LOGGERS = ("bot.slack.error_handler", "slack_bolt.App", "slack_bolt.RequestVerification", "slack_sdk.web.base_client",
           "sinch.session", "waitress", "")
# Characters that end a line in some reader (a terminal, a log shipper splitting on Unicode line breaks),
# move the cursor, reorder what is shown, or cannot be encoded.
DANGEROUS = st.one_of(
    st.characters(min_codepoint=0, max_codepoint=0x1F),
    st.characters(min_codepoint=0x7F, max_codepoint=0x9F),
    st.sampled_from(["\u2028", "\u2029", "\u202e", "\u2066", "\u200f", "\ud800", "\udfff", "\r\n", "\x1b[2J"]),
)
forging_text = st.lists(st.one_of(st.text(max_size=8), DANGEROUS), min_size=1, max_size=12).map("".join)


@functools.cache
def _escape_output() -> frozenset[str]:
    """Every character escape_controls writes for the Basic Multilingual Plane (made once: 63,000 of them)."""
    return frozenset(escape_controls("".join(chr(code) for code in range(0x10000) if not 0xD800 <= code < 0xE000)))


def raw_danger(text: str) -> list[str]:
    """Characters in formatted log output that should have been escaped."""
    escaped = _escape_output()
    return [char for char in text if char not in escaped and escape_controls(char) != char
            or 0xD800 <= ord(char) < 0xE000]


class Capture:
    """A handler on the root logger writing lines as the CLI does."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(logging.Formatter(FORMAT))
        self.handler.setLevel(logging.DEBUG)

    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()


@pytest.fixture
def capture() -> Iterator[Capture]:
    install_log_hygiene()
    root = logging.getLogger()
    previous = root.level
    captured = Capture()
    root.addHandler(captured.handler)
    root.setLevel(logging.DEBUG)
    yield captured
    root.removeHandler(captured.handler)
    root.setLevel(previous)


@settings(max_examples=examples(300), deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(text=forging_text, name=st.sampled_from(LOGGERS), as_argument=st.booleans())
def test_generated_control_characters_never_start_a_line(capture: Capture, text: str, name: str,
                                                         as_argument: bool) -> None:
    before = len(capture.lines())
    logger = logging.getLogger(name)
    if as_argument:
        logger.warning("user typed %r and %s", text, text)
    else:
        logger.warning("user typed " + text.replace("%", "%%"))
    lines = capture.lines()[before:]
    assert len(lines) == 1, lines  # one record, one line, whatever the text
    assert raw_danger(lines[0]) == []
    FIGURES["log forging: generated texts logged"] += 1


def test_escaping_is_reversible_enough_to_read() -> None:
    assert escape_controls("x\nFORGED \x1b[31m\u2028") == "x\\nFORGED \\x1b[31m\\u2028"
    assert escape_controls("Acme Bikes, Zürich 🦄") == "Acme Bikes, Zürich 🦄"


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory, database_server: DatabaseServer) -> Iterator[BotHarness]:
    url = database_server.create(template=database_server.migrated_template())
    harness = BotHarness(tmp_path_factory.mktemp("logs"), database_url=url)
    yield harness
    harness.close()
    database_server.drop(url)


@settings(max_examples=examples(60), deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(forged=forging_text.map(lambda text: text.encode("utf-8", "replace").decode()))  # form bodies are UTF-8
def test_slash_command_text_cannot_forge_a_log_line(bot: BotHarness, capture: Capture, forged: str) -> None:
    """`/onboard status x<forged>\nFORGED …` over the signed HTTP endpoint: the refusal is logged on one line."""
    http = httpx.Client(transport=httpx.WSGITransport(app=make_wsgi_app(bot.app)), base_url="http://bot")
    request = bot.sim.slash_command(REQUESTER, text=f"status x{forged}\nFORGED 2026-01-01 ERROR root: pwned",
                                    channel_id=CHANNEL)
    before = len(capture.lines())
    assert http.post("/slack/events", content=request.body.encode(), headers=request.headers).status_code == 200
    lines = capture.lines()[before:]
    assert any("No onboarding matches" in line for line in lines), lines  # the refusal was logged …
    assert not [line for line in lines if line.startswith("FORGED")]  # … and forged nothing
    assert [char for line in lines for char in raw_danger(line)] == []
    FIGURES["log forging: forged commands sent"] += 1


def test_a_refused_body_is_logged_without_its_content(capture: Capture, tmp_path: Path,
                                                      migrated_database_url: str) -> None:
    """A request that fails the signature check: Bolt logs it at INFO, the body is reduced to its length.
    (A bot built after logging is configured, as in `python -m bot run`: Bolt copies the level then.)"""
    bot = BotHarness(tmp_path, database_url=migrated_database_url)
    body = urlencode({"payload": '{"type":"view_submission","key_secret":"pasted-secret-value-123"}'})
    headers = bot.sim.signed_headers(body, "application/x-www-form-urlencoded", signature_override="v0=" + "0" * 64)
    http = httpx.Client(transport=httpx.WSGITransport(app=make_wsgi_app(bot.app)), base_url="http://bot")
    try:
        assert http.post("/slack/events", content=body.encode(), headers=headers).status_code == 401
    finally:
        bot.close()
    text = capture.stream.getvalue()
    assert "Invalid request signature detected" in text and "body: (redacted" in text
    assert "pasted-secret-value-123" not in text and "payload" not in text.split("body:")[-1]


def test_known_secrets_and_token_shapes_are_redacted(bot: BotHarness, capture: Capture) -> None:
    token, signing = bot.settings.slack_bot_token.reveal(), bot.settings.slack_signing_secret.reveal()
    logging.getLogger("some.library").info("token=%s secret=%s other=xoxp-1-2-3 auth=Bearer abcdefgh123", token,
                                           signing)
    text = capture.stream.getvalue()
    assert token not in text and signing not in text and "xoxp-1-2-3" not in text and "abcdefgh123" not in text
    assert "xoxp-(redacted)" in text and "Bearer (redacted)" in text


def test_socket_mode_envelopes_are_logged_without_their_content(capture: Capture) -> None:
    """slack_sdk's Socket Mode client logs each envelope it receives at DEBUG (not the signature path)."""
    envelope = '{"envelope_id": "1", "payload": {"view": {"state": {"key_secret": "socket-secret-4242"}}}}'
    logging.getLogger("slack_sdk.socket_mode.builtin.client").debug(f"on_message invoked: (message: {envelope})")
    logging.getLogger("slack_sdk.socket_mode.builtin.internals").debug(
        f"Failed to parse a payload (data: {envelope.encode()!r}, error: bad)")
    logging.getLogger("slack_sdk.web").info("error message: invalid_auth")  # plain words stay readable
    text = capture.stream.getvalue()
    assert "socket-secret-4242" not in text and text.count("(redacted, ") == 2
    assert "error message: invalid_auth" in text
