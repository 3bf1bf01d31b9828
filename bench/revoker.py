"""Scenario 4's side traffic: revoke keys through the admin API while the load runs.

Revocations go the way a tenant's would (DELETE /api/v1/apikeys/{id} with a bearer token), spread
evenly over the run; the load keeps sending the revoked keys, so 401s are correct answers. The
propagation figure (how soon every process rejects a revoked key) is bench/revocation.py's
job; `measure_propagation` runs it once per matrix, against the bench's stores.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from bench.scenarios import REVOCATIONS, Material
from gateway.config import Config
from gateway.tokens import Role, mint_token


async def revoke_during(
    base_url: str, config: Config, material: Material, cell: tuple[int, int], duration: float
) -> dict[str, Any]:
    token = mint_token(config, material.tenant_id, Role.OWNER)
    headers = {"Authorization": f"Bearer {token}"}
    key_ids = [kid for kid, _ in material.revocable[cell]][:REVOCATIONS]
    interval = duration / (len(key_ids) + 1)
    statuses: dict[str, int] = {}
    latencies: list[float] = []
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
        for key_id in key_ids:
            await asyncio.sleep(interval)  # pacing the side traffic, not waiting for a state
            status, took = await _revoke(session, base_url, key_id)
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            latencies.append(took)
    return {
        "count": len(key_ids),
        "statuses": statuses,
        "admin_p50_ms": round(statistics.median(latencies), 2) if latencies else None,
    }


async def _revoke(
    session: aiohttp.ClientSession, base_url: str, key_id: uuid.UUID
) -> tuple[int, float]:
    started = time.perf_counter()
    try:
        async with session.delete(f"{base_url}/api/v1/apikeys/{key_id}") as resp:
            await resp.read()
            status = resp.status
    except (aiohttp.ClientError, TimeoutError):
        status = 0
    return status, (time.perf_counter() - started) * 1e3


async def measure_propagation(
    dsn: str, redis_url: str, workdir: Path, revocations: int
) -> dict[str, Any]:
    """bench/revocation.py: 3 gateway processes, `revocations` revokes, p50/p99 until every
    process rejects. Its own gateways, upstream and Redis prefix; the bench's database."""
    from bench import revocation

    print(f"  revocation propagation: 3 processes, {revocations} revocations", flush=True)
    args = argparse.Namespace(processes=3, revocations=revocations, background=1)
    try:
        result: dict[str, Any] = await revocation.measure(args, dsn, redis_url, workdir)
    except (RuntimeError, OSError, aiohttp.ClientError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    return result
