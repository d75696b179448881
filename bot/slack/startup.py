"""Proving the bot token at start without making Slack's availability a condition of starting.

Bolt would call auth.test while the App is built and raise when Slack cannot be reached, so a Slack outage
stopped every restart. The App is built without that call; this check makes it in the background, retrying
with back-off, and /readyz reports Slack as not ready (with the reason) until it answers. Everything else
(the outbox, the sweeps, HTTP) runs meanwhile and catches up by itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web import SlackResponse

__all__ = ["SlackStartupCheck", "SlackStatus"]

logger = logging.getLogger(__name__)

FIRST_RETRY = 0.5  # seconds; doubled after each failed attempt
LAST_RETRY = 30.0
# Slack answered, but refuses the token: retrying cannot help until someone fixes SLACK_BOT_TOKEN.
_TOKEN_REFUSED = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"})


@dataclass(frozen=True)
class SlackStatus:
    ok: bool
    detail: str


class SlackStartupCheck:
    """auth.test until Slack answers; `status()` is /readyz's `slack` check."""

    def __init__(self, client: WebClient, *, first_retry: float = FIRST_RETRY, last_retry: float = LAST_RETRY,
                 on_success: Callable[[SlackResponse], None] | None = None) -> None:
        # A client of its own whose logger stays quiet: slack_sdk logs every failed call at ERROR, which would
        # make two lines per attempt; this class logs the one that says what happens next.
        quiet = logging.getLogger(f"{__name__}.web")
        quiet.setLevel(logging.CRITICAL)
        self._client = WebClient(token=client.token, base_url=client.base_url, timeout=client.timeout, logger=quiet,
                                 retry_handlers=[])
        self._first_retry = first_retry
        self._last_retry = last_retry
        self._status = SlackStatus(False, "not checked yet")
        self._lock = threading.Lock()
        # Told Slack's answer, so Bolt's authorization can use it instead of asking again in a request.
        self._on_success = on_success

    def status(self) -> SlackStatus:
        with self._lock:
            return self._status

    def _set(self, ok: bool, detail: str) -> None:
        with self._lock:
            self._status = SlackStatus(ok, detail)

    def check_once(self) -> bool:
        """The first attempt (at build time, as Bolt's own check was): True when Slack answered."""
        return self._attempt(1, self._first_retry)

    def start(self, stop: threading.Event) -> threading.Thread | None:
        """Unless the first attempt passed, a thread retries until it succeeds or `stop`."""
        if self.status().ok:
            return None
        thread = threading.Thread(target=self._retry, args=(stop,), name="slack-startup-check", daemon=True)
        thread.start()
        return thread

    def _retry(self, stop: threading.Event) -> None:
        delay, attempt = self._first_retry, 1
        while not stop.wait(delay):
            attempt += 1
            delay = min(self._last_retry, delay * 2)
            if self._attempt(attempt, delay):
                return

    def _attempt(self, attempt: int, next_delay: float) -> bool:
        """auth.test once; one log line saying what happened and when the next attempt is."""
        try:
            identity = self._client.auth_test()
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
            if error in _TOKEN_REFUSED:
                self._set(False, f"Slack refuses the bot token ({error})")
                logger.error("Slack refuses the bot token (auth.test: %s, attempt %d): fix SLACK_BOT_TOKEN; "
                             "retrying in %.1fs", error, attempt, next_delay)
            else:
                self._set(False, f"auth.test failed ({error})")
                logger.warning("Slack's auth.test failed (%s, attempt %d): retrying in %.1fs", error, attempt,
                               next_delay)
            return False
        except (OSError, SlackClientError) as exc:
            self._set(False, f"Slack unreachable ({type(exc).__name__})")
            logger.warning("Slack unreachable (auth.test, attempt %d: %s): retrying in %.1fs; /readyz fails "
                           "meanwhile", attempt, type(exc).__name__, next_delay)
            return False
        self._set(True, "auth.test answered")
        if self._on_success is not None:
            self._on_success(identity)
        logger.info("Slack answered auth.test (attempt %d): authenticated as @%s", attempt, identity.get("user"))
        return True
