"""A cache's counters: one typed object, read by name by the metrics code and the tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from time import time


@dataclass(slots=True)
class CacheStats:
    l1_hits: int = 0
    l1_negative_hits: int = 0
    redis_hits: int = 0
    db_hits: int = 0
    db_misses: int = 0
    unavailable: int = 0
    # With a PostgreSQL replica: answers found there, and "none" answers confirmed on the
    # primary (which then count as db_hits or db_misses too).
    replica_hits: int = 0
    replica_misses: int = 0
    invalidations_received: int = 0
    # Wall clock: /metrics compares it across workers.
    last_invalidation: float = field(default_factory=time)
    resubscribes: int = 0
