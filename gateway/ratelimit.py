"""Per-key rate limit (SPEC §2 step 5): a token bucket per API key, in this process.

Each process limits on its own: with N workers behind SO_REUSEPORT a key gets up to N times the
configured rate in the worst case. That is the documented trade-off for not adding a Redis round
trip to every ingest request.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable

from gateway.config import Config

# Buckets of keys that went quiet are dropped once the table grows past this: a full bucket
# carries no information, so dropping it changes nothing a sender can see.
_PRUNE_AT = 10_000


class RateLimiter:
    """`take(key)` -> 0.0 when allowed, else the seconds until a token is available."""

    __slots__ = ("_buckets", "_burst", "_clock", "_rate")

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = rate
        self._burst = float(burst or max(1, math.ceil(rate)))
        self._clock = clock
        self._buckets: dict[Hashable, list[float]] = {}

    @classmethod
    def from_config(cls, config: Config) -> RateLimiter | None:
        if config.rate_limit <= 0:
            return None
        return cls(config.rate_limit, config.rate_limit_burst)

    def take(self, key: Hashable) -> float:
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= _PRUNE_AT:
                self._prune(now)
            self._buckets[key] = [self._burst - 1.0, now]
            return 0.0
        tokens = min(self._burst, bucket[0] + (now - bucket[1]) * self._rate)
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return 0.0
        bucket[0] = tokens
        return (1.0 - tokens) / self._rate

    def _prune(self, now: float) -> None:
        full = [
            key
            for key, (tokens, seen) in self._buckets.items()
            if tokens + (now - seen) * self._rate >= self._burst
        ]
        for key in full:
            del self._buckets[key]


def retry_after(wait: float) -> str:
    """Whole seconds, at least 1 (RFC 9110 delay-seconds)."""
    return str(max(1, math.ceil(wait)))
