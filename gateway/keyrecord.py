"""The key record (SPEC §2, §8): one home for its fields, its row mapping, its L1 form and its
versioned Redis encoding. The key cache, the admin service and the CLI all use this module.

Redis forms:
- version 0 (written by the gateway before key lifecycles): `<revoked 0|1>:<id hex>:<tenant hex>`,
  told apart by its shape; still read (a rolling deploy), as a key with no expiry and no
  address rule (the previous version could not set either);
- version 1: `k1:` + read time (17 characters, Unix seconds, PostgreSQL's clock) + `:` + JSON
  `[id, tenant, revoked, expires_at, [cidr, ...] | null]`. The read time orders two markers of one
  key (gateway.l2), so of two concurrent changes the later one stays. A revoked key's marker
  carries the highest time: revocation is final, nothing replaces it.
Anything else (a later version, damage) is a miss, never an outage.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import orjson

from gateway.codec import Undecodable
from gateway.headers import Network

_VERSION = b"k1:"
_STAMP = 17  # "%017.6f"
_FINAL_STAMP = b"9" * _STAMP  # a revoked key's marker: sorts after every real read time
L1Form = tuple[str, str, bool, float | None, tuple[Network, ...] | None, float]


class KeyRecord(NamedTuple):
    """What the gateway knows about a key: small and immutable, shared by every cache level.

    Ids are kept as the strings the proxy sends upstream. `expires_at` is Unix seconds (checked
    against the clock at request time, so a cached entry never outlives the key's expiry);
    `allowed` holds parsed networks (None = any address). `read_at` only orders Redis markers
    and takes no part in equality. A NamedTuple, not a dataclass: an L1 hit rebuilds the record
    from its plain tuple, and `_make` costs a fraction of a frozen dataclass's __init__
    (bench/l1hit.py).
    """

    key_id_str: str
    tenant_id_str: str
    revoked: bool
    expires_at: float | None = None
    allowed: tuple[Network, ...] | None = None
    read_at: float = 0.0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KeyRecord) and self[:5] == other[:5]

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self[:5])

    @classmethod
    def of(
        cls,
        key_id: uuid.UUID,
        tenant_id: uuid.UUID,
        revoked: bool,
        expires_at: float | None = None,
        allowed: Iterable[Network] | None = None,
        read_at: float = 0.0,
    ) -> KeyRecord:
        nets = None if allowed is None else tuple(allowed)
        return cls(str(key_id), str(tenant_id), revoked, expires_at, nets, read_at)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> KeyRecord:
        """A lookup_key / key-change row: id, tenant_id, revoked, expires_at (epoch seconds),
        allowed_cidrs (cidr[] or NULL), read_at (epoch seconds)."""
        return cls.of(
            row["id"],
            row["tenant_id"],
            row["revoked"],
            row["expires_at"],
            row["allowed_cidrs"],
            row["read_at"],
        )

    @property
    def key_id(self) -> uuid.UUID:
        return uuid.UUID(self.key_id_str)

    @property
    def tenant_id(self) -> uuid.UUID:
        return uuid.UUID(self.tenant_id_str)

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def admits(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
        """Whether a sender at `address` may use the key (None: an address that cannot be read,
        which a key with an address rule refuses)."""
        if self.allowed is None:
            return True
        if address is None:
            return False
        return any(address.version == n.version and address in n for n in self.allowed)


def parse_networks(values: Iterable[str], *, strict: bool = True) -> tuple[Network, ...]:
    """CIDR strings as networks; ValueError names the bad one. `strict`: host bits must be
    zero (else they are cleared)."""
    return tuple(ipaddress.ip_network(v, strict=strict) for v in values)


class KeyRecordCodec:
    namespace = "key"
    order_prefix = len(_VERSION) + _STAMP

    def encode(self, record: KeyRecord) -> bytes:
        stamp = _FINAL_STAMP if record.revoked else f"{record.read_at:0{_STAMP}.6f}".encode()
        nets = None if record.allowed is None else [str(n) for n in record.allowed]
        body = [record.key_id_str, record.tenant_id_str, record.revoked, record.expires_at, nets]
        return _VERSION + stamp + b":" + orjson.dumps(body)

    def decode(self, raw: bytes) -> KeyRecord:
        if not raw.startswith(_VERSION):
            return _decode_v0(raw)
        try:
            key_id, tenant_id, revoked, expires_at, nets = orjson.loads(
                raw[self.order_prefix + 1 :]
            )
            read_at = 0.0 if revoked else float(raw[len(_VERSION) : self.order_prefix])
            allowed = None if nets is None else parse_networks(nets)
            expires = None if expires_at is None else float(expires_at)
            return KeyRecord.of(
                uuid.UUID(key_id), uuid.UUID(tenant_id), bool(revoked), expires, allowed, read_at
            )
        except (ValueError, TypeError) as exc:
            raise Undecodable("a damaged key record") from exc

    def to_l1(self, record: KeyRecord) -> L1Form:
        # A plain tuple: with no address rule it holds only atoms, which the garbage collector
        # stops tracking (docs/decisions.md, "Key cache").
        return tuple(record)  # type: ignore[return-value]

    def from_l1(self, entry: L1Form) -> KeyRecord:
        return KeyRecord._make(entry)

    def final(self, record: KeyRecord) -> bool:
        return record.revoked

    def label(self, record: KeyRecord) -> str:
        return record.key_id_str


def _decode_v0(raw: bytes) -> KeyRecord:
    try:
        revoked, key_id, tenant_id = raw.decode().split(":")
        if revoked not in ("0", "1"):
            raise ValueError(revoked)
        return KeyRecord.of(uuid.UUID(key_id), uuid.UUID(tenant_id), revoked == "1")
    except ValueError:  # UnicodeDecodeError included
        raise Undecodable("not a key record") from None


KEY_CODEC = KeyRecordCodec()
