"""The cost of one L1 hit: `KeyCache.resolve` for a key this process already holds.

    python -m bench.l1hit              # 5 runs of 200 000 hits; prints the median ns per hit

This is the per-request cost the key check adds on the hot path once a key is warm. It needs no
servers: the cache is filled once through stand-ins for PostgreSQL and Redis, then every call is
an L1 hit. Timing lives here rather than in the unit suite, where a busy machine makes any
threshold flaky.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from typing import Any

from gateway.apikeys import KeyRecord, generate_key, hash_key
from gateway.config import load_config
from gateway.keycache import KeyCache
from gateway.l2 import Lease


class _OneRow:
    """PostgreSQL as the cache sees it: every key exists (asked once, on the first miss)."""

    async def fetchrow(self, query: str, *args: Any) -> Any:
        return {
            "id": uuid.uuid4(),
            "tenant_id": uuid.uuid4(),
            "revoked": False,
            "expires_at": None,
            "allowed_cidrs": None,
            "read_at": time.time(),
        }


class _EmptyRedis:
    """Redis as the cache sees it: holds nothing, lets this process fill."""

    lease_seconds = 1.0

    async def get_or_lease(self, key_hash: bytes) -> KeyRecord | Lease:
        return Lease.MINE

    async def wait_fill(self, key_hash: bytes) -> KeyRecord | None:
        return None

    async def fill(self, key_hash: bytes, record: KeyRecord, *, leased: bool = False) -> None:
        return None

    async def release(self, key_hash: bytes) -> None:
        return None

    def release_later(self, key_hash: bytes) -> None:
        return None


async def _run(hits: int) -> float:
    cache = KeyCache(load_config({}), _OneRow(), _EmptyRedis())
    cache.down_since = None  # as when the invalidation listener is subscribed
    key_hash = hash_key(generate_key())
    if await cache.resolve(key_hash) is None:
        raise RuntimeError("the warm-up lookup did not fill L1")
    resolve = cache.resolve
    start = time.perf_counter()
    for _ in range(hits):
        await resolve(key_hash)
    elapsed = time.perf_counter() - start
    if cache.stats.l1_hits != hits:
        raise RuntimeError(f"expected {hits} L1 hits, counted {cache.stats.l1_hits}")
    return elapsed / hits * 1e9


def measure(hits: int = 200_000, runs: int = 5) -> float:
    """Median nanoseconds per L1 hit over `runs` runs of `hits` calls."""
    return statistics.median(asyncio.run(_run(hits)) for _ in range(runs))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.l1hit", description=__doc__)
    parser.add_argument("--hits", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"L1 hit: {measure(args.hits, args.runs):.0f} ns (median of {args.runs} runs)")


if __name__ == "__main__":
    main()
