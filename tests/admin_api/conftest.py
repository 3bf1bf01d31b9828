"""Fixtures shared by the admin API tests (additive: the console tests may add theirs here)."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

APIKEYS = "/api/v1/apikeys"
CreateKey = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def create_key(client: TestClient) -> CreateKey:
    """POST a key through the API and return the 201 body (fails the test on any other status)."""

    async def create(headers: dict[str, str], name: str = "ci key") -> dict[str, Any]:
        response = await client.post(APIKEYS, json={"name": name}, headers=headers)
        assert response.status == 201, await response.text()
        body: dict[str, Any] = await response.json()
        return body

    return create


@pytest.fixture
def owner(tenant: uuid.UUID, auth: Callable[..., dict[str, str]]) -> dict[str, str]:
    """Bearer headers of an Owner of the test's tenant."""
    return auth(tenant)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A plain client on the test Redis, to look at what the gateway wrote there."""
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


def assert_error(body: Any, code: str | None = None) -> None:
    """The gateway's error shape: {"error": snake_case_code, "message": sentence}."""
    assert isinstance(body, dict), body
    assert set(body) >= {"error", "message"}, body
    assert isinstance(body["error"], str) and body["error"], body
    assert body["error"] == body["error"].lower() and " " not in body["error"], body
    assert isinstance(body["message"], str) and body["message"], body
    if code is not None:
        assert body["error"] == code, body


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections (kernel backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock.getsockname()[1]


class Invalidations:
    """A subscriber on the gateway's invalidation channel (other tests may publish there too)."""

    def __init__(self, pubsub: Any):
        self._pubsub = pubsub
        self.seen: list[str] = []

    async def wait_for(self, key_hash: str, within: float = 2.0) -> bool:
        try:
            async with asyncio.timeout(within):
                while key_hash not in self.seen:
                    message = await self._pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=0.1
                    )
                    if message is not None and message["type"] == "message":
                        self.seen.append(message["data"].decode())
        except TimeoutError:
            return False
        return True


@pytest.fixture
async def invalidations(redis: Redis, redis_prefix: str) -> AsyncIterator[Invalidations]:
    async with redis.pubsub() as pubsub:
        await pubsub.subscribe(f"{redis_prefix}invalidate")
        confirmation = await pubsub.get_message(timeout=2.0)
        assert confirmation is not None and confirmation["type"] == "subscribe"
        yield Invalidations(pubsub)
