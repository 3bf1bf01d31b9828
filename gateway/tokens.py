"""Bearer tokens (JWT, HMAC): verifying the platform's tokens and minting dev tokens."""

from __future__ import annotations

import enum
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from gateway.config import Config
from gateway.errors import Unauthorized


class Role(enum.Enum):
    DEVELOPER = 0
    ADMIN = 1
    OWNER = 10
    VIEWER = 20

    @classmethod
    def parse(cls, value: Any) -> Role | None:
        """Names (any case) or the platform's numbers; anything else is an unknown role."""
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return next((r for r in cls if r.value == value), None)
        if isinstance(value, str):
            return cls.__members__.get(value.strip().upper())
        return None

    @property
    def label(self) -> str:
        return self.name.capitalize()

    @property
    def can_write(self) -> bool:
        return self is not Role.VIEWER


@dataclass(frozen=True, slots=True)
class Principal:
    tenant_id: uuid.UUID
    role: Role | None  # None: a role the gateway does not know, which grants nothing
    subject: str | None


_TIME_CLAIMS = ("exp", "nbf", "iat")


class TokenVerifier:
    def __init__(self, config: Config):
        self._secrets = config.jwt_secret
        self._algorithms = list(config.jwt_algorithms)
        self._leeway = config.jwt_leeway
        self._issuer = config.jwt_issuer or None
        self._audience = config.jwt_audience or None
        self._tenant_claim = config.jwt_tenant_claim
        self._options = {"require": ["exp"], "verify_aud": self._audience is not None}
        self._max_lifetime = config.jwt_max_lifetime

    def verify(self, token: str) -> Principal:
        claims = self._decode(token)
        self._check_times(claims)
        try:
            tenant_id = uuid.UUID(str(claims[self._tenant_claim]))
        except (KeyError, ValueError):
            raise Unauthorized(f"The token has no valid {self._tenant_claim} claim.") from None
        sub = claims.get("sub")
        return Principal(tenant_id, Role.parse(claims.get("role")), str(sub) if sub else None)

    def _check_times(self, claims: dict[str, Any]) -> None:
        """NumericDate claims must be numbers (PyJWT accepts "1234" for exp), and a token may
        not live longer than jwt_max_lifetime: a leaked long-lived token is a standing key."""
        for name in _TIME_CLAIMS:
            value = claims.get(name)
            if name in claims and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise Unauthorized(f"The token's {name} claim is not a number.")
        issued = claims.get("iat", time.time())
        if claims["exp"] - issued > self._max_lifetime + self._leeway:
            raise Unauthorized("The token's lifetime is longer than this gateway accepts.")

    def _decode(self, token: str) -> dict[str, Any]:
        if not self._secrets:
            raise Unauthorized("Token verification is not configured.")
        for secret in self._secrets:  # rotation: any listed secret may have signed it
            try:
                return jwt.decode(
                    token,
                    secret,
                    algorithms=self._algorithms,
                    leeway=self._leeway,
                    issuer=self._issuer,
                    audience=self._audience,
                    options=self._options,  # type: ignore[arg-type]
                )
            except jwt.InvalidSignatureError:
                continue
            except jwt.ExpiredSignatureError:
                raise Unauthorized("The token has expired.") from None
            except jwt.InvalidTokenError:
                raise Unauthorized("The token is not valid.") from None
        raise Unauthorized("The token is not valid.")


def mint_token(
    config: Config, tenant_id: uuid.UUID, role: Role, ttl: int = 900, **extra: Any
) -> str:
    """A token like the platform's auth service issues, signed with the first configured secret."""
    now = int(time.time())
    claims = {config.jwt_tenant_claim: str(tenant_id), "role": role.label, "iat": now}
    claims |= {"exp": now + ttl, **extra}
    if config.jwt_issuer:
        claims.setdefault("iss", config.jwt_issuer)
    if config.jwt_audience:
        claims.setdefault("aud", config.jwt_audience)
    return jwt.encode(claims, config.jwt_secret[0], algorithm=config.jwt_algorithms[0])
