"""Slack Web API clients: one for listeners, one for background delivery with 429 handling."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.config import Settings
from bot.slack.keepalive import KeepAliveWebClient

__all__ = ["HonouringRateLimitHandler", "make_web_client"]

logger = logging.getLogger(__name__)

POSTS_PACED_BY_THE_OUTBOX = frozenset({"chat.postMessage"})


class HonouringRateLimitHandler(RateLimitErrorRetryHandler):
    """slack_sdk's 429 handler, waiting exactly `Retry-After` through an injectable sleep. The methods in
    `left_to_caller` raise their 429 instead: the outbox paces posts itself, retries included."""

    def __init__(self, *, max_retry_count: int = 5, sleep: Callable[[float], None] = time.sleep,
                 on_wait: Callable[[float], None] | None = None,
                 left_to_caller: frozenset[str] = frozenset()) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._sleep = sleep
        self._on_wait = on_wait
        self._left_to_caller = left_to_caller

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if request.url.rsplit("/", 1)[-1] in self._left_to_caller:
            return False
        return super()._can_retry(state=state, request=request, response=response, error=error)

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:
            raise error  # type: ignore[misc]
        state.next_attempt_requested = True
        retry_after = 1.0
        for name, values in response.headers.items():
            if name.lower() == "retry-after" and values:
                try:
                    retry_after = float(values[0])
                except ValueError:
                    pass
        logger.info("Slack rate limit on %s: waiting %.1fs", request.url.rsplit("/", 1)[-1], retry_after)
        if self._on_wait is not None:
            self._on_wait(retry_after)
        self._sleep(retry_after)
        state.increment_current_attempt()


def make_web_client(
    settings: Settings, *, background: bool, sleep: Callable[[float], None] = time.sleep, **kwargs: Any
) -> KeepAliveWebClient:
    """A WebClient on SLACK_API_URL, on kept-alive connections. Background clients also wait out 429s (never
    before an ack)."""
    handlers: list[RetryHandler]
    if background:
        # No automatic retry on a dropped connection here: Slack may have accepted the post before the
        # connection broke, and a blind resend would post it twice. The outbox keeps such a row "in doubt"
        # and looks for the message (by its metadata) before sending again.
        handlers = [HonouringRateLimitHandler(sleep=sleep, on_wait=kwargs.pop("on_rate_limit", None),
                                              left_to_caller=POSTS_PACED_BY_THE_OUTBOX)]
    else:
        handlers = [ConnectionErrorRetryHandler(max_retry_count=1)]
    return KeepAliveWebClient(
        token=settings.slack_bot_token.reveal(),
        base_url=settings.slack_api_url,
        timeout=kwargs.pop("timeout", 10 if background else 5),
        retry_handlers=handlers,
        **kwargs,
    )
