"""API keys as values: generating, hashing and recognising them. Pure functions, no I/O."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass, field

KEY_PREFIX = "hks_"
_KEY_FORM = re.compile(r"hks_[0-9a-f]{32}")


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """What the gateway knows about a key: small and immutable, shared by every cache level."""

    key_id: uuid.UUID
    tenant_id: uuid.UUID
    revoked: bool
    # The str forms the proxy sends on every request, computed once per cache fill.
    key_id_str: str = field(init=False, repr=False, compare=False)
    tenant_id_str: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key_id_str", str(self.key_id))
        object.__setattr__(self, "tenant_id_str", str(self.tenant_id))


def generate_key() -> str:
    """`hks_` + 32 lowercase hex characters: 128 random bits from `secrets`."""
    return KEY_PREFIX + secrets.token_hex(16)


def hash_key(key: str) -> bytes:
    """SHA-256 of the full key string: the only form in which a key is stored or cached."""
    return hashlib.sha256(key.encode()).digest()


def is_well_formed(key: str) -> bool:
    return _KEY_FORM.fullmatch(key) is not None
