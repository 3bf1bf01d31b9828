"""A revoke on a process that has lost Redis while the others have not (a one-sided partition)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.gateway.cache_rig import eventually
from tests.relay import Relay

BODY = b'{"event":"ping"}'


async def test_key_revoked_during_a_one_sided_partition_dies_everywhere_once_redis_is_back(
    make_gateway: Callable[..., Any],
    new_key: Callable[..., Any],
    auth: Callable[..., dict[str, str]],
    redis_url: str,
) -> None:
    relay = await Relay.for_url(redis_url)
    try:
        revoker = await make_gateway(redis_url=relay.rewrite(redis_url))
        other = await make_gateway()
        key = await new_key(revoker)
        headers = {"X-Api-Key": key.key}
        # The other process has the key in L1, and Redis has its "active" entry.
        assert (await other.post(key.ingest_path, data=BODY, headers=headers)).status == 202

        await relay.refuse()
        await relay.reset()
        revoked = await revoker.delete(f"/api/v1/apikeys/{key.key_id}", headers=auth(key.tenant_id))
        assert revoked.status == 200  # PostgreSQL is the truth: the revoke succeeds
        assert (await revoker.post(key.ingest_path, data=BODY, headers=headers)).status == 401

        await relay.reopen()

        async def other_rejects() -> bool:
            r = await other.post(key.ingest_path, data=BODY, headers=headers)
            return r.status == 401

        # Without the retried marker the other process would accept the key for the whole L1
        # TTL (60 s) and then again from the stale Redis entry (300 s).
        await eventually(other_rejects, within=10)
    finally:
        await relay.close()
