"""No answer names the Python or aiohttp version in `Server` (issue 14), whoever writes it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

from aiohttp.test_utils import TestClient

from tests.gateway.conftest import MakeGateway, NewKey


def assert_no_versions(server: str | None, what: str) -> None:
    assert server == "hooksentry", (what, server)


async def raw_exchange(gateway: TestClient, request: bytes) -> bytes:
    """Bytes sent on a socket of their own; everything the gateway answers until it closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.server.port)
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(10):
            return await reader.read(65536)
    finally:
        writer.close()


async def test_every_kind_of_answer_says_server_hooksentry_without_versions(
    make_gateway: MakeGateway, new_key: NewKey, auth: Callable[..., dict[str, str]]
) -> None:
    gateway = await make_gateway()
    key = await new_key(gateway)
    tenant = str(uuid.uuid4())
    answers = {
        "ingest 202": await gateway.post(
            key.ingest_path, data=b"{}", headers={"X-Api-Key": key.key}
        ),
        "ingest 401": await gateway.post(f"/api/v1/ingest/{tenant}/t", data=b"{}"),
        "ingest 405": await gateway.get(key.ingest_path),
        "admin 200": await gateway.get("/api/v1/apikeys", headers=auth(key.tenant_id)),
        "admin 401": await gateway.get("/api/v1/apikeys"),
        "openapi": await gateway.get("/api/v1/openapi.json"),
        "console page": await gateway.get("/console/sign-in"),
        "console static": await gateway.get("/console/static/console.css"),
        "healthz": await gateway.get("/healthz"),
        "metrics": await gateway.get("/metrics"),
        "unknown path 404": await gateway.get("/nothing/here"),
    }
    for what, reply in answers.items():
        assert_no_versions(reply.headers.get("Server"), what)


async def test_a_request_the_http_parser_refuses_says_server_hooksentry(
    make_gateway: MakeGateway,
) -> None:
    gateway = await make_gateway()
    reply = await raw_exchange(gateway, b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n")
    head = reply.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    assert head.split(" ")[1] == "400", head
    servers = [line for line in head.split("\r\n") if line.lower().startswith("server:")]
    assert servers == ["Server: hooksentry"], head
