"""The invalidation listener: messages, gaps, and revocation across OS processes (RELIABILITY 1)."""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from gateway.apikeys import hash_key
from gateway.config import ROOT
from tests.conftest import SECRETS_KEY
from tests.gateway.cache_rig import eventually


async def test_published_hash_is_evicted_from_l1(make_rig, fast_config, client, new_key):
    key = await new_key(client)
    rig = await make_rig(fast_config())
    h = hash_key(key.key)
    await rig.cache.resolve(h)
    epoch = rig.cache.epoch

    await rig.l2.publish(h)
    await eventually(lambda: rig.cache.stats.invalidations_received == 1)

    assert rig.cache.epoch > epoch
    assert len(rig.cache) == 0
    hits = rig.cache.stats.l1_hits
    await rig.cache.resolve(h)
    assert rig.cache.stats.l1_hits == hits  # refetched, not served from L1


async def test_malformed_message_is_ignored_and_the_listener_keeps_going(make_rig, fast_config):
    rig = await make_rig(fast_config())
    await rig.l2.client.publish(rig.l2.channel, b"not hex at all")
    await rig.l2.publish(hash_key("hks_" + "0" * 32))
    await eventually(lambda: rig.cache.stats.invalidations_received == 1)
    assert rig.cache.stats.resubscribes == 0


async def test_listener_is_coherent_once_subscribed(make_rig, fast_config):
    rig = await make_rig(fast_config())
    assert rig.listener.subscribed.is_set()
    assert rig.cache.down_since is None


async def test_every_resubscribe_clears_l1(make_rig, fast_config, own_redis, client, new_key):
    """A reconnect that loses nothing visible still counts as a gap: messages may be gone."""
    key = await new_key(client)  # in the shared stores; this rig's Redis is its own
    rig = await make_rig(fast_config(redis_url=own_redis.url))
    h = hash_key(key.key)
    await rig.cache.resolve(h)
    assert len(rig.cache) == 1

    killer = Redis.from_url(own_redis.url)
    await killer.client_kill_filter(_type="pubsub")
    await killer.aclose()
    await eventually(lambda: rig.cache.stats.resubscribes == 1 and rig.cache.down_since is None)

    assert len(rig.cache) == 0


async def test_closing_the_listener_is_bounded_when_redis_hangs(make_rig, fast_config, own_redis):
    rig = await make_rig(fast_config(redis_url=own_redis.url))
    own_redis.pause()
    start = time.monotonic()
    await rig.listener.stop()
    rig.listener = None
    assert time.monotonic() - start < 2.5


# --- RELIABILITY 1: separate OS processes ----------------------------------------------------


class Probe:
    """A child process running the real app's KeyCache and listener (revocation_probe.py)."""

    def __init__(self, proc: asyncio.subprocess.Process):
        self.proc = proc
        self.lines: dict[str, asyncio.Future[str]] = {}
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, settings: dict[str, Any]) -> Probe:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.gateway.revocation_probe",
            json.dumps(settings),
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        return cls(proc)

    def expect(self, prefix: str) -> asyncio.Future[str]:
        return self.lines.setdefault(prefix, asyncio.get_running_loop().create_future())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := (await self.proc.stdout.readline()).decode().strip():
            words = line.split()
            prefix = " ".join(words[:2]) if words[0] in ("active", "flip") else words[0]
            future = self.expect(prefix)
            if not future.done():
                future.set_result(line)

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")

    async def close(self) -> None:
        if self.proc.returncode is None:
            self.send("quit")
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        self.reader.cancel()


@pytest.fixture
async def probes(database_url, redis_url, redis_prefix):
    settings = {
        "database_url": database_url,
        "redis_url": redis_url,
        "redis_prefix": redis_prefix,
        "ingest_upstream": "http://127.0.0.1:9",
        "secrets_key": SECRETS_KEY,
    }
    started = [await Probe.start(settings) for _ in range(3)]
    try:
        for probe in started:
            assert await asyncio.wait_for(probe.expect("ready"), 30) == "ready"
        yield started
    finally:
        for probe in started:
            await probe.close()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def report(what: str, delays: list[float]) -> None:
    p50, p99 = statistics.median(delays), percentile(delays, 99)
    print(
        f"\n{what} across 3 processes, {len(delays)} samples: "
        f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {max(delays) * 1000:.1f} ms"
    )
    # Headroom as below: the delay includes the whole admin call on a shared 2-core box.
    assert p50 <= 0.100
    assert p99 <= 0.300


