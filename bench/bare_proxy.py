"""The bare reference proxy: the least an aiohttp + uvloop proxy can do.

Read `X-Api-Key`, one dict lookup, forward with one shared `ClientSession`, copy the status and
body back. No middleware, no logging, no metrics. This is the ceiling for the gateway's stack:
the gateway should come close to it (issue 4: >= 0.9x throughput, <= 1.2x p99).

    python -m bench.bare_proxy --port 9003 --upstream 127.0.0.1:9001 --keys keys.tsv
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from bench.httpproto import reuse_port_socket
from bench.keyfile import run_reference

KEYS = web.AppKey("keys", dict)
SESSION = web.AppKey("session", aiohttp.ClientSession)
UPSTREAM = web.AppKey("upstream", str)
_UNAUTHORIZED = b'{"error":"invalid_api_key","message":"The API key is not valid."}'


async def proxy(request: web.Request) -> web.Response:
    tenant = request.app[KEYS].get(request.headers.get("X-Api-Key", ""))
    if tenant is None:
        return web.Response(status=401, body=_UNAUTHORIZED, content_type="application/json")
    body = await request.read()
    headers = {
        "Content-Type": request.headers.get("Content-Type", "application/octet-stream"),
        "X-HookSentry-Tenant-Id": tenant,
    }
    url = request.app[UPSTREAM] + request.path_qs
    async with request.app[SESSION].post(url, data=body, headers=headers) as resp:
        data = await resp.read()
        return web.Response(
            status=resp.status, body=data, headers={"Content-Type": resp.content_type}
        )


async def session_ctx(app: web.Application) -> AsyncIterator[None]:
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=256),
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
    )
    app[SESSION] = session
    yield
    await session.close()


def create_app(upstream: str, keys: dict[str, str]) -> web.Application:
    app = web.Application()
    app[KEYS] = keys
    app[UPSTREAM] = f"http://{upstream}"
    app.cleanup_ctx.append(session_ctx)
    app.router.add_post("/api/v1/ingest/{tenant_id}/{token}", proxy)
    return app


async def serve(host: str, port: int, upstream: str, keys: dict[str, str]) -> None:
    runner = web.AppRunner(create_app(upstream, keys), access_log=None)
    await runner.setup()
    await web.SockSite(runner, reuse_port_socket(host, port)).start()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    run_reference("python -m bench.bare_proxy", __doc__, serve)


if __name__ == "__main__":
    main()
