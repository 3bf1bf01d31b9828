"""The source lookup's cache: a RecordCache of per-tenant source sets (gateway.sources).

Same path as keys (L1 -> singleflight -> Redis with the fill lease -> PostgreSQL, the epoch and
the gap rules). A tenant that exists is a positive entry, in Redis too, even with no sources:
a request on a token without a source is answered without PostgreSQL for as long as keys are.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from gateway.config import Config
from gateway.db import QUERIES
from gateway.recordcache import RecordCache, RecordL2
from gateway.sources import (
    SourceRecord,
    SourceSetCodec,
    TenantSources,
    source_set_hash,
    tenant_of,
)

_LOOKUP = QUERIES["lookup_tenant_sources"]
# Parsing the path's tenant id costs about 2 us, as much as the rest of an L1 hit: the hashes
# of recently seen path strings are kept (cleared when full, so a flood of ids stays bounded).
_HASHES_MAX = 10_000


class SourceStore(Protocol):
    """What the cache needs from PostgreSQL (gateway.db.Database)."""

    async def fetch(self, query: str, *args: Any) -> list[Any]: ...


class SourceCache(RecordCache[TenantSources]):
    def __init__(
        self,
        config: Config,
        db: SourceStore,
        l2: RecordL2[TenantSources],
        codec: SourceSetCodec,
        replica: SourceStore | None = None,
    ):
        super().__init__(config, l2, codec, replica=replica is not None)
        self._db = db
        self._replica_db = replica or db
        self._sources_codec = codec
        self._hashes: dict[str, bytes] = {}

    async def load(self, key_hash: bytes, *, primary: bool = True) -> TenantSources | None:
        tenant_id = tenant_of(key_hash)
        rows = await (self._db if primary else self._replica_db).fetch(_LOOKUP, tenant_id)
        return self._sources_codec.from_rows(tenant_id, rows) if rows else None

    async def source_for(self, tenant: str, token: str) -> SourceRecord | None:
        """The active source for (tenant, token), or None (§2 applies). AuthUnavailable when
        the tenant's set is not cached and neither Redis nor PostgreSQL answers."""
        set_hash = self._hashes.get(tenant)
        if set_hash is None:
            try:
                set_hash = source_set_hash(uuid.UUID(tenant))
            except ValueError:
                return None  # no tenant has this id; §2's key check answers
            if len(self._hashes) >= _HASHES_MAX:
                self._hashes.clear()
            self._hashes[tenant] = set_hash
        sources = await self.resolve(set_hash)
        return None if sources is None else sources.find(token)
