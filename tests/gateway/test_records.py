"""The records' codecs (gateway.apikeys, gateway.sources): versioned Redis forms, ciphertext
only, and a value of another version read as a miss, never as a Redis failure."""

from __future__ import annotations

import base64
import time
import uuid

import pytest

from gateway.apikeys import KEY_CODEC, KeyRecord, hash_key
from gateway.codec import Undecodable
from gateway.errors import AuthUnavailable
from gateway.keyrecord import parse_networks
from gateway.secretbox import SecretBox, generate_key
from gateway.sources import SourceRecord, SourceSetCodec, TenantSources
from tests.conftest import SECRETS_KEY

TENANT = "7d0e8a1c-3b7e-4c0e-9a43-1c2b7f1f9a10"
SOURCE = "0b9c2d6e-5f44-4c2a-8d61-2f2a9c5b7e31"


def sources(codec: SourceSetCodec, box: SecretBox, secret: str, expires: float | None) -> bytes:
    sealed = codec.secret("github", "s1", box.encrypt(secret.encode()), expires)
    source = SourceRecord(SOURCE, "gh", "github", False, 300, 600, (sealed,))
    return codec.encode(TenantSources(TENANT, {"gh": source}))


def test_a_key_record_written_by_the_previous_version_is_still_read() -> None:
    # The exact bytes the gateway wrote before key lifecycles (version 0), active and revoked.
    active = f"0:{SOURCE.replace('-', '')}:{TENANT.replace('-', '')}".encode()
    revoked = b"1" + active[1:]
    assert KEY_CODEC.decode(active) == KeyRecord(SOURCE, TENANT, False)
    assert KEY_CODEC.decode(revoked) == KeyRecord(SOURCE, TENANT, True)
    assert KEY_CODEC.decode(active).expires_at is None and KEY_CODEC.decode(active).allowed is None


def test_key_records_round_trip_their_version_1_form_and_refuse_others() -> None:
    nets = parse_networks(["203.0.113.0/24", "2001:db8::/32"])
    record = KeyRecord(SOURCE, TENANT, False, 1_900_000_000.5, nets, read_at=1_800_000_000.25)
    raw = KEY_CODEC.encode(record)
    assert raw.startswith(b"k1:1800000000.250000:")
    decoded = KEY_CODEC.decode(raw)
    assert decoded == record and decoded.read_at == record.read_at
    assert KEY_CODEC.from_l1(KEY_CODEC.to_l1(record)) == record
    for other in (b"k2:0:" + raw, raw[:-3], b"garbage", b"2:a:b", b"\xff\xfe", b"k1:x:[1]"):
        with pytest.raises(Undecodable):
            KEY_CODEC.decode(other)


def test_a_revoked_marker_sorts_after_every_change_so_nothing_replaces_it() -> None:
    prefix = KEY_CODEC.order_prefix
    revoked = KEY_CODEC.encode(KeyRecord(SOURCE, TENANT, True))
    changed = KEY_CODEC.encode(KeyRecord(SOURCE, TENANT, False, read_at=9_999_999_999.0))
    old = f"0:{SOURCE.replace('-', '')}:{TENANT.replace('-', '')}".encode()
    assert revoked[:prefix] > changed[:prefix] > old[:prefix]


def test_source_sets_hold_ciphertext_only_and_decode_to_keys() -> None:
    box = SecretBox.from_keys([SECRETS_KEY])
    codec = SourceSetCodec(box)
    secret = "a-plain-signing-secret"
    raw = sources(codec, box, secret, None)
    assert raw.startswith(b"s1:")
    assert secret.encode() not in raw and base64.b64encode(secret.encode()) not in raw
    decoded = codec.decode(raw)
    found = decoded.find("gh")
    assert found is not None and found.keys_at(time.time()) == [secret.encode()]
    assert "a-plain" not in repr(decoded)  # the key bytes stay out of reprs (and logs)
    for other in (b"s2:" + raw[3:], b"s1:{not json", raw[:-5]):
        with pytest.raises(Undecodable):
            codec.decode(other)


def test_expired_secrets_are_left_out_when_verifying() -> None:
    box = SecretBox.from_keys([SECRETS_KEY])
    codec = SourceSetCodec(box)
    decoded = codec.decode(sources(codec, box, "expired-secret-value", time.time() - 1))
    found = decoded.find("gh")
    assert found is not None and found.keys_at(time.time()) == []


def test_a_secret_no_configured_key_opens_makes_the_source_uncheckable() -> None:
    box = SecretBox.from_keys([SECRETS_KEY])
    raw = sources(SourceSetCodec(box), box, "sealed-elsewhere", None)
    other = SourceSetCodec(SecretBox.from_keys([generate_key()]))
    found = other.decode(raw).find("gh")
    assert found is not None
    with pytest.raises(AuthUnavailable):
        found.keys_at(time.time())


async def test_an_unreadable_redis_value_is_a_miss_not_an_outage(
    make_rig, fast_config, client, new_key
):
    """A value of another version (a rolling deploy) sends that lookup to PostgreSQL; Redis
    keeps answering the next lookups (it is not paused as after a failure)."""
    first, second = await new_key(client), await new_key(client)
    warm = await make_rig(fast_config())
    await warm.cache.resolve(hash_key(second.key))  # in Redis now
    rig = await make_rig(fast_config())
    h = hash_key(first.key)
    await rig.l2.client.set(rig.l2.key(h), b"k9:from-a-newer-release", ex=60)

    record = await rig.cache.resolve(h)
    assert record is not None and record.key_id == first.key_id
    assert rig.db.lookups[h] == 1
    assert await rig.l2.client.get(rig.l2.key(h)) == b"k9:from-a-newer-release"  # left alone
    await rig.cache.resolve(hash_key(second.key))
    assert rig.cache.stats.redis_hits == 1


async def test_a_change_never_leaves_an_older_source_set_over_a_fresher_one(make_config) -> None:
    """Two changes to one tenant's sources on two processes may write their sets to Redis in
    either order; the set read later stays (gateway.l2's marker compares read times)."""
    from gateway.l2 import RedisL2
    from gateway.redis_client import close_redis, create_redis
    from gateway.sources import source_set_hash

    config = make_config()
    codec = SourceSetCodec(SecretBox.from_keys([SECRETS_KEY]))
    l2 = RedisL2(create_redis(config), config, codec)
    h = source_set_hash(uuid.uuid4())
    try:
        await l2.revoke(h, TenantSources(TENANT, {}, read_at=2000.5))
        await l2.revoke(h, TenantSources(TENANT, {}, read_at=1000.25))  # older: refused
        stored = await l2.client.get(l2.key(h))
        assert stored is not None and codec.decode(stored).read_at == 2000.5
        await l2.revoke(h, TenantSources(TENANT, {}, read_at=3000.0))
        stored = await l2.client.get(l2.key(h))
        assert stored is not None and codec.decode(stored).read_at == 3000.0
    finally:
        await l2.client.delete(l2.key(h))
        await l2.cancel_background()
        await close_redis(l2.client)
