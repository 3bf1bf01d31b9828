"""Creating sources through the admin API, for the ingest tests."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient


@dataclass(frozen=True)
class Source:
    id: str
    tenant_id: uuid.UUID
    provider: str
    secret: str
    path: str
    body: dict[str, Any]


async def create_source(
    gateway: TestClient, headers: dict[str, str], tenant_id: uuid.UUID, provider: str, **extra: Any
) -> Source:
    token = extra.pop("token", f"{provider}-{uuid.uuid4().hex[:8]}")
    payload = {"name": provider, "provider": provider, "token": token} | extra
    r = await gateway.post("/api/v1/sources", json=payload, headers=headers)
    assert r.status == 201, await r.text()
    body = await r.json()
    secret = body.get("secret") or extra["secret"]
    return Source(body["id"], tenant_id, provider, secret, body["ingestPath"], body)


async def rotate(gateway: TestClient, headers: dict[str, str], source: Source, overlap: int) -> str:
    r = await gateway.post(
        f"/api/v1/sources/{source.id}/secrets", json={"overlapSeconds": overlap}, headers=headers
    )
    assert r.status == 201, await r.text()
    secret: str = (await r.json())["secret"]
    return secret


MakeSource = Callable[..., Awaitable[Source]]
