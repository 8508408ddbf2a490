"""Requests-per-minute and tokens-per-minute limiter shared by every request of a run.

Two token buckets refilled continuously at rpm/60 and tpm/60 per second. Their capacity is
one second of budget, so the client never bursts above the rate a provider enforces over
short windows (OpenAI checks its per-minute limits over shorter periods too), and under
saturation the request rate equals the configured limit. A 429 pauses every worker, not
only the one that got it: the limit is per key, so the others would hit it too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class RateLimiter:
    def __init__(self, rpm: float, tpm: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.request_rate = rpm / 60.0
        self.token_rate = tpm / 60.0
        self.request_capacity = max(1.0, self.request_rate)
        self.token_capacity = max(1.0, self.token_rate)
        self._clock = clock
        self._requests = 1.0
        self._tokens = self.token_capacity
        self._last = clock()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._last)
        self._last = now
        self._requests = min(self.request_capacity, self._requests + elapsed * self.request_rate)
        self._tokens = min(self.token_capacity, self._tokens + elapsed * self.token_rate)

    def _wait_time(self, tokens: float, now: float) -> float:
        waits = [self._paused_until - now]
        if self._requests < 1.0:
            waits.append((1.0 - self._requests) / self.request_rate)
        # A request larger than the bucket waits for a full bucket, then drives it negative.
        needed = min(tokens, self.token_capacity)
        if self._tokens < needed:
            waits.append((needed - self._tokens) / self.token_rate)
        return max(waits)

    async def acquire(self, tokens: float) -> None:
        """Waits until one request of about `tokens` tokens fits under both limits (FIFO)."""
        async with self._lock:
            while True:
                now = self._clock()
                self._refill(now)
                wait = self._wait_time(tokens, now)
                if wait <= 0:
                    self._requests -= 1.0
                    self._tokens -= tokens
                    return
                await asyncio.sleep(wait)

    def pause(self, seconds: float) -> None:
        """Stops all requests for `seconds` (a 429's Retry-After) and empties the buckets."""
        now = self._clock()
        self._refill(now)
        self._paused_until = max(self._paused_until, now + seconds)
        self._requests = min(self._requests, 0.0)
        self._tokens = min(self._tokens, 0.0)

    def correct(self, estimated: float, actual: float) -> None:
        """Charges the difference once the response reports the real token usage."""
        self._tokens = min(self.token_capacity, self._tokens + estimated - actual)