@pytest.mark.parametrize("change", ["deactivate", "rotate with overlap 0"])
async def test_source_change_reaches_every_process_within_the_bound(
    probes, client, tenant, auth, change
):
    """Deactivating a source, or rotating its secret with overlap 0, on one process: the
    other processes stop accepting the old secret within the revocation bound."""
    owner = auth(tenant)
    delays: list[float] = []
    for _ in range(10):
        token = f"coherence-{uuid.uuid4().hex[:12]}"
        body = {"name": "gh", "provider": "github", "token": token}
        created = await (await client.post("/api/v1/sources", json=body, headers=owner)).json()
        key = created["secret"].encode().hex()  # github: the HMAC key is the secret's bytes
        for probe in probes:
            probe.send(f"source {tenant} {token} {key}")
        for probe in probes:
            await asyncio.wait_for(probe.expect(f"active {token}"), 10)
        url = f"/api/v1/sources/{created['id']}"
        sent = time.monotonic()
        if change == "deactivate":
            r = await client.delete(url, headers=owner)
        else:
            r = await client.post(f"{url}/secrets", json={"overlapSeconds": 0}, headers=owner)
        assert r.status in (200, 201)
        for probe in probes:
            flip = await asyncio.wait_for(probe.expect(f"flip {token}"), 10)
            delays.append(float(flip.split()[2]) - sent)
    report(f"source {change}", delays)


async def test_revocation_reaches_every_process_within_the_bound(probes, client, new_key, auth):
    """RELIABILITY 1: revoke once through the admin API; three other OS processes reject the key.
    Delay = from sending DELETE to the moment each process's cache says "revoked"."""
    delays: list[float] = []
    for _ in range(20):
        key = await new_key(client)
        h = hash_key(key.key).hex()
        for probe in probes:
            probe.send(f"watch {h}")
        for probe in probes:
            await asyncio.wait_for(probe.expect(f"active {h}"), 10)
        sent = time.monotonic()
        r = await client.delete(f"/api/v1/apikeys/{key.key_id}", headers=auth(key.tenant_id))
        assert r.status == 200
        for probe in probes:
            flip = await asyncio.wait_for(probe.expect(f"flip {h}"), 10)
            delays.append(float(flip.split()[2]) - sent)

    p50, p99 = statistics.median(delays), percentile(delays, 99)
    print(
        f"\nrevocation across 3 processes, {len(delays)} samples: "
        f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {max(delays) * 1000:.1f} ms"
    )
    # SPEC §4 says p99 <= 100 ms; bench/revocation.py measures that on a quiet machine. Here the
    # delay includes the whole DELETE (JWT, UPDATE, Redis) on a 2-core box that may be running
    # other suites, so the assertion keeps headroom; the figures above are the measurement.
    assert p50 <= 0.100
    assert p99 <= 0.300


@pytest.mark.parametrize("change", ["patch allowedCidrs", "patch expiry", "rotate with overlap 0"])
async def test_key_change_reaches_every_process_within_the_bound(
    probes, client, new_key, auth, change
):
    """SPEC §8: a PATCH of a key's addresses or expiry, or a rotation with overlap 0, on one
    process: three other OS processes stop accepting the old key within the revocation bound.
    For an expiry (which cannot be in the past) the key is set to end 1 s ahead: a process that
    missed the change would keep accepting it, so the delay is measured from that moment."""
    delays: list[float] = []
    for _ in range(5 if change == "patch expiry" else 10):
        key = await new_key(client)
        h = hash_key(key.key).hex()
        for probe in probes:
            probe.send(f"watch {h} 127.0.0.1")
        for probe in probes:
            await asyncio.wait_for(probe.expect(f"active {h}"), 10)
        url = f"/api/v1/apikeys/{key.key_id}"
        owner = auth(key.tenant_id)
        sent = time.monotonic()
        if change == "patch allowedCidrs":
            r = await client.patch(url, json={"allowedCidrs": ["192.0.2.0/24"]}, headers=owner)
        elif change == "patch expiry":
            ends = datetime.now(UTC) + timedelta(seconds=1)
            sent += 1.0
            body = {"expiresAt": ends.isoformat().replace("+00:00", "Z")}
            r = await client.patch(url, json=body, headers=owner)
        else:
            r = await client.post(f"{url}/rotate", json={"overlapSeconds": 0}, headers=owner)
        assert r.status in (200, 201)
        for probe in probes:
            flip = await asyncio.wait_for(probe.expect(f"flip {h}"), 10)
            delays.append(max(0.0, float(flip.split()[2]) - sent))
    report(f"key {change}", delays)
