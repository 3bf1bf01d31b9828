"""SQL only: runs the named queries and returns small dataclasses. Never imports aiohttp.web."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from admin_api.audit import CLI, AuditEntry, entry
from admin_api.listing import PagedQuery
from admin_api.pagination import PageRequest
from gateway.db import QUERIES, Database
from gateway.headers import Network
from gateway.keyrecord import KeyRecord

# Fixed mapping from the API's sort fields to SQL; the client's string never reaches the query.
_SORT_SQL = {
    "id": "id",
    "name": "name",
    "isActive": "(revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()))",
    "createdAt": "created_at",
    "revokedAt": "revoked_at",
    "expiresAt": "expires_at",
    "lastUsedAt": "last_used_at",
}
_PAGES = PagedQuery("count_keys", "list_keys", _SORT_SQL)


@dataclass(frozen=True, slots=True)
class KeyRow:
    """A key as the admin API shows it (never its hash)."""

    id: uuid.UUID
    name: str
    created_at: datetime
    revoked_at: datetime | None
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    allowed_cidrs: tuple[Network, ...] | None = None

    @classmethod
    def of(cls, row: asyncpg.Record) -> KeyRow:
        cidrs = row["allowed_cidrs"]
        return cls(
            row["id"], row["name"], row["created_at"], row["revoked_at"], row["expires_at"],
            row["last_used_at"], None if cidrs is None else tuple(cidrs),
        )  # fmt: skip

    def is_active(self, now: datetime) -> bool:
        """Usable now: neither revoked nor expired (SPEC §8)."""
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


@dataclass(frozen=True, slots=True)
class KeyChange:
    """What a key's change returns: the key's new row, its hash and its new cache record."""

    row: KeyRow
    key_hash: bytes
    record: KeyRecord

    @classmethod
    def of(cls, row: asyncpg.Record) -> KeyChange:
        record = KeyRecord.of(
            row["id"], row["tenant_id"], row["revoked"], row["expires_epoch"],
            row["allowed_cidrs"], row["read_at"],
        )  # fmt: skip
        return cls(KeyRow.of(row), bytes(row["key_hash"]), record)


@dataclass(frozen=True, slots=True)
class KeyPatch:
    """Fields to change; `None` in a `set_*` flag's value clears it."""

    name: str | None = None
    set_expiry: bool = False
    expires_at: datetime | None = None
    set_cidrs: bool = False
    cidrs: tuple[Network, ...] | None = None


@dataclass(frozen=True, slots=True)
class TenantRow:
    id: uuid.UUID
    name: str
    is_active: bool
    created_at: datetime


