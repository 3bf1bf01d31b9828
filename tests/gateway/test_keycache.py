"""KeyCache against the real PostgreSQL and Redis (SPEC §4; RELIABILITY 4-8).

Each rig is what one gateway process holds; keys are created and revoked through the admin API
(`client`), exactly as a tenant would.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from gateway.apikeys import KeyRecord, generate_key, hash_key
from gateway.db import QUERIES
from tests.gateway.cache_rig import eventually


def random_hash() -> bytes:
    return hash_key(generate_key())


async def revoke(client: Any, auth: Any, key: Any) -> None:
    r = await client.delete(f"/api/v1/apikeys/{key.key_id}", headers=auth(key.tenant_id))
    assert r.status == 200, await r.text()


async def test_first_lookup_reads_postgresql_then_l1_serves_it(
    make_rig, fast_config, client, new_key
):
    key = await new_key(client)
    rig = await make_rig(fast_config(), listen=False)
    h = hash_key(key.key)

    record = await rig.cache.resolve(h)
    for _ in range(10):
        assert await rig.cache.resolve(h) == record

    assert record == KeyRecord.of(key.key_id, key.tenant_id, revoked=False)
    assert rig.db.lookups[h] == 1
    assert rig.cache.stats.l1_hits == 10
    assert await rig.l2.get(h) == record  # filled into Redis for the other processes


async def test_another_process_is_answered_by_redis_not_postgresql(
    make_rig, fast_config, client, new_key
):
    key = await new_key(client)
    first = await make_rig(fast_config())
    second = await make_rig(fast_config())
    h = hash_key(key.key)

    assert await first.cache.resolve(h) == await second.cache.resolve(h)
    assert second.cache.stats.redis_hits == 1
    assert second.db.total_lookups == 0


async def test_unknown_key_is_a_negative_entry_in_l1_and_never_in_redis(make_rig, fast_config):
    rig = await make_rig(fast_config(), listen=False)
    h = random_hash()

    assert await rig.cache.resolve(h) is None
    assert await rig.cache.resolve(h) is None

    assert rig.db.lookups[h] == 1
    assert rig.cache.stats.l1_negative_hits == 1
    assert await rig.l2.client.get(rig.l2.key(h)) is None


async def test_negative_entry_expires_after_its_ttl(make_rig, fast_config):
    rig = await make_rig(fast_config(l1_negative_ttl=0.1), listen=False)
    h = random_hash()
    assert await rig.cache.resolve(h) is None
    await asyncio.sleep(0.15)  # the TTL itself is what is tested: time must pass
    assert await rig.cache.resolve(h) is None
    assert rig.db.lookups[h] == 2


async def test_key_created_after_a_miss_works_at_once_on_every_process(
    make_rig, fast_config, db, tenant
):
    """RELIABILITY 5: a sender tried the key a moment before it existed (negative entries)."""
    rigs = [await make_rig(fast_config()) for _ in range(3)]
    h = random_hash()
    for rig in rigs:
        assert await rig.cache.resolve(h) is None

    # What KeyService.create does: INSERT, then publish the hash (no Redis entry is written).
    key_id = uuid.uuid4()
    await db.execute(QUERIES["insert_key"], key_id, tenant, "late", h)
    await rigs[0].l2.publish(h)

    async def all_accept() -> bool:
        records = [await rig.cache.resolve(h) for rig in rigs]
        return all(r == KeyRecord.of(key_id, tenant, False) for r in records)

    took = await eventually(all_accept, within=1.0)
    print(f"created key accepted by 3 caches {took * 1000:.1f} ms after publish")


async def test_key_created_through_the_admin_api_works_at_once(client, new_key):
    from gateway.keys import KEY_CACHE

    key = await new_key(client)
    cache = client.app[KEY_CACHE]
    assert await cache.resolve(hash_key(key.key)) == KeyRecord.of(key.key_id, key.tenant_id, False)


async def test_flood_of_random_keys_is_rejected_once_each_and_keeps_valid_keys(
    make_rig, fast_config, client, new_key
):
    """RELIABILITY 6: one query per distinct key per negative TTL; valid entries survive."""
    rig = await make_rig(
        fast_config(l1_negative_max_entries=64, l1_max_entries=1000, pg_pool_max=4), listen=False
    )
    valid = await new_key(client)
    vh = hash_key(valid.key)
    assert await rig.cache.resolve(vh) is not None

    flood = [random_hash() for _ in range(300)]
    for start in range(0, len(flood), 100):
        batch = flood[start : start + 100] * 3  # every key sent three times, concurrently
        results = await asyncio.gather(*(rig.cache.resolve(h) for h in batch))
        assert all(r is None for r in results)

    assert max(rig.db.lookups[h] for h in flood) == 1
    recent = [h for h in flood if h in rig.cache]
    assert len(recent) == 64  # the negative bound; the valid key is kept apart
    assert all([await rig.cache.resolve(h) is None for h in recent])
    assert sum(rig.db.lookups[h] for h in recent) == 64  # served by L1, no new query
    hits = rig.cache.stats.l1_hits
    assert await rig.cache.resolve(vh) is not None
    assert rig.cache.stats.l1_hits == hits + 1
    assert rig.db.lookups[vh] == 1


async def test_concurrent_first_lookups_share_one_store_lookup(
    make_rig, fast_config, client, new_key
):
    """RELIABILITY 7: singleflight; a waiter that gives up does not cancel the others."""
    key = await new_key(client)
    rig = await make_rig(fast_config(), listen=False)
    h = hash_key(key.key)
    rig.db.hold = asyncio.Event()

    waiters = [asyncio.create_task(rig.cache.resolve(h)) for _ in range(200)]
    await rig.db.answered.wait()
    waiters[0].cancel()  # that sender disconnected
    rig.db.hold.set()
    results = await asyncio.gather(*waiters[1:])

    assert {r for r in results} == {KeyRecord.of(key.key_id, key.tenant_id, False)}
    assert rig.db.total_lookups == 1
    assert rig.l2.gets == 1


async def test_processes_missing_the_same_key_at_once_share_one_postgresql_lookup(
    make_rig, fast_config, client, new_key
):
    """Cold start across workers: the first process to miss takes the key's fill lease in
    Redis; another that misses meanwhile waits for the fill instead of asking PostgreSQL."""
    key = await new_key(client)
    first = await make_rig(fast_config())
    second = await make_rig(fast_config())  # subscribed: it trusts what Redis holds
    h = hash_key(key.key)
    first.db.hold = asyncio.Event()

    looking = asyncio.create_task(first.cache.resolve(h))
    await first.db.answered.wait()  # the first process holds the lease and has its row
    waiting = asyncio.create_task(second.cache.resolve(h))
    await eventually(lambda: second.l2.gets == 1)  # the second found the lease taken
    await asyncio.sleep(0.05)  # long enough for a lookup of its own, were it to make one
    assert not waiting.done() and second.db.total_lookups == 0
    first.db.hold.set()

    expected = KeyRecord.of(key.key_id, key.tenant_id, False)
    assert await looking == await waiting == expected
    assert first.db.lookups[h] == 1
    assert second.db.total_lookups == 0
    assert second.cache.stats.redis_hits == 1
    assert await second.l2.client.exists(second.l2.lease_key(h)) == 0  # given back with the fill


async def test_an_unknown_key_is_not_shared_through_the_lease(make_rig, fast_config):
    """Negative answers never go to Redis (DESIGN): the waiting process asks PostgreSQL itself
    once the leaseholder gives the lease back without a record."""
    first = await make_rig(fast_config(), listen=False)
    second = await make_rig(fast_config(), listen=False)
    h = random_hash()
    first.db.hold = asyncio.Event()

    looking = asyncio.create_task(first.cache.resolve(h))
    await first.db.answered.wait()
    waiting = asyncio.create_task(second.cache.resolve(h))
    await eventually(lambda: second.l2.gets == 1)
    first.db.hold.set()

    assert await looking is None
    assert await waiting is None
    assert first.db.lookups[h] == second.db.lookups[h] == 1
    assert await first.l2.client.get(first.l2.key(h)) is None
    assert await first.l2.client.exists(first.l2.lease_key(h)) == 0


async def test_a_lease_left_by_a_dead_process_delays_a_lookup_only_until_it_runs_out(
    make_rig, fast_config, client, new_key
):
    key = await new_key(client)
    rig = await make_rig(fast_config(pg_acquire_timeout=0.2, pg_command_timeout=0.3))
    h = hash_key(key.key)
    lease = int(rig.l2.lease_seconds * 1000)
    await rig.l2.client.set(rig.l2.lease_key(h), b"dead", px=lease)  # what it left behind

    started = time.monotonic()
    record = await rig.cache.resolve(h)
    waited = time.monotonic() - started

    assert record == KeyRecord.of(key.key_id, key.tenant_id, False)
    assert rig.db.lookups[h] == 1
    assert rig.l2.lease_seconds * 0.9 <= waited <= rig.l2.lease_seconds + 0.5
    assert await rig.l2.get(h) == record  # and it filled Redis for the others


async def test_a_holder_whose_lease_ran_out_leaves_the_next_holders_lease_alone(
    make_rig, fast_config, client, new_key
):
    key = await new_key(client)
    rig = await make_rig(fast_config())
    h = hash_key(key.key)
    rig.db.hold = asyncio.Event()
    looking = asyncio.create_task(rig.cache.resolve(h))
    await rig.db.answered.wait()
    # Its lease ran out while PostgreSQL was slow, and another process took the key's lease.
    await rig.l2.client.set(rig.l2.lease_key(h), b"next-holder", px=60_000)
    rig.db.hold.set()

    assert (await looking).key_id == key.key_id
    assert await rig.l2.client.get(rig.l2.lease_key(h)) == b"next-holder"


async def test_a_lease_taken_by_a_lookup_that_timed_out_is_given_back(
    make_rig, fast_config, client, new_key
):
    """The lookup script ran in Redis (and took the lease) but its answer came too late: the
    process asks PostgreSQL and gives the lease back in the background, so other processes
    missing the key do not wait the whole lease out."""
    key = await new_key(client)
    rig = await make_rig(fast_config())
    h = hash_key(key.key)
    rig.l2.fail_after_lookup = True

    assert (await rig.cache.resolve(h)).key_id == key.key_id  # from PostgreSQL
    assert rig.db.lookups[h] == 1

    async def lease_gone() -> bool:
        return await rig.l2.client.exists(rig.l2.lease_key(h)) == 0

    await eventually(lease_gone, within=rig.l2.lease_seconds / 2)


async def test_a_process_that_rechecks_redis_does_not_wait_for_anothers_fill(
    make_rig, fast_config, client, new_key
):
    """Not subscribed (or just after a gap), it would check an "active" fill against PostgreSQL
    anyway: it asks PostgreSQL at once instead of waiting for the leaseholder."""
    key = await new_key(client)
    rig = await make_rig(fast_config(), listen=False)  # never subscribed: Redis is re-checked
    h = hash_key(key.key)
    await rig.l2.client.set(rig.l2.lease_key(h), b"other", px=60_000)

    started = time.monotonic()
    assert (await rig.cache.resolve(h)).key_id == key.key_id
    assert time.monotonic() - started < rig.l2.lease_seconds / 2
    assert rig.db.lookups[h] == 1


async def test_lookup_racing_a_revocation_never_caches_the_old_answer(
    make_rig, fast_config, client, new_key, auth
):
    """RELIABILITY 8: PostgreSQL answered "active", then the key was revoked, then the lookup
    finished. Neither L1 nor Redis may keep "active"."""
    key = await new_key(client)
    rig = await make_rig(fast_config())
    h = hash_key(key.key)
    rig.db.hold = asyncio.Event()

    lookup = asyncio.create_task(rig.cache.resolve(h))
    await rig.db.answered.wait()  # the old answer is read
    seen = rig.cache.stats.invalidations_received
    await revoke(client, auth, key)
    await eventually(lambda: rig.cache.stats.invalidations_received > seen)
    rig.db.hold.set()

    assert (await lookup).revoked is False  # it started before the revoke: fine to answer
    assert (await rig.l2.get(h)).revoked is True  # the late fill (NX) kept the marker
    assert (await rig.cache.resolve(h)).revoked is True  # and L1 did not keep the old answer
    assert rig.db.lookups[h] == 1


async def test_revoked_key_stops_within_the_positive_ttl_when_the_listener_is_dead(
    make_rig, fast_config, client, new_key, auth
):
    """RELIABILITY 4: no invalidation reaches this process; the L1 TTL bounds the damage."""
    ttl = 0.5
    key = await new_key(client)
    rig = await make_rig(fast_config(l1_positive_ttl=ttl), listen=False)
    h = hash_key(key.key)
    assert (await rig.cache.resolve(h)).revoked is False

    revoked_at = time.monotonic()
    await revoke(client, auth, key)

    async def rejected() -> bool:
        return (await rig.cache.resolve(h)).revoked

    await eventually(rejected, within=ttl + 1.0)
    delay = time.monotonic() - revoked_at
    print(f"revocation without listener took {delay * 1000:.0f} ms (positive TTL {ttl * 1000:.0f})")
    assert delay <= ttl + 0.1


async def test_revocation_reaches_a_listening_process_at_once(
    make_rig, fast_config, client, new_key, auth
):
    key = await new_key(client)
    rig = await make_rig(fast_config())
    h = hash_key(key.key)
    assert (await rig.cache.resolve(h)).revoked is False

    await revoke(client, auth, key)

    async def rejected() -> bool:
        return (await rig.cache.resolve(h)).revoked

    took = await eventually(rejected, within=1.0)
    assert took < 0.5
    assert rig.cache.stats.invalidations_received >= 1


async def test_revoking_process_rejects_before_answering(client, new_key, auth):
    from gateway.keys import KEY_CACHE, L2

    key = await new_key(client)
    cache = client.app[KEY_CACHE]
    h = hash_key(key.key)
    assert (await cache.resolve(h)).revoked is False
    # Publish where this process's own listener does not listen: what makes the key fail here
    # before the 200 must be the revoke's own eviction, not the pub/sub round trip.
    client.app[L2].channel = "hs-test-nowhere:invalidate"
    await revoke(client, auth, key)
    assert (await cache.resolve(h)).revoked is True
