"""Signing secrets at rest (SPEC §6): AES-256-GCM under the keys of HOOKSENTRY_SECRETS_KEY.

Signing secrets must be usable, so they cannot be hashed like API keys. PostgreSQL and Redis
hold only `encrypt`'s blobs: a version byte, a random 96-bit nonce, then the ciphertext with
its 128-bit tag. The first configured key encrypts; every key decrypts, so the key can be
rotated (add the new key first, re-encrypt, then drop the old one).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.errors import GatewayError

KEY_SIZE = 32  # AES-256
NONCE_SIZE = 12  # GCM's standard nonce; random nonces are safe far beyond our secret counts
TAG_SIZE = 16
VERSION = b"\x01"  # leaves room for another format without guessing from the bytes


class SecretBoxError(GatewayError):
    """A blob cannot be opened (wrong key, damaged, no key configured): never a user's fault."""

    status, code = 500, "internal_error"
    message = "A stored secret cannot be decrypted with the configured secrets key."


def generate_key() -> str:
    """A new key-encryption key: the base64 of 32 random bytes."""
    return base64.b64encode(secrets.token_bytes(KEY_SIZE)).decode()


def decode_keys(keys: Sequence[str]) -> list[bytes]:
    """The raw keys; ValueError naming the entry that is not the base64 of 32 bytes."""
    raw = []
    for number, text in enumerate(keys, start=1):
        try:
            key = base64.b64decode(text.strip(), validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != KEY_SIZE:
            # Says which entry and what it should be; never echoes the value.
            raise ValueError(
                f"entry {number} of {len(keys)} is not the base64 of {KEY_SIZE} bytes "
                "(make one with: openssl rand -base64 32)"
            )
        raw.append(key)
    return raw


class SecretBox:
    """Encrypts with the first key, decrypts with any; disabled when no key is configured."""

    __slots__ = ("_ciphers",)

    def __init__(self, ciphers: Sequence[AESGCM]):
        self._ciphers = tuple(ciphers)

    @classmethod
    def from_keys(cls, keys: Sequence[str]) -> SecretBox:
        return cls([AESGCM(key) for key in decode_keys(keys)])

    @property
    def enabled(self) -> bool:
        return bool(self._ciphers)

    def encrypt(self, plaintext: bytes) -> bytes:
        if not self._ciphers:
            raise _not_configured()
        nonce = secrets.token_bytes(NONCE_SIZE)
        return VERSION + nonce + self._ciphers[0].encrypt(nonce, plaintext, None)

    def decrypt(self, blob: bytes) -> bytes:
        if not self._ciphers:
            raise _not_configured()
        if blob[:1] != VERSION or len(blob) < 1 + NONCE_SIZE + TAG_SIZE:
            raise SecretBoxError()
        nonce, sealed = blob[1 : 1 + NONCE_SIZE], blob[1 + NONCE_SIZE :]
        for cipher in self._ciphers:
            try:
                return cipher.decrypt(nonce, sealed, None)
            except InvalidTag:
                continue  # sealed under another configured key (rotation), or damaged
        raise SecretBoxError()


def _not_configured() -> SecretBoxError:
    return SecretBoxError("No secrets key is configured (HOOKSENTRY_SECRETS_KEY).")
