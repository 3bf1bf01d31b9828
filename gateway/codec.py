"""What a cache needs to know about its record: its Redis form, its L1 form, and its markers.

Each record (gateway.apikeys.KeyRecord, gateway.sources.TenantSources) has one codec beside its
definition; the cache machinery (gateway.recordcache, gateway.l2) is written once against this.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

R = TypeVar("R")


class Undecodable(ValueError):
    """A cached value this process cannot read (another version's, or damaged): a miss, not a
    Redis failure, so that a rolling deploy with a changed record never looks like an outage."""


class RecordCodec(Protocol[R]):
    #: The Redis key's middle part: `<prefix><namespace>:<cache hash hex>`.
    namespace: str
    #: How many leading bytes of the Redis form order two values by freshness (a read time),
    #: so that a marker never replaces a fresher one written by a concurrent change; 0 = the
    #: marker always replaces (a revoked key is final whatever was there).
    order_prefix: int

    def encode(self, record: R) -> bytes:
        """The versioned Redis form (never a plaintext secret)."""
        ...

    def decode(self, raw: bytes) -> R:
        """Raises Undecodable for a value of another version or a damaged one."""
        ...

    def to_l1(self, record: R) -> Any:
        """The form L1 keeps (for keys: a plain tuple the garbage collector does not track)."""
        ...

    def from_l1(self, entry: Any) -> R: ...

    def final(self, record: R) -> bool:
        """A marker (a revoked key): never filled by a lookup, trusted from Redis after a gap."""
        ...

    def label(self, record: R) -> str:
        """What a log line may say about the record (an id, never a secret)."""
        ...
