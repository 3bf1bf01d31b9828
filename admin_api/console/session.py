"""Who is signed in to the console: a server-side session, found from the session cookie.

The cookie holds a random session id; the token it stands for lives in Redis
(`session_store`), and every request verifies that token with the same TokenVerifier as the
JSON API. Signing out deletes the session, so the cookie is worthless afterwards, wherever it
was copied to.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import jwt
from aiohttp import web

from admin_api.console.cookies import CSRF_COOKIE, SESSION_COOKIE, clear_cookie, set_cookie
from admin_api.console.navigation import sign_in_target
from admin_api.console.session_store import SESSION_ID_BYTES, SessionStore
from admin_api.console.signing import secret_of
from gateway.errors import GatewayError, Unauthorized
from gateway.keys import CONFIG, REDIS, TOKENS
from gateway.tokens import Principal, TokenVerifier

ENDED = "Your session has ended: it expired, or you signed out."
# A session id as token_urlsafe(32) writes it: anything else is not looked up.
_ID_LENGTH = len(secrets.token_urlsafe(SESSION_ID_BYTES))
# One lookup per request, however many parts of the page ask (the error page included).
_LOOKED_UP = web.RequestKey("console_session", object)


@dataclass(frozen=True, slots=True)
class Session:
    principal: Principal
    token: str
    id: str  # the cookie's value; CSRF tokens are bound to it


def session_store(request: web.Request) -> SessionStore:
    config = request.config_dict[CONFIG]
    return SessionStore(request.config_dict[REDIS], config.redis_prefix, secret_of(request))


async def session_of(request: web.Request) -> Session | None:
    """None when there is no session cookie; Unauthorized when the session or its token is
    no longer good; SessionStoreUnavailable when Redis does not answer."""
    found = request.get(_LOOKED_UP)
    if found is None:
        try:
            found = await _look_up(request)
        except GatewayError as exc:
            found = exc
        request[_LOOKED_UP] = found
    if isinstance(found, GatewayError):
        raise found
    return found if isinstance(found, Session) else None


async def _look_up(request: web.Request) -> Session | bool:
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        return False
    if len(session_id) != _ID_LENGTH:
        raise Unauthorized(ENDED)  # e.g. a cookie from before sessions were kept server-side
    token = await session_store(request).token_of(session_id)
    if token is None:
        raise Unauthorized(ENDED)
    return Session(verify_token(request, token), token, session_id)


async def require_session(request: web.Request) -> Session:
    session = await session_of(request)
    if session is None:
        raise web.HTTPSeeOther(sign_in_target(request))
    return session


def verify_token(request: web.Request, token: str) -> Principal:
    verifier: TokenVerifier = request.config_dict[TOKENS]
    return verifier.verify(token)


async def start_session(request: web.Request, response: web.StreamResponse, token: str) -> None:
    """After `verify_token` accepted the token: a session that lasts as long as the token."""
    claims = jwt.decode(token, options={"verify_signature": False})  # verified just before
    session_id = await session_store(request).create(token, float(claims["exp"]))
    set_cookie(request, response, SESSION_COOKIE, session_id)
    set_cookie(request, response, CSRF_COOKIE, secrets.token_urlsafe(24))  # new session, new nonce


async def end_session(request: web.Request, response: web.StreamResponse) -> bool:
    """Drop this browser's session; False when Redis could not be told (it then ends at exp)."""
    clear_cookie(response, SESSION_COOKIE)
    set_cookie(request, response, CSRF_COOKIE, secrets.token_urlsafe(24))
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id or len(session_id) != _ID_LENGTH:
        return True
    try:
        await session_store(request).delete(session_id)
    except GatewayError:
        return False
    return True
