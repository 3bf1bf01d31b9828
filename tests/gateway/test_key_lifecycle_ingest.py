"""SPEC §8 at ingest: expired keys, allowed addresses (behind trusted proxies too), rotation from
a sender's side, the order of the checks, and lastUsedAt."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from tests.gateway.conftest import ApiKey, MakeGateway, NewKey

BODY = b'{"event":"x"}'


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat().replace("+00:00", "Z")


async def send(gateway: TestClient, key: ApiKey, **headers: str) -> tuple[int, Any]:
    r = await gateway.post(key.ingest_path, data=BODY, headers={"X-Api-Key": key.key} | headers)
    return r.status, await r.json()


async def patch(
    gateway: TestClient, auth: Callable[..., dict[str, str]], key: ApiKey, body: dict[str, Any]
) -> None:
    r = await gateway.patch(f"/api/v1/apikeys/{key.key_id}", json=body, headers=auth(key.tenant_id))
    assert r.status == 200, await r.text()


async def test_an_expired_key_is_refused_as_invalid_even_from_a_warm_cache(
    make_gateway: MakeGateway, new_key: NewKey, auth: Callable[..., dict[str, str]]
) -> None:
    gateway = await make_gateway()
    key = await new_key(gateway)
    await patch(gateway, auth, key, {"expiresAt": iso(timedelta(seconds=1))})
    assert (await send(gateway, key))[0] == 202  # now cached in L1 with its expiry

    await asyncio.sleep(1.1)  # time itself is what is tested: no message arrives

    status, body = await send(gateway, key)
    assert status == 401 and body["error"] == "invalid_api_key"


async def test_allowed_cidrs_refuse_other_addresses_with_403(
    make_gateway: MakeGateway, new_key: NewKey, auth: Callable[..., dict[str, str]]
) -> None:
    gateway = await make_gateway()
    key = await new_key(gateway)
    await patch(gateway, auth, key, {"allowedCidrs": ["192.0.2.0/24"]})
    status, body = await send(gateway, key, **{"X-Forwarded-For": "192.0.2.7"})  # not trusted
    assert status == 403 and body["error"] == "ip_not_allowed"

    await patch(gateway, auth, key, {"allowedCidrs": ["192.0.2.0/24", "127.0.0.1"]})
    assert (await send(gateway, key))[0] == 202
    await patch(gateway, auth, key, {"allowedCidrs": None})
    assert (await send(gateway, key))[0] == 202


async def test_behind_a_trusted_proxy_the_first_untrusted_hop_is_the_sender(
    make_gateway: MakeGateway, new_key: NewKey, auth: Callable[..., dict[str, str]]
) -> None:
    gateway = await make_gateway(trusted_proxies=("127.0.0.1", "10.0.0.0/8"))
    key = await new_key(gateway)
    await patch(gateway, auth, key, {"allowedCidrs": ["203.0.113.0/24"]})

    ok = {"X-Forwarded-For": "198.51.100.1, 203.0.113.9, 10.1.2.3"}  # 10/8 is a trusted hop
    assert (await send(gateway, key, **ok))[0] == 202
    spoofed = {"X-Forwarded-For": "203.0.113.9, 198.51.100.1"}  # the sender wrote the left one
    assert (await send(gateway, key, **spoofed))[0] == 403
    assert (await send(gateway, key))[0] == 403  # no header: the proxy itself is the sender


async def test_checks_run_key_expiry_tenant_then_address(
    make_gateway: MakeGateway,
    new_key: NewKey,
    new_tenant: Callable[..., Any],
    auth: Callable[..., dict[str, str]],
) -> None:
    gateway = await make_gateway()
    key = await new_key(gateway)
    await patch(gateway, auth, key, {"allowedCidrs": ["192.0.2.0/24"]})
    elsewhere = ApiKey(key.key, key.key_id, await new_tenant())
    status, body = await send(gateway, elsewhere)
    assert status == 403 and body["error"] == "tenant_mismatch"  # tenant before address


async def test_a_rotation_seen_from_the_sender(
    make_gateway: MakeGateway, new_key: NewKey, auth: Callable[..., dict[str, str]]
) -> None:
    gateway = await make_gateway()
    old = await new_key(gateway)
    owner = auth(old.tenant_id)
    url = f"/api/v1/apikeys/{old.key_id}/rotate"

    r = await gateway.post(url, json={"overlapSeconds": 600}, headers=owner)
    new_body = await r.json()
    new = ApiKey(new_body["key"], uuid.UUID(new_body["id"]), old.tenant_id)
    assert (await send(gateway, old))[0] == 202  # both work during the overlap
    assert (await send(gateway, new))[0] == 202

    r = await gateway.post(f"/api/v1/apikeys/{new.key_id}/rotate", json={"overlapSeconds": 0},
                           headers=owner)  # fmt: skip
    newest = await r.json()
    status, body = await send(gateway, new)  # overlap 0: refused at once, like a wrong key
    assert status == 401 and body["error"] == "invalid_api_key"
    newest_key = ApiKey(newest["key"], uuid.UUID(newest["id"]), old.tenant_id)
    assert (await send(gateway, newest_key))[0] == 202


async def test_last_used_at_advances_after_use_without_a_write_per_request(
    make_gateway: MakeGateway, new_key: NewKey, auth: Callable[..., dict[str, str]]
) -> None:
    gateway = await make_gateway(last_used_flush_interval=0.1)
    key = await new_key(gateway)
    url = f"/api/v1/apikeys/{key.key_id}"
    owner = auth(key.tenant_id)
    assert (await (await gateway.get(url, headers=owner)).json())["lastUsedAt"] is None
    before = datetime.now(UTC) - timedelta(seconds=1)
    for _ in range(3):
        assert (await send(gateway, key))[0] == 202

    deadline = asyncio.get_running_loop().time() + 10
    seen = None
    # The flush is the process's own timer: nothing to await from here but the answer.
    while seen is None and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
        seen = (await (await gateway.get(url, headers=owner)).json())["lastUsedAt"]
    assert seen is not None
    used = datetime.strptime(seen, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert before <= used <= datetime.now(UTC)
