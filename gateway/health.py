"""/healthz (the process answers) and /readyz (PostgreSQL and Redis answer, quickly; a
configured PostgreSQL replica is reported too, without failing readiness).

Neither needs authentication and neither says more than which dependency failed: no URLs, no
hosts, no exception text (those can carry credentials).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.helpers import ChainMapProxy

from gateway.keys import CONFIG, PG_POOL, REDIS, REPLICA_POOL
from gateway.middlewares import json_response

# A readiness probe that waits longer than the load balancer's probe timeout is useless.
MAX_CHECK_SECONDS = 1.0


async def healthz(request: web.Request) -> web.Response:
    return _json(200, {"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    app = request.config_dict
    config = app[CONFIG]
    pg_timeout = min(config.pg_acquire_timeout + config.pg_command_timeout, MAX_CHECK_SECONDS)
    redis_timeout = min(config.redis_timeout * 2, MAX_CHECK_SECONDS)
    pg, redis = await asyncio.gather(
        _check(lambda: _ping_postgresql(app), pg_timeout),
        _check(lambda: _ping_redis(app), redis_timeout),
    )
    checks = {"postgresql": pg, "redis": redis}
    failed = [name for name, result in checks.items() if result != "ok"]
    if app[REPLICA_POOL] is not None or config.database_replica_url:
        # Reported, never failing readiness: lookups fall back to the primary without it.
        checks["postgresql_replica"] = await _check(lambda: _ping_replica(app), pg_timeout)
    if not failed:
        return _json(200, {"status": "ready", "checks": checks})
    names = " and ".join({"postgresql": "PostgreSQL", "redis": "Redis"}[n] for n in failed)
    return _json(
        503,
        {
            "error": "not_ready",
            "message": f"{names} did not answer.",
            "status": "not_ready",
            "failed": failed,
            "checks": checks,
        },
    )


async def _check(probe: Callable[[], Awaitable[object]], seconds: float) -> str:
    """The outcome only ("ok", "timeout" or "error"), never the exception's text."""
    try:
        async with asyncio.timeout(seconds):
            await probe()
    except TimeoutError:
        return "timeout"
    except Exception:
        return "error"
    return "ok"


async def _ping_postgresql(app: ChainMapProxy) -> None:
    pool = app[PG_POOL]
    async with pool.acquire() as conn:
        await conn.fetchval("SELECT 1")


async def _ping_replica(app: ChainMapProxy) -> None:
    pool = app[REPLICA_POOL]
    if pool is None:
        raise ConnectionError("replica pool not created")
    async with pool.acquire() as conn:
        await conn.fetchval("SELECT 1")


async def _ping_redis(app: ChainMapProxy) -> None:
    await app[REDIS].ping()


def _json(status: int, body: dict[str, object]) -> web.Response:
    response = json_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def setup_health(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
