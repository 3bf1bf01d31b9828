"""Who is signed in to the console.

The session cookie holds the platform's access token itself; every request verifies it with the
same TokenVerifier as the JSON API.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from aiohttp import web

from admin_api.console.cookies import CSRF_COOKIE, SESSION_COOKIE, clear_cookie, set_cookie
from admin_api.console.navigation import sign_in_target
from gateway.keys import TOKENS
from gateway.tokens import Principal, TokenVerifier


@dataclass(frozen=True, slots=True)
class Session:
    principal: Principal
    token: str


def session_of(request: web.Request) -> Session | None:
    """None when there is no session cookie; raises Unauthorized when the token is bad."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return Session(verify_token(request, token), token)


def require_session(request: web.Request) -> Session:
    session = session_of(request)
    if session is None:
        raise web.HTTPSeeOther(sign_in_target(request))
    return session


def verify_token(request: web.Request, token: str) -> Principal:
    verifier: TokenVerifier = request.config_dict[TOKENS]
    return verifier.verify(token)


def start_session(request: web.Request, response: web.StreamResponse, token: str) -> None:
    set_cookie(request, response, SESSION_COOKIE, token)
    set_cookie(request, response, CSRF_COOKIE, secrets.token_urlsafe(24))  # new session, new nonce


def end_session(request: web.Request, response: web.StreamResponse) -> None:
    clear_cookie(response, SESSION_COOKIE)
    set_cookie(request, response, CSRF_COOKIE, secrets.token_urlsafe(24))
