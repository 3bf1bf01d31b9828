"""API keys as values: generating, hashing and recognising them. Pure functions, no I/O."""

from __future__ import annotations

import hashlib
import re
import secrets

from gateway.keyrecord import KEY_CODEC, KeyRecord

__all__ = ["KEY_CODEC", "KeyRecord", "generate_key", "hash_key", "is_well_formed"]

KEY_PREFIX = "hks_"
_KEY_FORM = re.compile(r"hks_[0-9a-f]{32}")


def generate_key() -> str:
    """`hks_` + 32 lowercase hex characters: 128 random bits from `secrets`."""
    return KEY_PREFIX + secrets.token_hex(16)


def hash_key(key: str) -> bytes:
    """SHA-256 of the full key string: the only form in which a key is stored or cached."""
    return hashlib.sha256(key.encode()).digest()


def is_well_formed(key: str) -> bool:
    return _KEY_FORM.fullmatch(key) is not None
