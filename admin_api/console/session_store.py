"""Console sessions held in Redis, so that signing out ends them everywhere.

The browser's cookie holds only a random session id. Redis holds the access token under
`<redis_prefix>console:session:<sha256(id)>`, with a TTL of the token's remaining lifetime, and
the entry is deleted on sign-out: a copied cookie stops working at once, on every worker and
host. The token is stored encrypted (Fernet) with a key derived from the session id and the
console's own key, so a Redis dump or a `MONITOR` yields no usable token and nothing there maps
back to a cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
import time

from cryptography.fernet import Fernet, InvalidToken

from gateway.errors import GatewayError
from gateway.redis_client import REDIS_ERRORS, RedisClient

SESSION_ID_BYTES = 32


class SessionStoreUnavailable(GatewayError):
    status, code = 503, "session_store_unavailable"
    message = (
        "The console cannot reach its session store (Redis) right now. "
        "Try again in a moment; the API keys themselves are not affected."
    )


class SessionStore:
    def __init__(self, redis: RedisClient, prefix: str, secret: bytes) -> None:
        self._redis = redis
        self._prefix = prefix
        self._secret = secret

    async def create(self, token: str, expires_at: float) -> str:
        """A new session for `token` until `expires_at` (Unix time); returns its id."""
        session_id = secrets.token_urlsafe(SESSION_ID_BYTES)
        ttl = max(1, math.ceil(expires_at - time.time()))
        sealed = self._fernet(session_id).encrypt(token.encode())
        try:
            await self._redis.set(self._key(session_id), sealed, ex=ttl)
        except REDIS_ERRORS:
            raise SessionStoreUnavailable() from None
        return session_id

    async def token_of(self, session_id: str) -> str | None:
        """The session's token; None once it was signed out or its token's lifetime is over."""
        try:
            sealed = await self._redis.get(self._key(session_id))
        except REDIS_ERRORS:
            raise SessionStoreUnavailable() from None
        if sealed is None:
            return None
        try:
            return self._fernet(session_id).decrypt(sealed).decode()
        except (InvalidToken, UnicodeDecodeError):  # another console key, or not ours
            return None

    async def delete(self, session_id: str) -> None:
        try:
            await self._redis.delete(self._key(session_id))
        except REDIS_ERRORS:
            raise SessionStoreUnavailable() from None

    def _key(self, session_id: str) -> str:
        digest = hashlib.sha256(session_id.encode()).hexdigest()
        return f"{self._prefix}console:session:{digest}"

    def _fernet(self, session_id: str) -> Fernet:
        key = hmac.new(self._secret, b"session\0" + session_id.encode(), hashlib.sha256).digest()
        return Fernet(base64.urlsafe_b64encode(key))
