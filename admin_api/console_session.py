"""Console session: the access-token cookie, signed double-submit CSRF tokens and flash notices.

The session cookie holds the platform's access token itself (HttpOnly, SameSite=Strict, Secure on
HTTPS); every request verifies it with the same TokenVerifier as the JSON API. CSRF tokens are an
HMAC of a random per-browser cookie and the session token (OWASP's "signed double-submit cookie"),
so a forged or tossed cookie is useless without the server's key. Flash notices are small signed
cookies that live for one redirect: they hold messages for people, never a key or a token.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web
from multidict import MultiDictProxy

from gateway.config import Config
from gateway.headers import peer_is_trusted
from gateway.keys import CONFIG, PROXY, TOKENS
from gateway.tokens import Principal, TokenVerifier

SESSION_COOKIE = "hs_console_session"
CSRF_COOKIE = "hs_console_csrf"
FLASH_COOKIE = "hs_console_flash"
CSRF_FIELD = "csrf_token"
COOKIE_PATH = "/console"
_FLASH_MAX_AGE = 60
_KEY_LABEL = b"hooksentry-console/v1"
# Console-private request state (cookies queued by handlers); not shared with any other part.
PENDING_COOKIES = web.RequestKey("console_pending_cookies", dict[str, str])


@dataclass(frozen=True, slots=True)
class Session:
    principal: Principal
    token: str


@dataclass(frozen=True, slots=True)
class Flash:
    kind: str  # "success" | "error" | "info"
    text: str


@functools.cache  # Config is frozen: derived once per process, not per form
def console_secret(config: Config) -> bytes:
    """A key of its own, derived from the JWT secret so every worker and host shares it."""
    seed = config.jwt_secret[0].encode() if config.jwt_secret else b""
    return hashlib.sha256(_KEY_LABEL + b"\0" + seed).digest()


def csrf_token(secret: bytes, browser_nonce: str, session_token: str) -> str:
    msg = f"csrf\0{browser_nonce}\0{session_token}".encode()
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()


def csrf_valid(secret: bytes, browser_nonce: str, session_token: str, sent: str) -> bool:
    if not browser_nonce or not sent:
        return False
    return hmac.compare_digest(csrf_token(secret, browser_nonce, session_token), sent)


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


def safe_next(raw: str | None, default: str) -> str:
    """Only a path inside the console: never another origin, never a scheme-relative URL."""
    if not raw or not raw.startswith(COOKIE_PATH + "/") or "//" in raw or "\\" in raw:
        return default
    return raw


# --- aiohttp glue ----------------------------------------------------------------------------


def secret_of(request: web.Request) -> bytes:
    return console_secret(request.config_dict[CONFIG])


def session_of(request: web.Request) -> Session | None:
    """None when there is no session cookie; raises Unauthorized when the token is bad."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return Session(verify_token(request, token), token)


def verify_token(request: web.Request, token: str) -> Principal:
    verifier: TokenVerifier = request.config_dict[TOKENS]
    return verifier.verify(token)


def pending_cookies(request: web.Request) -> dict[str, str]:
    """Cookies a handler wants on its response; the console middleware applies them ("" = drop)."""
    pending = request.get(PENDING_COOKIES)
    if pending is None:
        pending = request[PENDING_COOKIES] = {}
    return pending


def apply_pending(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in request.get(PENDING_COOKIES, {}).items():
        if name in response.cookies:
            continue  # the handler set this cookie itself (sign-in, sign-out)
        if value:
            set_cookie(request, response, name, value)
        else:
            clear_cookie(response, name)


def browser_nonce(request: web.Request) -> str:
    """The per-browser CSRF nonce; a fresh one is queued for the response when there is none."""
    pending = pending_cookies(request)
    nonce = request.cookies.get(CSRF_COOKIE) or pending.get(CSRF_COOKIE)
    if not nonce:
        nonce = pending[CSRF_COOKIE] = secrets.token_urlsafe(24)
    return nonce


def form_csrf(request: web.Request, session_token: str) -> str:
    return csrf_token(secret_of(request), browser_nonce(request), session_token)


async def check_csrf(request: web.Request, session_token: str) -> MultiDictProxy[Any]:
    """Reads the form and refuses it unless its CSRF token matches this browser and session."""
    form = await request.post()
    sent = form.get(CSRF_FIELD)
    nonce = request.cookies.get(CSRF_COOKIE, "")
    if not isinstance(sent, str) or not csrf_valid(secret_of(request), nonce, session_token, sent):
        raise CsrfRejected()
    return form


class CsrfRejected(Exception):
    """The form's CSRF token is missing or does not match: the console answers 403."""


def is_https(request: web.Request) -> bool:
    """HTTPS here, or at a TLS-terminating proxy listed in `trusted_proxies` that says so."""
    if request.secure:
        return True
    if not peer_is_trusted(request.remote, request.config_dict[PROXY].trusted):
        return False
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return proto == "https"


def set_cookie(
    request: web.Request,
    response: web.StreamResponse,
    name: str,
    value: str,
    max_age: int | None = None,
) -> None:
    response.set_cookie(
        name,
        value,
        path=COOKIE_PATH,
        httponly=True,
        secure=is_https(request),
        samesite="Strict",
        max_age=max_age,
    )


def clear_cookie(response: web.StreamResponse, name: str) -> None:
    response.del_cookie(name, path=COOKIE_PATH)


def start_session(request: web.Request, response: web.StreamResponse, token: str) -> None:
    set_cookie(request, response, SESSION_COOKIE, token)
    set_cookie(request, response, CSRF_COOKIE, secrets.token_urlsafe(24))  # new session, new nonce


def end_session(request: web.Request, response: web.StreamResponse) -> None:
    clear_cookie(response, SESSION_COOKIE)
    set_cookie(request, response, CSRF_COOKIE, secrets.token_urlsafe(24))


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
