"""Decisions about sources (SPEC §6): roles, tenant checks, validation, and telling every
process about a change. Raises domain errors; no HTTP here."""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any

from admin_api.audit import Actor, AuditEntry, entry
from admin_api.pagination import PageRequest
from admin_api.service import KEY_ID_FORM, require_writer, validate_name
from admin_api.sources_store import NewSource, SourceExists, SourceRow, SourceStore
from admin_api.store import KeyStore
from gateway.errors import Forbidden, GatewayError, NotFound, StoreUnavailable, ValidationFailed
from gateway.l2 import RedisL2
from gateway.secretbox import SecretBox
from gateway.signatures import PROVIDERS, check_secret_form, check_secret_text, generate_secret
from gateway.sourcecache import SourceCache
from gateway.sources import TenantSources, source_set_hash
from gateway.tokens import Principal

log = logging.getLogger(__name__)

SORT_FIELDS = ("id", "name", "provider", "isActive", "createdAt")
TOKEN_FORM = re.compile(r"[A-Za-z0-9._~-]{1,128}")
TOLERANCE = (1, 3600, 300)  # (lowest, highest, default) seconds
DEDUP = (0, 86_400, 600)
OVERLAP = (0, 2_592_000, 86_400)


class SourceConflict(GatewayError):
    status, code = 409, "source_exists"
    message = "An active source already uses this token; deactivate it first."


class SecretMismatch(GatewayError):
    """A rotation's secret is a valid secret, but not of the source's provider's form: the body
    is fine on its own and conflicts with the source (so the OpenAPI document, which cannot see
    the provider, is exact about the 400s)."""

    status, code = 409, "secret_mismatch"


@dataclass(frozen=True, slots=True)
class SourceResult:
    row: SourceRow
    secret: str | None = None  # a generated secret: returned once, never stored plain, never logged


class SourceService:
    def __init__(
        self,
        store: SourceStore,
        tenants: KeyStore,
        box: SecretBox,
        l2: RedisL2[TenantSources],
        cache: SourceCache | None,
    ):
        self._store = store
        self._tenants = tenants
        self._box = box
        self._l2 = l2
        self._cache = cache

    async def create(
        self, principal: Principal, body: Any, actor: Actor | None = None
    ) -> SourceResult:
        await self._writer(principal)
        new = NewSource(
            name=validate_name(body),
            provider=_provider(body),
            token=_token(body),
            require_api_key=_bool(body, "requireApiKey", False),
            tolerance_seconds=_int(body, "toleranceSeconds", *TOLERANCE),
            dedup_seconds=_int(body, "dedupSeconds", *DEDUP),
        )
        secret, generated = _secret(body, new.provider, rotation=False)
        ciphertext = self._box.encrypt(secret.encode())
        try:
            source_id = uuid.uuid4()
            audit = _audit(
                principal, actor, "source.create", source_id, name=new.name, provider=new.provider
            )
            row = await self._store.insert(source_id, principal.tenant_id, new, ciphertext, audit)
        except SourceExists:
            raise SourceConflict() from None
        await self._changed(principal, row.id, "source created")
        return SourceResult(await self._store.with_secrets(row), secret if generated else None)

    async def page(self, principal: Principal, page: PageRequest) -> tuple[int, list[SourceRow]]:
        await self._reader(principal)
        return await self._store.page(principal.tenant_id, page)

    async def get(self, principal: Principal, raw_id: str) -> SourceRow:
        await self._reader(principal)
        source_id = _parse_uuid(raw_id)
        row = await self._store.get(source_id, principal.tenant_id)
        if row is None or row.deactivated_at is not None:
            # DELETE removed it from its URL (it stays in the list, IsActive=false).
            raise await self._missing(principal, source_id)
        return row

    async def patch(
        self, principal: Principal, raw_id: str, body: Any, actor: Actor | None = None
    ) -> SourceRow:
        await self._writer(principal)
        source_id = _parse_uuid(raw_id)
        if not isinstance(body, dict):
            raise ValidationFailed("The body must be a JSON object.")
        changes: dict[str, Any] = {}
        if "name" in body:
            changes["name"] = validate_name(body)
        if "requireApiKey" in body:
            changes["require_api_key"] = _bool(body, "requireApiKey", False)
        if "toleranceSeconds" in body:
            changes["tolerance_seconds"] = _int(body, "toleranceSeconds", *TOLERANCE)
        if "dedupSeconds" in body:
            changes["dedup_seconds"] = _int(body, "dedupSeconds", *DEDUP)
        audit = _audit(principal, actor, "source.patch", source_id, **changes)
        row = await self._store.patch(source_id, principal.tenant_id, changes, audit)
        if row is None:
            raise await self._missing(principal, source_id)
        await self._changed(principal, row.id, "source changed")
        return await self._store.with_secrets(row)

    async def rotate(
        self, principal: Principal, raw_id: str, body: Any, actor: Actor | None = None
    ) -> SourceResult:
        current = await self._active(principal, raw_id)
        if not isinstance(body, dict):
            raise ValidationFailed("The body must be a JSON object.")
        overlap = _int(body, "overlapSeconds", *OVERLAP)
        secret, generated = _secret(body, current.provider, rotation=True)
        ciphertext = self._box.encrypt(secret.encode())
        audit = _audit(principal, actor, "source.rotate", current.id, overlapSeconds=overlap)
        if not await self._store.rotate(
            current.id, principal.tenant_id, ciphertext, overlap, audit
        ):
            raise await self._missing(principal, current.id)  # deactivated meanwhile
        await self._changed(principal, current.id, "source secret rotated")
        row = await self._store.get(current.id, principal.tenant_id)
        assert row is not None  # sources are never deleted
        return SourceResult(row, secret if generated else None)

    async def deactivate(
        self, principal: Principal, raw_id: str, actor: Actor | None = None
    ) -> SourceRow:
        await self._writer(principal)
        source_id = _parse_uuid(raw_id)
        audit = _audit(principal, actor, "source.deactivate", source_id)
        row = await self._store.deactivate(source_id, principal.tenant_id, audit)
        if row is None:
            raise await self._missing(principal, source_id)
        await self._changed(principal, row.id, "source deactivated")
        return await self._store.with_secrets(row)

    async def _active(self, principal: Principal, raw_id: str) -> SourceRow:
        await self._writer(principal)
        source_id = _parse_uuid(raw_id)
        row = await self._store.get(source_id, principal.tenant_id, secrets=False)
        if row is None or row.deactivated_at is not None:
            raise await self._missing(principal, source_id)
        return row

    async def _changed(self, principal: Principal, source_id: uuid.UUID, what: str) -> None:
        """After the commit: the tenant's new source set replaces Redis's entry (so no late
        fill can bring the old one back), every process drops it, then this one does (DESIGN
        "Revoke", with the new set as the marker). Redis down: the change still stands."""
        set_hash = source_set_hash(principal.tenant_id)
        if self._cache is not None:
            try:
                fresh = await self._cache.load(set_hash)
            except StoreUnavailable:
                fresh = None  # committed already; other processes catch up by TTL or gap
            if fresh is not None:
                await self._l2.revoke(set_hash, fresh)
            else:
                await self._l2.publish(set_hash)
            self._cache.invalidate(set_hash)
        else:
            await self._l2.publish(set_hash)
        extra = {"tenant_id": str(principal.tenant_id), "source_id": str(source_id)}
        log.info(what, extra=extra)

    async def _reader(self, principal: Principal) -> None:
        await self._check_tenant(principal)
        if principal.role is None:
            raise Forbidden("Your role does not allow viewing sources.")

    async def _writer(self, principal: Principal) -> None:
        await self._check_tenant(principal)
        try:
            require_writer(principal)
        except Forbidden:
            raise Forbidden("Your role does not allow changing sources.") from None

    async def _check_tenant(self, principal: Principal) -> None:
        if not await self._tenants.tenant_is_active(principal.tenant_id):
            raise NotFound("The tenant does not exist or is not active.")

    async def _missing(self, principal: Principal, source_id: uuid.UUID) -> GatewayError:
        owner = await self._store.owner(source_id)
        if owner is not None and owner != principal.tenant_id:
            return Forbidden("The source belongs to another tenant.")
        return NotFound("No active source with this id.")


