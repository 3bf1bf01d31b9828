"""Who an ingest request is from: a key, a source, or both (SPEC §2 steps 2-4, §6 steps 1-4).

One step for the proxy handler: it looks up the source for (tenant, token) first, because a
source changes which rules apply. No source: §2 unchanged (the key is required). A source: the
Content-Length limit, the signature headers and the signed timestamp come before any key check,
and the key is checked only when the source requires one or the sender sent one anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from time import time

from aiohttp import web

from gateway.apikeys import KeyRecord, hash_key, is_well_formed
from gateway.errors import (
    ExpiredApiKey,
    InvalidApiKey,
    IpNotAllowed,
    MissingApiKey,
    PayloadTooLarge,
    TenantMismatch,
)
from gateway.headers import sender_address
from gateway.keys import KEY_CACHE, LAST_USED, PROXY, SOURCE_CACHE, SOURCE_ID
from gateway.signatures import SignedHeaders, check_timestamp, parse_signed_headers, verify
from gateway.sources import SourceRecord


@dataclass(frozen=True, slots=True)
class Caller:
    tenant_id: str
    key: KeyRecord | None
    source: SourceRecord | None
    signed: SignedHeaders | None  # set exactly when source is

    @property
    def key_id(self) -> str | None:
        return None if self.key is None else self.key.key_id_str

    @property
    def limit_key(self) -> str:
        """Rate limits count per key when a key was sent, else per source."""
        if self.key is not None:
            return self.key.key_id_str
        assert self.source is not None
        return self.source.source_id

    def verify_signature(self, body: bytes) -> bytes:
        """§6 step 5: the signature that some unexpired secret made over these bytes (else
        InvalidSignature). Only for a caller with a source."""
        assert self.source is not None and self.signed is not None
        return verify(self.signed, body, self.source.keys_at(time()))


async def authenticate(request: web.Request, body_limit: int) -> Caller:
    sent = request.headers.get("X-Api-Key")
    if sent and not is_well_formed(sent):
        # Rejected whatever the source says (a key sent to a source is checked too), so without
        # touching any store, as §2 promises (docs/decisions.md, "Sources: order of checks").
        raise InvalidApiKey()
    path_tenant = request.match_info["tenant_id"]
    source = await request.app[SOURCE_CACHE].source_for(path_tenant, request.match_info["token"])
    if source is None:
        if not sent:
            raise MissingApiKey()
        key = await _key(request, sent, path_tenant)
        return Caller(key.tenant_id_str, key, None, None)
    request[SOURCE_ID] = source.source_id  # for the rejection log
    length = request.content_length
    if length is not None and length > body_limit:
        raise PayloadTooLarge()
    signed = parse_signed_headers(source.provider, request.headers)
    check_timestamp(signed, time(), source.tolerance_seconds)
    checked: KeyRecord | None = None
    if source.require_api_key or sent:
        if not sent:
            raise MissingApiKey()
        checked = await _key(request, sent, path_tenant)
    # The path's tenant id is 8-4-4-4-12 hex (gateway.paths): lower case is its canonical form.
    return Caller(path_tenant.lower(), checked, source, signed)


async def _key(request: web.Request, key: str, path_tenant: str) -> KeyRecord:
    """§2 steps 3-4 and §8: a well-formed key, valid, unexpired, of the path's tenant, used
    from an address it allows (docs/decisions.md, "Keys: order of the ingest checks")."""
    app = request.app
    record = await app[KEY_CACHE].resolve(hash_key(key))
    if record is None or record.revoked:
        raise InvalidApiKey()
    # Compared with the clock now, not when the entry was cached: an L1 entry never outlives
    # the key's expiry, even on a process that missed every invalidation.
    if record.expires_at is not None and record.expires_at <= time():
        raise ExpiredApiKey()
    if not _same_tenant(path_tenant, record):
        raise TenantMismatch()
    if record.allowed is not None:
        trusted = app[PROXY].trusted
        sender = sender_address(
            request.remote, request.headers.getall("X-Forwarded-For", ()), trusted
        )
        if not record.admits(sender):
            raise IpNotAllowed()
    app[LAST_USED].note(record.key_id_str)
    return record


def _same_tenant(path_tenant: str, record: KeyRecord) -> bool:
    # The path's tenant id is 8-4-4-4-12 hex already (gateway.paths); only its case may differ.
    return path_tenant.lower() == record.tenant_id_str
