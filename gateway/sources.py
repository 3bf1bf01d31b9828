"""The source record (SPEC §6): what the ingest path knows about a tenant's sources.

One home for its fields, its row mapping, its L1 form and its versioned Redis encoding. The
cache holds one record per tenant, the set of its active sources (possibly empty), so a token
without a source is answered from a positive entry that Redis can share (SPEC §6's availability
rule; docs/decisions.md "Sources: the per-tenant source set").

Secrets: PostgreSQL and Redis hold only the SecretBox ciphertext; the HMAC key bytes exist only
in this process's record (`SourceSecret.key`), which never reaches a log line or Redis.
"""

from __future__ import annotations

import base64
import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from gateway.codec import Undecodable
from gateway.errors import AuthUnavailable
from gateway.secretbox import SecretBox, SecretBoxError
from gateway.signatures import signing_key

log = logging.getLogger(__name__)

_VERSION = b"s1:"
_STAMP = 17  # the read time, "%017.6f" (Unix seconds): orders two forms of one set (gateway.l2)
_SET_TAG = b"S"  # a source set's cache hash: tag + the tenant's 16 bytes (keys' are 32 bytes)


def source_set_hash(tenant_id: uuid.UUID) -> bytes:
    """The cache hash (and invalidation message) of a tenant's source set."""
    return _SET_TAG + tenant_id.bytes


def tenant_of(set_hash: bytes) -> uuid.UUID:
    return uuid.UUID(bytes=set_hash[1:])


@dataclass(frozen=True, slots=True)
class SourceSecret:
    secret_id: str
    ciphertext: bytes
    expires_at: float | None  # Unix seconds; None = until rotated away
    key: bytes | None = field(repr=False)  # the HMAC key; None when it cannot be decrypted


@dataclass(frozen=True, slots=True)
class SourceRecord:
    source_id: str
    token: str
    provider: str
    require_api_key: bool
    tolerance_seconds: int
    dedup_seconds: int
    secrets: tuple[SourceSecret, ...]

    def keys_at(self, now: float) -> list[bytes]:
        """HMAC keys of the secrets unexpired at `now` (expiry is checked here, at verification
        time, so an L1 entry never serves an expired secret). A live secret that cannot be
        decrypted makes the source uncheckable: 503, never a 401."""
        keys = []
        for secret in self.secrets:
            if secret.expires_at is not None and secret.expires_at <= now:
                continue
            if secret.key is None:
                raise AuthUnavailable("The source's secrets cannot be read right now.")
            keys.append(secret.key)
        return keys


@dataclass(frozen=True, slots=True)
class TenantSources:
    """A tenant's active sources by token; empty for a tenant without sources (or inactive)."""

    tenant_id: str
    by_token: Mapping[str, SourceRecord]
    read_at: float = 0.0  # when PostgreSQL was asked (its clock): the fresher of two sets wins
    active: bool = True  # the tenant's own state (the rejection log records active tenants only)

    def find(self, token: str) -> SourceRecord | None:
        return self.by_token.get(token)


class SourceSetCodec:
    """`s1:` + read time + `:` + JSON; ciphertexts in base64. Another version, or damage, is a
    miss."""

    namespace = "sources"
    order_prefix = len(_VERSION) + _STAMP

    def __init__(self, box: SecretBox):
        self._box = box

    def encode(self, record: TenantSources) -> bytes:
        sources = [
            [s.source_id, s.token, s.provider, s.require_api_key, s.tolerance_seconds,
             s.dedup_seconds,
             [[k.secret_id, base64.b64encode(k.ciphertext).decode(), k.expires_at]
              for k in s.secrets]]
            for s in record.by_token.values()
        ]  # fmt: skip
        stamp = f"{record.read_at:0{_STAMP}.6f}".encode()
        # An inactive tenant's set carries a third item; sets written before it existed read as
        # active (for at most the Redis TTL after an upgrade; only the rejection log asks).
        extra = [] if record.active else [False]
        return _VERSION + stamp + b":" + orjson.dumps([record.tenant_id, sources, *extra])

    def decode(self, raw: bytes) -> TenantSources:
        if not raw.startswith(_VERSION):
            raise Undecodable("not a version-1 source set")
        try:
            read_at = float(raw[len(_VERSION) : self.order_prefix])
            tenant_id, sources, *extra = orjson.loads(raw[self.order_prefix + 1 :])
            by_token = {s.token: s for s in map(self._source, sources)}
            return TenantSources(tenant_id, by_token, read_at, not extra or bool(extra[0]))
        except (ValueError, TypeError, KeyError) as exc:
            raise Undecodable("a damaged source set") from exc

    def _source(self, fields: list[Any]) -> SourceRecord:
        source_id, token, provider, require, tolerance, dedup, secrets = fields
        opened = tuple(
            self.secret(provider, secret_id, base64.b64decode(blob), expires)
            for secret_id, blob, expires in secrets
        )
        return SourceRecord(source_id, token, provider, bool(require), tolerance, dedup, opened)

    def secret(
        self, provider: str, secret_id: str, ciphertext: bytes, expires_at: float | None
    ) -> SourceSecret:
        """The secret with its HMAC key decrypted (None, logged, when it cannot be)."""
        try:
            key = signing_key(provider, self._box.decrypt(ciphertext).decode())
        except (SecretBoxError, UnicodeDecodeError, ValueError):
            log.error("a source secret cannot be decrypted", extra={"secret_id": secret_id})
            key = None
        return SourceSecret(secret_id, ciphertext, expires_at, key)

    def from_rows(self, tenant_id: uuid.UUID, rows: Iterable[Mapping[str, Any]]) -> TenantSources:
        """PostgreSQL's lookup_tenant_sources rows (one per secret) as the record."""
        fields: dict[str, list[Any]] = {}
        secrets: dict[str, list[SourceSecret]] = {}
        read_at, active = 0.0, True
        for row in rows:
            read_at, active = row["read_at"], row["is_active"]
            if not row["is_active"] or row["source_id"] is None:
                continue
            sid = str(row["source_id"])
            if sid not in fields:
                fields[sid] = [row["token"], row["provider"], row["require_api_key"],
                               row["tolerance_seconds"], row["dedup_seconds"]]  # fmt: skip
                secrets[sid] = []
            if row["secret_id"] is not None:
                secret = self.secret(
                    row["provider"], str(row["secret_id"]), bytes(row["ciphertext"]),
                    row["expires_at"],
                )  # fmt: skip
                secrets[sid].append(secret)
        by_token = {
            token: SourceRecord(
                sid, token, provider, require, tolerance, dedup, tuple(secrets[sid])
            )
            for sid, (token, provider, require, tolerance, dedup) in fields.items()
        }
        return TenantSources(str(tenant_id), by_token, read_at, active)

    def to_l1(self, record: TenantSources) -> TenantSources:
        return record

    def from_l1(self, entry: TenantSources) -> TenantSources:
        return entry

    def final(self, record: TenantSources) -> bool:
        return False  # a changed set replaces the entry; nothing about it is ever final

    def label(self, record: TenantSources) -> str:
        return f"sources of tenant {record.tenant_id}"
