"""Retry policy for idempotent Sinch calls, as two pure functions."""

from __future__ import annotations

from sinch.errors import SinchAPIError, SinchRateLimited, SinchTransportError

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "MAX_RETRY_AFTER",
    "RETRYABLE_STATUSES",
    "should_retry",
    "wait_seconds",
]

# 500/501 are left out on purpose: they usually mean a request Sinch will never accept.
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
BACKOFF_BASE = 0.5  # seconds before the second attempt; doubles each time
BACKOFF_CAP = 8.0  # a Bolt worker thread is waiting: never stall it longer per attempt
# A longer Retry-After would block a worker thread for minutes; fail fast and let the caller's
# scheduler come back later instead.
MAX_RETRY_AFTER = 60.0


def should_retry(exc: BaseException) -> bool:
    """True for errors worth another attempt: transport errors, 429, 502, 503, 504."""
    match exc:
        case SinchTransportError():
            return True
        case SinchRateLimited(retry_after=float() as retry_after) if retry_after > MAX_RETRY_AFTER:
            return False
        case SinchAPIError(status=status):
            return status in RETRYABLE_STATUSES
        case _:
            return False


def wait_seconds(attempt: int, exc: BaseException) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): Retry-After, else capped backoff."""
    if isinstance(exc, SinchRateLimited) and exc.retry_after is not None:
        return min(exc.retry_after, MAX_RETRY_AFTER)
    # Clamp the exponent so a huge attempt number cannot overflow a float.
    return min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** min(max(0, attempt - 1), 32))
