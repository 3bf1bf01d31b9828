"""Signed double-submit CSRF tokens (OWASP): an HMAC of a per-browser cookie and the session id.

A forged or tossed nonce cookie is useless without the server's key, and a token taken from one
browser or one session does not validate in another.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from admin_api.console.cookies import CSRF_COOKIE, pending_cookies
from admin_api.console.signing import secret_of

CSRF_FIELD = "csrf_token"


class CsrfRejected(Exception):
    """The form's CSRF token is missing or does not match: the console answers 403."""


def csrf_token(secret: bytes, browser_nonce: str, session_id: str) -> str:
    msg = f"csrf\0{browser_nonce}\0{session_id}".encode()
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()


def csrf_valid(secret: bytes, browser_nonce: str, session_id: str, sent: str) -> bool:
    if not browser_nonce or not sent:
        return False
    return hmac.compare_digest(csrf_token(secret, browser_nonce, session_id), sent)


def browser_nonce(request: web.Request) -> str:
    """The per-browser CSRF nonce; a fresh one is queued for the response when there is none."""
    pending = pending_cookies(request)
    nonce = request.cookies.get(CSRF_COOKIE) or pending.get(CSRF_COOKIE)
    if not nonce:
        nonce = pending[CSRF_COOKIE] = secrets.token_urlsafe(24)
    return nonce


def form_csrf(request: web.Request, session_id: str) -> str:
    return csrf_token(secret_of(request), browser_nonce(request), session_id)


async def check_csrf(request: web.Request, session_id: str) -> MultiDictProxy[Any]:
    """Reads the form and refuses it unless its CSRF token matches this browser and session."""
    form = await request.post()
    sent = form.get(CSRF_FIELD)
    nonce = request.cookies.get(CSRF_COOKIE, "")
    if not isinstance(sent, str) or not csrf_valid(secret_of(request), nonce, session_id, sent):
        raise CsrfRejected()
    return form