class KeyStore:
    def __init__(self, db: Database):
        self._db = db

    async def tenant_is_active(self, tenant_id: uuid.UUID) -> bool:
        return bool(await self._db.fetchval(QUERIES["tenant_is_active"], tenant_id))

    async def insert_key(
        self,
        key_id: uuid.UUID,
        tenant_id: uuid.UUID,
        name: str,
        key_hash: bytes,
        audit: AuditEntry,
        expires_at: datetime | None = None,
        cidrs: tuple[Network, ...] | None = None,
    ) -> KeyRow:
        async def work(conn: asyncpg.Connection) -> KeyRow:
            args = (key_id, tenant_id, name, key_hash, expires_at, _cidrs(cidrs))
            row = KeyRow.of(await conn.fetchrow(QUERIES["insert_key_with_lifecycle"], *args))
            await audit.about(key_id).write(conn)
            return row

        return await self._db.in_transaction(work)

    async def get_key(self, key_id: uuid.UUID, tenant_id: uuid.UUID) -> KeyRow | None:
        row = await self._db.fetchrow(QUERIES["get_key"], key_id, tenant_id)
        return None if row is None else KeyRow.of(row)

    async def patch_key(
        self, key_id: uuid.UUID, tenant_id: uuid.UUID, patch: KeyPatch, audit: AuditEntry
    ) -> KeyChange | None:
        args = (key_id, tenant_id, patch.name, patch.set_expiry, patch.expires_at,
                patch.set_cidrs, _cidrs(patch.cidrs))  # fmt: skip

        async def work(conn: asyncpg.Connection) -> KeyChange | None:
            row = await conn.fetchrow(QUERIES["patch_key"], *args)
            if row is None:
                return None
            await audit.about(key_id).write(conn)
            return KeyChange.of(row)

        return await self._db.in_transaction(work)

    async def rotate_key(
        self,
        key_id: uuid.UUID,
        tenant_id: uuid.UUID,
        overlap: int,
        new: tuple[uuid.UUID, str | None, bytes],
        audit: AuditEntry,
    ) -> tuple[KeyChange, KeyRow] | None:
        """The old key's expiry shortened and the new key inserted, in one transaction."""
        new_id, new_name, new_hash = new

        async def work(conn: asyncpg.Connection) -> tuple[KeyChange, KeyRow] | None:
            row = await conn.fetchrow(QUERIES["end_key_for_rotation"], key_id, tenant_id, overlap)
            if row is None:
                return None
            old = KeyChange.of(row)
            args = (
                new_id,
                tenant_id,
                new_name or old.row.name,
                new_hash,
                None,
                row["allowed_cidrs"],
            )
            created = KeyRow.of(await conn.fetchrow(QUERIES["insert_key_with_lifecycle"], *args))
            await audit.about(key_id, newKeyId=str(new_id), overlapSeconds=overlap).write(conn)
            return old, created

        return await self._db.in_transaction(work)

    async def list_keys(self, tenant_id: uuid.UUID, page: PageRequest) -> tuple[int, list[KeyRow]]:
        total, rows = await _PAGES.fetch(self._db, page, tenant_id, page.is_active)
        return total, [KeyRow.of(r) for r in rows]

    async def revoke_key(
        self, key_id: uuid.UUID, tenant_id: uuid.UUID, audit: AuditEntry
    ) -> tuple[KeyRow, bytes] | None:
        """One atomic statement: of two concurrent revokes, exactly one gets the row."""

        async def work(conn: asyncpg.Connection) -> tuple[KeyRow, bytes] | None:
            row = await conn.fetchrow(QUERIES["revoke_key"], key_id, tenant_id)
            if row is None:
                return None
            await audit.about(key_id).write(conn)
            return KeyRow.of(row), bytes(row["key_hash"])

        return await self._db.in_transaction(work)

    async def key_owner(self, key_id: uuid.UUID) -> uuid.UUID | None:
        owner: uuid.UUID | None = await self._db.fetchval(QUERIES["key_owner"], key_id)
        return owner


class TenantStore:
    def __init__(self, db: Database):
        self._db = db

    async def create(self, tenant_id: uuid.UUID, name: str) -> TenantRow:
        """Audited as the CLI's change (the only way tenants are made here)."""

        async def work(conn: asyncpg.Connection) -> TenantRow:
            row = await conn.fetchrow(QUERIES["insert_tenant"], tenant_id, name)
            await entry(CLI, tenant_id, "tenant.create", tenant_id, name=name).write(conn)
            return TenantRow(**dict(row))

        return await self._db.in_transaction(work)

    async def all(self) -> list[TenantRow]:
        return [TenantRow(**dict(r)) for r in await self._db.fetch(QUERIES["list_tenants"])]

    async def deactivate(self, tenant_id: uuid.UUID) -> list[tuple[uuid.UUID, bytes]] | None:
        """None when there is no such tenant; else the (id, hash) of its keys still active."""

        async def work(conn: asyncpg.Connection) -> list[tuple[uuid.UUID, bytes]] | None:
            if await conn.fetchval(QUERIES["deactivate_tenant"], tenant_id) is None:
                return None
            rows = await conn.fetch(QUERIES["tenant_active_keys"], tenant_id)
            await entry(CLI, tenant_id, "tenant.deactivate", tenant_id, keys=len(rows)).write(conn)
            return [(r["id"], bytes(r["key_hash"])) for r in rows]

        return await self._db.in_transaction(work)


def _cidrs(cidrs: tuple[Network, ...] | None) -> list[Network] | None:
    return None if cidrs is None else list(cidrs)