def _parse_uuid(raw: str) -> uuid.UUID:
    if not KEY_ID_FORM.fullmatch(raw):  # the one spelling the document names, as for keys
        raise NotFound("No source with this id.")
    return uuid.UUID(raw)


def _provider(body: dict[str, Any]) -> str:
    provider = body.get("provider")
    if provider not in PROVIDERS:
        raise ValidationFailed(
            f"provider is required, one of: {', '.join(PROVIDERS)}.", field="provider"
        )
    return str(provider)


def _token(body: dict[str, Any]) -> str:
    token = body.get("token")
    if not isinstance(token, str) or not TOKEN_FORM.fullmatch(token):
        raise ValidationFailed(
            "token is required: 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', '~', '-'.",
            field="token",
        )
    return token


def _secret(body: dict[str, Any], provider: str, *, rotation: bool) -> tuple[str, bool]:
    """(the secret, whether the gateway generated it). A secret that is not of `provider`'s
    form is a 400 on creation (the provider is in the body) and a 409 on rotation."""
    if "secret" not in body:
        return generate_secret(provider), True
    secret = body["secret"]
    if not isinstance(secret, str):
        raise ValidationFailed("secret must be a string.", field="secret")
    problem = check_secret_text(secret)
    if problem is not None:
        raise ValidationFailed(problem, field="secret")
    problem = check_secret_form(provider, secret)
    if problem is not None:
        raise SecretMismatch(problem) if rotation else ValidationFailed(problem, field="secret")
    return secret, False


# A field that is present must have its type: null is not "not given" (keys' `name` is the same).
def _bool(body: dict[str, Any], name: str, default: bool) -> bool:
    if name not in body:
        return default
    value = body[name]
    if not isinstance(value, bool):
        raise ValidationFailed(f"{name} must be true or false.", field=name)
    return value


def _int(body: dict[str, Any], name: str, lo: int, hi: int, default: int) -> int:
    if name not in body:
        return default
    value = body[name]
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON has one number type: 300.0 is 300 (as JSON Schema says)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValidationFailed(f"{name} must be a whole number from {lo} to {hi}.", field=name)
    return value


def _audit(
    principal: Principal, actor: Actor | None, action: str, source_id: uuid.UUID, **details: Any
) -> AuditEntry:
    who = actor if actor is not None else Actor.of(principal)
    return entry(who, principal.tenant_id, action, source_id, **details)
