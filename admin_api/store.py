"""SQL only: runs the named queries and returns small dataclasses. Never imports aiohttp.web."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from admin_api.pagination import PageRequest
from gateway.db import QUERIES, Database

# Fixed mapping from the API's sort fields to SQL; the client's string never reaches the query.
_SORT_SQL = {
    "id": "id",
    "name": "name",
    "isActive": "(revoked_at IS NULL)",
    "createdAt": "created_at",
    "revokedAt": "revoked_at",
}
_LIST_SQL = {
    (field, desc): QUERIES["list_keys"].format(
        order_by=f"{expr} {'DESC' if desc else 'ASC'}, id {'DESC' if desc else 'ASC'}"
    )
    for field, expr in _SORT_SQL.items()
    for desc in (False, True)
}
_MAX_OFFSET = 2**62  # a page far past the end is simply empty, never a bigint overflow


@dataclass(frozen=True, slots=True)
class KeyRow:
    id: uuid.UUID
    name: str
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: asyncpg.Record) -> KeyRow:
        return cls(row["id"], row["name"], row["created_at"], row["revoked_at"])


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
        self, key_id: uuid.UUID, tenant_id: uuid.UUID, name: str, key_hash: bytes
    ) -> KeyRow:
        row = await self._db.fetchrow(QUERIES["insert_key"], key_id, tenant_id, name, key_hash)
        assert row is not None
        return KeyRow.of(row)

    async def list_keys(self, tenant_id: uuid.UUID, page: PageRequest) -> tuple[int, list[KeyRow]]:
        total = await self._db.fetchval(QUERIES["count_keys"], tenant_id, page.is_active)
        if page.offset >= min(total, _MAX_OFFSET):
            return total, []
        query = _LIST_SQL[page.sort, page.descending]
        rows = await self._db.fetch(query, tenant_id, page.is_active, page.size, page.offset)
        return total, [KeyRow.of(r) for r in rows]

    async def revoke_key(
        self, key_id: uuid.UUID, tenant_id: uuid.UUID
    ) -> tuple[KeyRow, bytes] | None:
        """One atomic statement: of two concurrent revokes, exactly one gets the row."""
        row = await self._db.fetchrow(QUERIES["revoke_key"], key_id, tenant_id)
        return None if row is None else (KeyRow.of(row), bytes(row["key_hash"]))

    async def key_owner(self, key_id: uuid.UUID) -> uuid.UUID | None:
        owner: uuid.UUID | None = await self._db.fetchval(QUERIES["key_owner"], key_id)
        return owner


class TenantStore:
    def __init__(self, db: Database):
        self._db = db

    async def create(self, tenant_id: uuid.UUID, name: str) -> TenantRow:
        row = await self._db.fetchrow(QUERIES["insert_tenant"], tenant_id, name)
        assert row is not None
        return TenantRow(**dict(row))

    async def all(self) -> list[TenantRow]:
        return [TenantRow(**dict(r)) for r in await self._db.fetch(QUERIES["list_tenants"])]

    async def deactivate(self, tenant_id: uuid.UUID) -> list[tuple[uuid.UUID, bytes]] | None:
        """None when there is no such tenant; else the (id, hash) of its keys still active."""
        if await self._db.fetchval(QUERIES["deactivate_tenant"], tenant_id) is None:
            return None
        rows = await self._db.fetch(QUERIES["tenant_active_keys"], tenant_id)
        return [(r["id"], bytes(r["key_hash"])) for r in rows]
