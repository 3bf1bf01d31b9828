"""The console's cookies: names, attributes, and the cookies a handler queues for its response.

Every console cookie is HttpOnly, SameSite=Strict, scoped to /console, and Secure on HTTPS (here
or at a trusted TLS-terminating proxy).
"""

from __future__ import annotations

from aiohttp import web

from gateway.headers import peer_is_trusted
from gateway.keys import PROXY

SESSION_COOKIE = "hs_console_session"
CSRF_COOKIE = "hs_console_csrf"
FLASH_COOKIE = "hs_console_flash"
COOKIE_PATH = "/console"
# Console-private request state (cookies queued by handlers); not shared with any other part.
PENDING_COOKIES = web.RequestKey("console_pending_cookies", dict[str, str])


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
