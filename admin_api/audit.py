"""The audit trail (SPEC §8): who changed what. One row per admin change, written on the
change's own connection inside its transaction (gateway.db.Database.in_transaction), so a change
whose audit row cannot be written does not happen. Rows are only ever inserted and read."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from admin_api.pagination import PageRequest
from gateway.db import QUERIES, Database
from gateway.tokens import Principal

_LIST_SQL = {
    desc: QUERIES["list_audit"].format(order_by="at DESC, id DESC" if desc else "at ASC, id ASC")
    for desc in (False, True)
}
# A value that looks like a credential never reaches `details`, whatever a caller passes.
_SECRET_LOOKING = re.compile(r"hks_[0-9a-fA-F]{8,}|whsec_[A-Za-z0-9+/=]*|-----BEGIN")
_SECRET_FIELDS = frozenset({"key", "secret", "keyhash", "ciphertext", "token_secret"})
ACTIONS = (
    "apikey.create", "apikey.patch", "apikey.rotate", "apikey.revoke",
    "source.create", "source.patch", "source.rotate", "source.deactivate",
    "tenant.create", "tenant.deactivate",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change: the token's subject (or `cli`), its role, the request's id and the
    caller's address."""

    name: str
    role: str | None
    request_id: str | None = None
    ip: str | None = None

    @classmethod
    def of(
        cls, principal: Principal, request_id: str | None = None, ip: str | None = None
    ) -> Actor:
        role = None if principal.role is None else principal.role.label
        return cls(principal.subject or "unknown", role, request_id, ip)


CLI = Actor("cli", None)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    actor: Actor
    tenant_id: uuid.UUID
    action: str
    target_type: str
    target_id: str
    details: dict[str, Any]

    def about(self, target_id: uuid.UUID | str, **details: Any) -> AuditEntry:
        return replace(self, target_id=str(target_id), details=self.details | details)

    async def write(self, conn: asyncpg.Connection) -> None:
        a = self.actor
        await conn.execute(
            QUERIES["insert_audit"], uuid.uuid4(), self.tenant_id, a.name, a.role, self.action,
            self.target_type, self.target_id, a.request_id, a.ip, safe_details(self.details),
        )  # fmt: skip


def entry(
    actor: Actor, tenant_id: uuid.UUID, action: str, target_id: uuid.UUID | str = "", **details: Any
) -> AuditEntry:
    target_type = action.split(".", 1)[0]
    return AuditEntry(actor, tenant_id, action, target_type, str(target_id), details)


def safe_details(details: dict[str, Any]) -> str:
    """The details as JSON, without anything that could carry a secret: a field named like one
    is dropped, and a value that looks like one (a key typed into a name, say) is redacted."""
    kept = {k: v for k, v in details.items() if k.lower() not in _SECRET_FIELDS}
    text = orjson.dumps(kept, default=str).decode()
    return _SECRET_LOOKING.sub("[redacted]", text)


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: uuid.UUID
    at: datetime
    actor: str
    role: str | None
    action: str
    target_type: str
    target_id: str
    request_id: str | None
    ip: str | None
    details: dict[str, Any]

    @classmethod
    def of(cls, row: asyncpg.Record) -> AuditRow:
        values = dict(row)
        values["details"] = orjson.loads(values["details"])
        return cls(**values)


class AuditStore:
    def __init__(self, db: Database):
        self._db = db

    async def page(
        self, tenant_id: uuid.UUID, page: PageRequest, action: str | None
    ) -> tuple[int, list[AuditRow]]:
        total = await self._db.fetchval(QUERIES["count_audit"], tenant_id, action)
        if page.offset >= total:
            return total, []
        query = _LIST_SQL[page.descending]
        rows = await self._db.fetch(query, tenant_id, action, page.size, page.offset)
        return total, [AuditRow.of(r) for r in rows]
