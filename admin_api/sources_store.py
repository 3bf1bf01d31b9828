"""SQL only, for sources: runs the named queries and returns small dataclasses."""

from __future__ import annotations

import dataclasses
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from admin_api.audit import AuditEntry
from admin_api.listing import PagedQuery
from admin_api.pagination import PageRequest
from gateway.db import QUERIES, Database

# Fixed mapping from the API's sort fields to SQL; the client's string never reaches the query.
_SORT_SQL = {
    "id": "id",
    "name": "name",
    "provider": "provider",
    "isActive": "(deactivated_at IS NULL)",
    "createdAt": "created_at",
}
_PAGES = PagedQuery("count_sources", "list_sources", _SORT_SQL)


class SourceExists(Exception):
    """The tenant already has an active source for this token."""


@dataclass(frozen=True, slots=True)
class SecretRow:
    id: uuid.UUID
    created_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class SourceRow:
    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    provider: str
    token: str
    require_api_key: bool
    tolerance_seconds: int
    dedup_seconds: int
    created_at: datetime
    deactivated_at: datetime | None
    secrets: tuple[SecretRow, ...] = ()

    @classmethod
    def of(cls, row: asyncpg.Record, secrets: tuple[SecretRow, ...] = ()) -> SourceRow:
        return cls(**dict(row), secrets=secrets)


@dataclass(frozen=True, slots=True)
class NewSource:
    name: str
    provider: str
    token: str
    require_api_key: bool
    tolerance_seconds: int
    dedup_seconds: int


class SourceStore:
    def __init__(self, db: Database):
        self._db = db

    async def insert(
        self,
        source_id: uuid.UUID,
        tenant_id: uuid.UUID,
        new: NewSource,
        ciphertext: bytes,
        audit: AuditEntry | None = None,
    ) -> SourceRow:
        """The source and its first secret in one statement (the row without its secrets: see
        `with_secrets`). SourceExists on a second active source for the token."""
        args: tuple[Any, ...] = (new.name, new.provider, new.token, new.require_api_key)
        args += (new.tolerance_seconds, new.dedup_seconds, uuid.uuid4(), ciphertext)
        try:
            row = await self._audited(
                "fetchrow", QUERIES["insert_source"], (source_id, tenant_id, *args), audit
            )
        except asyncpg.UniqueViolationError:
            raise SourceExists() from None
        assert row is not None
        return SourceRow.of(row)

    async def get(
        self, source_id: uuid.UUID, tenant_id: uuid.UUID, *, secrets: bool = True
    ) -> SourceRow | None:
        row = await self._db.fetchrow(QUERIES["get_source"], source_id, tenant_id)
        if row is None:
            return None
        return await self.with_secrets(SourceRow.of(row)) if secrets else SourceRow.of(row)

    async def owner(self, source_id: uuid.UUID) -> uuid.UUID | None:
        owner: uuid.UUID | None = await self._db.fetchval(QUERIES["source_owner"], source_id)
        return owner

    async def page(self, tenant_id: uuid.UUID, page: PageRequest) -> tuple[int, list[SourceRow]]:
        total, rows = await _PAGES.fetch(self._db, page, tenant_id, page.is_active)
        secrets = await self._secrets_of([r["id"] for r in rows])
        return total, [SourceRow.of(r, secrets.get(r["id"], ())) for r in rows]

    async def patch(
        self,
        source_id: uuid.UUID,
        tenant_id: uuid.UUID,
        changes: dict[str, Any],
        audit: AuditEntry | None = None,
    ) -> SourceRow | None:
        """None when there is no active source with this id for the tenant (the row without
        its secrets otherwise)."""
        fields = ("name", "require_api_key", "tolerance_seconds", "dedup_seconds")
        values = [changes.get(f) for f in fields]
        row = await self._audited(
            "fetchrow", QUERIES["patch_source"], (source_id, tenant_id, *values), audit
        )
        return None if row is None else SourceRow.of(row)

    async def rotate(
        self,
        source_id: uuid.UUID,
        tenant_id: uuid.UUID,
        ciphertext: bytes,
        overlap: int,
        audit: AuditEntry | None = None,
    ) -> bool:
        """Add a secret; older ones end at now + overlap (never later than they would). False
        when there is no active source with this id for the tenant."""
        query = QUERIES["rotate_source_secret"]
        args = (source_id, tenant_id, uuid.uuid4(), ciphertext, overlap)
        done = await self._audited("fetchval", query, args, audit)
        return done is not None

    async def deactivate(
        self, source_id: uuid.UUID, tenant_id: uuid.UUID, audit: AuditEntry | None = None
    ) -> SourceRow | None:
        """One atomic statement: of two concurrent deactivations, exactly one gets the row
        (without its secrets)."""
        query = QUERIES["deactivate_source"]
        row = await self._audited("fetchrow", query, (source_id, tenant_id), audit)
        return None if row is None else SourceRow.of(row)

    async def _audited(
        self, method: str, query: str, args: tuple[Any, ...], audit: AuditEntry | None
    ) -> Any:
        """The change and its audit row in one transaction (no row changed: no audit row)."""
        if audit is None:
            return await getattr(self._db, method)(query, *args)

        async def work(conn: asyncpg.Connection) -> Any:
            result = await getattr(conn, method)(query, *args)
            if result is not None:
                await audit.write(conn)
            return result

        return await self._db.in_transaction(work)

    async def with_secrets(self, row: SourceRow) -> SourceRow:
        """The row with its secrets' ids and times (read after a change has been announced,
        so the other processes learn of it one query sooner)."""
        secrets = await self._secrets_of([row.id])
        return dataclasses.replace(row, secrets=secrets.get(row.id, ()))

    async def _secrets_of(
        self, source_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, tuple[SecretRow, ...]]:
        found: dict[uuid.UUID, list[SecretRow]] = defaultdict(list)
        for r in await self._db.fetch(QUERIES["source_secrets"], source_ids):
            found[r["source_id"]].append(SecretRow(r["id"], r["created_at"], r["expires_at"]))
        return {k: tuple(v) for k, v in found.items()}
