"""The fake Slack's request log, injected faults and chat.postMessage pacing (a part of FakeSlackState)."""

from __future__ import annotations

import threading

from devslack.models import Fault, JsonDict, RecordedCall
from devslack.pacing import TokenBuckets


class CallRecorder:
    """Recording and fault injection for FakeSlackState; it relies on the state's lock and clock."""

    lock: threading.RLock
    calls: list[RecordedCall]
    faults: list[Fault]
    _post_limiter: TokenBuckets | None

    def now(self) -> float:
        raise NotImplementedError

    def record_call(
        self, method: str, params: JsonDict, *, status: int, error: str | None, at: float | None = None
    ) -> RecordedCall:
        """Append a call to the request log (the token never reaches the log)."""
        params = {k: v for k, v in params.items() if k != "token"}
        call = RecordedCall(method, params, self.now() if at is None else at, status, error)
        with self.lock:
            self.calls.append(call)
        return call

    def calls_to(self, method: str) -> list[RecordedCall]:
        """Recorded calls to one Web API method, oldest first."""
        with self.lock:
            return [c for c in self.calls if c.method == method]

    def add_fault(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int | None = 1,
        error: str = "ratelimited",
        count: int = 1,
        latency_ms: int = 0,
    ) -> Fault:
        """Make the next `count` calls to `method` ('*' for any) fail with `status` and `error`."""
        fault = Fault(method, status, retry_after, error, count, latency_ms)
        with self.lock:
            self.faults.append(fault)
        return fault

    def take_fault(self, method: str) -> Fault | None:
        """Consume one use of the first pending fault matching `method`."""
        with self.lock:
            for fault in self.faults:
                if fault.count > 0 and fault.method in (method, "*"):
                    fault.count -= 1
                    return fault
            self.faults = [f for f in self.faults if f.count > 0]
            return None

    def enable_post_rate_limit(self, per_channel_per_second: float = 1.0, burst: int = 3) -> None:
        """Answer 429 to chat.postMessage when a channel outruns a token bucket (rate, burst)."""
        limiter = TokenBuckets(per_channel_per_second, burst)
        with self.lock:
            self._post_limiter = limiter

    def disable_post_rate_limit(self) -> None:
        """Turn the chat.postMessage rate limiter off."""
        with self.lock:
            self._post_limiter = None

    def take_post_slot(self, channel: str) -> int | None:
        """Spend one post from the channel's bucket; return Retry-After seconds when it is empty."""
        with self.lock:
            return None if self._post_limiter is None else self._post_limiter.take(channel, self.now())

