"""A stand-in for the upstream ingest service: answers 202 and logs what it received.

Used by `hooksentry-gateway dev` (so the quickstart's curl line gets a 202) and by tests and
`bench/` as a real aiohttp server behind the gateway.
"""

from __future__ import annotations

import logging

import orjson
from aiohttp import web

log = logging.getLogger(__name__)


async def accept(request: web.Request) -> web.Response:
    body = await request.read()
    log.info(
        "ingest received",
        extra={
            "path": request.path,
            "bytes": len(body),
            "tenant_id": request.headers.get("X-HookSentry-Tenant-Id"),
            "key_id": request.headers.get("X-HookSentry-Api-Key-Id"),
        },
    )
    return web.Response(
        status=202, body=orjson.dumps({"accepted": True}), content_type="application/json"
    )


def create_standin_app() -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/api/v1/ingest/{tenant_id}/{token}", accept)
    return app
