"""Decisions about keys: roles, tenant checks, validation. Raises domain errors; no HTTP here."""

from __future__ import annotations

import logging
import re
import time
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from admin_api import lifecycle
from admin_api.audit import Actor, entry
from admin_api.pagination import PageRequest
from admin_api.store import KeyRow, KeyStore, TenantStore
from gateway.apikeys import KeyRecord, generate_key, hash_key
from gateway.errors import Forbidden, GatewayError, NotFound, ValidationFailed
from gateway.l2 import RedisL2
from gateway.sources import TenantSources, source_set_hash
from gateway.tokens import Principal, Role

log = logging.getLogger(__name__)

NAME_MAX = 100
# A key id in the canonical 8-4-4-4-12 form only (uuid.UUID alone would also take braces,
# `urn:uuid:` and bare hex): one spelling per key, as the OpenAPI document says.
KEY_ID_FORM = re.compile(
    r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
)


class LocalCache(Protocol):
    def invalidate(self, key_hash: bytes) -> None: ...


@dataclass(frozen=True, slots=True)
class CreatedKey:
    row: KeyRow
    key: str  # the plain key: returned once, never stored, never logged


class KeyService:
    def __init__(self, store: KeyStore, l2: RedisL2[KeyRecord], local: LocalCache | None = None):
        self._store = store
        self._l2 = l2
        self._local = local

    async def check_tenant(self, principal: Principal) -> None:
        """Every admin call: the token's tenant must exist and be active."""
        if not await self._store.tenant_is_active(principal.tenant_id):
            raise NotFound("The tenant does not exist or is not active.")

    async def create(
        self, principal: Principal, body: Any, actor: Actor | None = None
    ) -> CreatedKey:
        await self.check_tenant(principal)
        require_writer(principal)
        name = validate_name(body)
        expires_at = lifecycle.expiry(body, "expiresAt") if "expiresAt" in body else None
        key = generate_key()
        key_hash = hash_key(key)
        key_id = uuid.uuid4()
        audit = entry(_actor(principal, actor), principal.tenant_id, "apikey.create", key_id,
                      name=name, expiresAt=lifecycle.iso(expires_at))  # fmt: skip
        row = await self._store.insert_key(
            key_id, principal.tenant_id, name, key_hash, audit, expires_at
        )
        # Clears negative L1 entries everywhere: a sender may have tried the key a moment early.
        await self._l2.publish(key_hash)
        self._evict_locally(key_hash)
        _log("api key created", principal, row.id)
        return CreatedKey(row, key)

    async def list(self, principal: Principal, page: PageRequest) -> tuple[int, list[KeyRow]]:
        await self._reader(principal)
        return await self._store.list_keys(principal.tenant_id, page)

    async def get(self, principal: Principal, raw_id: str, *, revoked: bool = False) -> KeyRow:
        """A key, expired ones too. A revoked key is gone from its URL (404, as a deactivated
        source is; it stays in the list), unless `revoked` (the console's page of it)."""
        await self._reader(principal)
        key_id = _parse_uuid(raw_id)
        row = await self._store.get_key(key_id, principal.tenant_id)
        if row is None or (row.revoked_at is not None and not revoked):
            raise await self._missing(principal, key_id)
        return row

    async def patch(
        self, principal: Principal, raw_id: str, body: Any, actor: Actor | None = None
    ) -> KeyRow:
        await self.check_tenant(principal)
        require_writer(principal)
        key_id = _parse_uuid(raw_id)
        patch, details = lifecycle.parse_patch(body)
        audit = entry(_actor(principal, actor), principal.tenant_id, "apikey.patch", key_id,
                      **details)  # fmt: skip
        change = await self._store.patch_key(key_id, principal.tenant_id, patch, audit)
        if change is None:
            raise await self._missing(principal, key_id)
        await self._l2.revoke(change.key_hash, change.record)  # the new record, everywhere
        self._evict_locally(change.key_hash)
        _log("api key changed", principal, key_id)
        return change.row

    async def rotate(
        self, principal: Principal, raw_id: str, body: Any, actor: Actor | None = None
    ) -> tuple[CreatedKey, KeyRow]:
        """(the new key, the old key as it is now)."""
        await self.check_tenant(principal)
        require_writer(principal)
        key_id = _parse_uuid(raw_id)
        overlap, name = lifecycle.parse_rotate(body)
        key = generate_key()
        key_hash = hash_key(key)
        new_id = uuid.uuid4()
        audit = entry(_actor(principal, actor), principal.tenant_id, "apikey.rotate", key_id)
        rotated = await self._store.rotate_key(
            key_id, principal.tenant_id, overlap, (new_id, name, key_hash), audit
        )
        if rotated is None:
            raise await self._missing(principal, key_id)
        old, created = rotated
        await self._l2.revoke(old.key_hash, old.record)  # its new expiry, everywhere
        self._evict_locally(old.key_hash)
        await self._l2.publish(key_hash)
        self._evict_locally(key_hash)
        _log("api key rotated", principal, key_id)
        return CreatedKey(created, key), old.row

    async def revoke(self, principal: Principal, raw_id: str, actor: Actor | None = None) -> KeyRow:
        await self.check_tenant(principal)
        require_writer(principal)
        key_id = _parse_uuid(raw_id)
        audit = entry(_actor(principal, actor), principal.tenant_id, "apikey.revoke", key_id)
        revoked = await self._store.revoke_key(key_id, principal.tenant_id, audit)
        if revoked is None:
            raise await self._missing(principal, key_id)
        row, key_hash = revoked
        await self._l2.revoke(key_hash, KeyRecord.of(row.id, principal.tenant_id, revoked=True))
        self._evict_locally(key_hash)  # this process rejects the key before the 200 leaves
        _log("api key revoked", principal, row.id)
        return row

    async def _reader(self, principal: Principal) -> None:
        await self.check_tenant(principal)
        if principal.role is None:
            raise Forbidden("Your role does not allow viewing API keys.")

    async def _missing(self, principal: Principal, key_id: uuid.UUID) -> GatewayError:
        owner = await self._store.key_owner(key_id)
        if owner is not None and owner != principal.tenant_id:
            return Forbidden("The API key belongs to another tenant.")
        return NotFound("No active API key with this id.")

    def _evict_locally(self, key_hash: bytes) -> None:
        if self._local is not None:
            self._local.invalidate(key_hash)


