"""API keys as values: generating, hashing and recognising them. Pure functions, no I/O."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from typing import NamedTuple

from gateway.codec import Undecodable

KEY_PREFIX = "hks_"
_KEY_FORM = re.compile(r"hks_[0-9a-f]{32}")


class KeyRecord(NamedTuple):
    """What the gateway knows about a key: small and immutable, shared by every cache level.

    Ids are kept as the strings the proxy sends upstream. Strings and a bool only: the key cache
    holds each record's fields as a plain tuple, which the garbage collector stops tracking, so
    a cache of many keys adds nothing to its pauses (docs/decisions.md, "Key cache").
    """

    key_id_str: str
    tenant_id_str: str
    revoked: bool

    @classmethod
    def of(cls, key_id: uuid.UUID, tenant_id: uuid.UUID, revoked: bool) -> KeyRecord:
        return cls(str(key_id), str(tenant_id), revoked)

    @property
    def key_id(self) -> uuid.UUID:
        return uuid.UUID(self.key_id_str)

    @property
    def tenant_id(self) -> uuid.UUID:
        return uuid.UUID(self.tenant_id_str)


def generate_key() -> str:
    """`hks_` + 32 lowercase hex characters: 128 random bits from `secrets`."""
    return KEY_PREFIX + secrets.token_hex(16)


def hash_key(key: str) -> bytes:
    """SHA-256 of the full key string: the only form in which a key is stored or cached."""
    return hashlib.sha256(key.encode()).digest()


def is_well_formed(key: str) -> bool:
    return _KEY_FORM.fullmatch(key) is not None


class KeyRecordCodec:
    """KeyRecord's Redis form `<revoked 0|1>:<id hex>:<tenant hex>`: version 0, told apart by
    its shape. A later version gets a tag (`k2:...`); this code reads it as a miss."""

    namespace = "key"
    order_prefix = 0

    def encode(self, record: KeyRecord) -> bytes:
        return f"{int(record.revoked)}:{record.key_id.hex}:{record.tenant_id.hex}".encode()

    def decode(self, raw: bytes) -> KeyRecord:
        try:
            revoked, key_id, tenant_id = raw.decode().split(":")
            if revoked not in ("0", "1"):
                raise ValueError(revoked)
            return KeyRecord.of(uuid.UUID(key_id), uuid.UUID(tenant_id), revoked == "1")
        except ValueError:  # UnicodeDecodeError included
            raise Undecodable("not a version-0 key record") from None

    def to_l1(self, record: KeyRecord) -> tuple[str, str, bool]:
        return (record.key_id_str, record.tenant_id_str, record.revoked)

    def from_l1(self, entry: tuple[str, str, bool]) -> KeyRecord:
        return KeyRecord._make(entry)

    def final(self, record: KeyRecord) -> bool:
        return record.revoked

    def label(self, record: KeyRecord) -> str:
        return record.key_id_str


KEY_CODEC = KeyRecordCodec()
