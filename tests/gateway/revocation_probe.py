"""One simulated gateway process for the cross-process revocation test (RELIABILITY 1).

Builds the real app with `create_app` (so the KeyCache and its listener are wired exactly as in
production), then obeys lines on stdin:
    watch <hash hex> [<address>]
                       resolve the key until it is accepted ("active <hex>"), then keep resolving
                       every 0.5 ms until it is rejected ("flip <hex> <time.monotonic()>");
                       accepted = as the ingest check says: not revoked, not expired, and (with
                       an address) allowed from it
    source <tenant> <token> <HMAC key hex>
                       the same for a source: accepted while (tenant, token) has an active
                       source with that key among its unexpired secrets ("active <token>", ...)
    tenant <uuid>      create a tenant ("tenant <uuid>")
    create <tenant>    create a key through the admin service ("created <hash hex> <key id>")
    revoke <tenant> <key id>
                       revoke it through the admin service ("revoked <key id> <monotonic>"),
                       as the admin API does (PostgreSQL, then Redis marker + publish)
    subscribed         "subscribed <time.monotonic()>" once the listener is (again) subscribed
    quit               shut down cleanly
Prints "ready" once the listener is subscribed. CLOCK_MONOTONIC is system-wide on Linux, so the
parent can compare the flip times with its own clock.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import sys
import time
import uuid

from aiohttp import web

from admin_api.store import TenantStore
from admin_api.views import key_service_of
from gateway.apikeys import hash_key
from gateway.app import create_app
from gateway.config import load_config
from gateway.headers import Address
from gateway.keycache import KeyCache
from gateway.keys import DB, KEY_CACHE, SOURCE_CACHE
from gateway.sourcecache import SourceCache
from gateway.tokens import Principal, Role

POLL = 0.0005


async def watch(cache: KeyCache, key_hash: bytes, address: str | None = None) -> None:
    """Traffic, not a wait: each resolve() is what a request would do. Bounded at 30 s."""
    deadline = time.monotonic() + 30
    sender = None if address is None else ipaddress.ip_address(address)
    # Simulated requests, not a wait for an event:
    while not await accepted(cache, key_hash, sender):  # noqa: ASYNC110
        await asyncio.sleep(POLL)
    emit(f"active {key_hash.hex()}")
    while await accepted(cache, key_hash, sender) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(POLL)
    emit(f"flip {key_hash.hex()} {time.monotonic():.6f}")


async def watch_source(cache: SourceCache, tenant: str, token: str, key: bytes) -> None:
    deadline = time.monotonic() + 30
    while not await source_accepts(cache, tenant, token, key):  # noqa: ASYNC110
        await asyncio.sleep(POLL)
    emit(f"active {token}")
    while await source_accepts(cache, tenant, token, key) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(POLL)
    emit(f"flip {token} {time.monotonic():.6f}")


async def source_accepts(cache: SourceCache, tenant: str, token: str, key: bytes) -> bool:
    source = await cache.source_for(tenant, token)
    return source is not None and key in source.keys_at(time.time())


async def accepted(cache: KeyCache, key_hash: bytes, sender: Address | None = None) -> bool:
    record = await cache.resolve(key_hash)
    if record is None or record.revoked or record.expired(time.time()):
        return False
    return sender is None or record.admits(sender)


async def admin(app: web.Application, command: str, arg: str) -> None:
    """The admin API's own service calls, for hosts the test cannot reach over HTTP (namespaces).
    Failures are printed, not raised: the parent waits for a line either way."""
    try:
        if command == "tenant":
            await TenantStore(app[DB]).create(uuid.UUID(arg), "probe")
            emit(f"tenant {arg}")
            return
        tenant, _, key_id = arg.partition(" ")
        principal = Principal(uuid.UUID(tenant), Role.OWNER, "probe")
        service = key_service_of(app)
        if command == "create":
            created = await service.create(principal, {"name": "probe"})
            emit(f"created {hash_key(created.key).hex()} {created.row.id}")
        else:
            await service.revoke(principal, key_id)
            emit(f"revoked {key_id} {time.monotonic():.6f}")
    except Exception as exc:
        emit(f"failed {command} {type(exc).__name__}")


async def report_subscribed(cache: KeyCache) -> None:
    deadline = time.monotonic() + 60
    # No event crosses the cache's boundary: poll, bounded.
    while cache.down_since is not None and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.005)
    emit(f"subscribed {time.monotonic():.6f}")


def emit(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def main(settings: dict[str, object]) -> None:
    runner = web.AppRunner(create_app(load_config({}, overrides=settings)))
    await runner.setup()  # runs the cleanup contexts: pool, Redis, key cache + listener
    cache = runner.app[KEY_CACHE]
    sources = runner.app[SOURCE_CACHE]
    deadline = time.monotonic() + 10
    # No event crosses the app boundary: poll, bounded.
    while cache.down_since is not None and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    emit("ready" if cache.down_since is None else "not-subscribed")
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    tasks: set[asyncio.Task[None]] = set()
    while line := (await reader.readline()).decode().strip():
        command, _, arg = line.partition(" ")
        if command == "quit":
            break
        if command == "watch":
            key_hash, _, address = arg.partition(" ")
            task = asyncio.create_task(watch(cache, bytes.fromhex(key_hash), address or None))
        elif command in ("tenant", "create", "revoke"):
            task = asyncio.create_task(admin(runner.app, command, arg))
        elif command == "subscribed":
            task = asyncio.create_task(report_subscribed(cache))
        elif command == "source":
            tenant, token, key = arg.split()
            task = asyncio.create_task(watch_source(sources, tenant, token, bytes.fromhex(key)))
        else:
            continue
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    for task in tasks:
        task.cancel()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