def _actor(principal: Principal, actor: Actor | None) -> Actor:
    return actor if actor is not None else Actor.of(principal)


def _log(message: str, principal: Principal, key_id: uuid.UUID) -> None:
    log.info(message, extra={"tenant_id": str(principal.tenant_id), "key_id": str(key_id)})


async def deactivate_tenant(
    store: TenantStore,
    l2: RedisL2[KeyRecord] | None,
    tenant_id: uuid.UUID,
    sources: RedisL2[TenantSources] | None = None,
) -> bool:
    """Deactivate a tenant; its keys then fail everywhere like revoked ones (False: no tenant).

    PostgreSQL already answers "revoked" for them, but Redis may hold them as active: each gets a
    revocation marker and an invalidation, exactly as a revoke does.
    """
    keys = await store.deactivate(tenant_id)
    if keys is None:
        return False
    if l2 is not None:
        for key_id, key_hash in keys:
            await l2.revoke(key_hash, KeyRecord.of(key_id, tenant_id, revoked=True))
    if sources is not None:  # its sources stop too: an empty set replaces the cached one
        empty = TenantSources(str(tenant_id), {}, time.time(), active=False)
        await sources.revoke(source_set_hash(tenant_id), empty)
    log.info("tenant deactivated", extra={"tenant_id": str(tenant_id), "keys": len(keys)})
    return True


def validate_name(body: Any) -> str:
    if not isinstance(body, dict):
        raise ValidationFailed("The body must be a JSON object.")
    name = body.get("name")
    if name is None:
        raise ValidationFailed("name is required.", field="name")
    if not isinstance(name, str):
        raise ValidationFailed("name must be a string.", field="name")
    name = name.strip()
    if not 1 <= len(name) <= NAME_MAX:
        raise ValidationFailed(f"name must be 1 to {NAME_MAX} characters long.", field="name")
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise ValidationFailed("name must not contain control characters.", field="name")
    return name


OPERATOR_ROLES = frozenset({Role.OWNER, Role.ADMIN})  # who sees the gateway-wide figures


def can_write(principal: Principal) -> bool:
    return principal.role is not None and principal.role.can_write


def is_operator(principal: Principal) -> bool:
    return principal.role in OPERATOR_ROLES


def require_writer(principal: Principal) -> None:
    if not can_write(principal):
        raise Forbidden("Your role does not allow changing API keys.")


def require_operator(principal: Principal) -> None:
    if not is_operator(principal):
        raise Forbidden("The operator page is for Owners and Admins.")


def _parse_uuid(raw: str) -> uuid.UUID:
    if not KEY_ID_FORM.fullmatch(raw):
        raise NotFound("No active API key with this id.")
    return uuid.UUID(raw)
