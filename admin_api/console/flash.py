"""Flash notices: small signed cookies that live for one redirect.

They hold messages for people, never a key or a token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from admin_api.console.cookies import FLASH_COOKIE, pending_cookies, set_cookie
from admin_api.console.signing import secret_of

_FLASH_MAX_AGE = 60


@dataclass(frozen=True, slots=True)
class Flash:
    kind: str  # "success" | "error" | "info"
    text: str


def encode_flash(secret: bytes, flash: Flash) -> str:
    body = base64.urlsafe_b64encode(orjson.dumps({"k": flash.kind, "t": flash.text})).decode()
    sig = hmac.new(secret, b"flash\0" + body.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{body.rstrip('=')}.{sig}"


def decode_flash(secret: bytes, raw: str) -> Flash | None:
    body, _, sig = raw.partition(".")
    padded = body + "=" * (-len(body) % 4)
    want = hmac.new(secret, b"flash\0" + padded.encode(), hashlib.sha256).hexdigest()[:32]
    if not hmac.compare_digest(want, sig):
        return None
    try:
        data: Any = orjson.loads(base64.urlsafe_b64decode(padded))
        return Flash(str(data["k"]), str(data["t"]))
    except (ValueError, KeyError, TypeError):
        return None


def set_flash(request: web.Request, response: web.StreamResponse, flash: Flash) -> None:
    set_cookie(
        request,
        response,
        FLASH_COOKIE,
        encode_flash(secret_of(request), flash),
        max_age=_FLASH_MAX_AGE,
    )


def take_flash(request: web.Request) -> Flash | None:
    """The pending notice, if any; the cookie is cleared by the response that shows it."""
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    pending_cookies(request)[FLASH_COOKIE] = ""
    return decode_flash(secret_of(request), raw)
