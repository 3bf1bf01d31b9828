"""The key check's cache: a RecordCache of KeyRecords, looked up by the key's SHA-256.

The machinery (L1, singleflight, fill lease, epoch, gap rules) is gateway.recordcache's; this
module says how PostgreSQL answers for a key. gateway.caches builds it with its listener.
"""

from __future__ import annotations

from typing import Any, Protocol

from gateway.config import Config
from gateway.db import QUERIES
from gateway.keyrecord import KEY_CODEC, KeyRecord
from gateway.recordcache import RecordCache, RecordL2

_LOOKUP_KEY = QUERIES["lookup_key"]


class KeyStore(Protocol):
    """What the cache needs from PostgreSQL (gateway.db.Database)."""

    async def fetchrow(self, query: str, *args: Any) -> Any: ...


class KeyCache(RecordCache[KeyRecord]):
    """Resolves key hashes to records; one per process, shared by every request."""

    def __init__(
        self,
        config: Config,
        db: KeyStore,
        l2: RecordL2[KeyRecord],
        replica: KeyStore | None = None,
    ):
        super().__init__(config, l2, KEY_CODEC, replica=replica is not None)
        self._db = db
        self._replica_db = replica or db

    async def load(self, key_hash: bytes, *, primary: bool = True) -> KeyRecord | None:
        db = self._db if primary else self._replica_db
        row = await db.fetchrow(_LOOKUP_KEY, key_hash)
        return None if row is None else KeyRecord.from_row(row)
