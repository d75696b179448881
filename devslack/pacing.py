"""Per-channel token buckets: the fake's model of chat.postMessage's ~1 message/s/channel limit."""

from __future__ import annotations

import math


class TokenBuckets:
    """One bucket per key refilled at `rate` tokens/s up to `burst`; not locked (the state's lock guards it)."""

    def __init__(self, rate: float, burst: int) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str, now: float) -> int | None:
        """Spend one token; when the bucket is empty return the whole seconds until one is back."""
        tokens, last = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + max(0.0, now - last) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return None
        self._buckets[key] = (tokens, now)
        # Slack's Retry-After is whole seconds; never advertise 0, which would invite a hot retry loop.
        return max(1, math.ceil((1.0 - tokens) / self.rate))
