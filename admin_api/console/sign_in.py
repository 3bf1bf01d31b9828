"""Signing in and out of the console, and its home address."""

from __future__ import annotations

from aiohttp import web

from admin_api.console.cookies import SESSION_COOKIE
from admin_api.console.csrf import check_csrf
from admin_api.console.flash import Flash, set_flash
from admin_api.console.navigation import safe_next, see_other, url
from admin_api.console.render import render
from admin_api.console.session import end_session, session_of, start_session, verify_token
from admin_api.console.session_store import SessionStoreUnavailable
from admin_api.views import key_service
from gateway.errors import NotFound, Unauthorized


async def home(request: web.Request) -> web.Response:
    return see_other(url(request, "keys" if await session_of(request) else "sign_in"))


async def sign_in_page(request: web.Request) -> web.Response:
    if await session_of(request) is not None:
        return see_other(safe_next(request.query.get("next"), url(request, "keys")))
    return render(request, "sign_in.html", None, next=request.query.get("next", ""), error=None)


async def sign_in(request: web.Request) -> web.Response:
    form = await check_csrf(request, "")
    token = str(form.get("token", "")).strip()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    next_url = str(form.get("next", ""))
    if not token:
        return _sign_in_error(request, next_url, "Paste your access token to sign in.", 400)
    try:
        principal = verify_token(request, token)
        await key_service(request).check_tenant(principal)
    except (Unauthorized, NotFound) as exc:
        return _sign_in_error(request, next_url, exc.message, exc.status)
    response = see_other(safe_next(next_url, url(request, "keys")))
    try:
        await start_session(request, response, token)
    except SessionStoreUnavailable as exc:
        return _sign_in_error(request, next_url, exc.message, exc.status)
    return response


def _sign_in_error(request: web.Request, next_url: str, message: str, status: int) -> web.Response:
    return render(request, "sign_in.html", None, status, next=next_url, error=message)


async def sign_out(request: web.Request) -> web.Response:
    await check_csrf(request, request.cookies.get(SESSION_COOKIE, ""))
    response = see_other(url(request, "sign_in"))
    if await end_session(request, response):
        set_flash(request, response, Flash("info", "You have signed out."))
    else:
        set_flash(request, response, Flash("error", _NOT_ENDED))
    return response


_NOT_ENDED = (
    "You are signed out of this browser, but the console could not reach its session store to "
    "end the session there: a copy of this browser's cookie keeps working until your token "
    "expires."
)
