"""Every console response: security headers, no-store, and errors as pages instead of JSON.

Every response of the sub-app carries a strict Content-Security-Policy (scripts and styles only
from the sub-app's own static files) and `Cache-Control: no-store`. Domain errors from the service
become HTML pages here instead of the JSON the API renders; a bad or expired token sends the user
back to the sign-in page with the reason.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from admin_api.console.cookies import apply_pending
from admin_api.console.csrf import CsrfRejected
from admin_api.console.flash import Flash, set_flash
from admin_api.console.navigation import see_other, sign_in_target
from admin_api.console.render import render
from admin_api.console.session import end_session, session_of
from gateway.errors import GatewayError, Unauthorized
from gateway.middlewares import error_response

CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), clipboard-write=(self)",
}


@web.middleware
async def console_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except Unauthorized as exc:
        response = await session_ended(request, exc.message)
    except CsrfRejected:
        response = await error_page(
            request,
            403,
            "This form has expired",
            "The form was missing its security token or the token did not "
            "match your session. Go back, reload the page and try again.",
        )
    except GatewayError as exc:
        response = await error_page(
            request, exc.status, _TITLES.get(exc.status, "Something went wrong"), exc.message
        )
    except web.HTTPException as exc:
        if exc.status < 400:
            _secure(request, exc)
            raise
        response = await error_page(request, exc.status, exc.reason, _HTTP_TEXT.get(exc.status, ""))
    _secure(request, response)
    return response


_TITLES = {403: "Not allowed", 404: "Not found", 503: "Temporarily unavailable"}
_HTTP_TEXT = {
    404: "There is no console page at this address.",
    405: "This page does not accept that kind of request.",
}


def _secure(request: web.Request, response: web.StreamResponse) -> None:
    apply_pending(request, response)
    response.headers.update(SECURITY_HEADERS)
    if request.path.startswith("/console/static/"):
        response.headers["Cache-Control"] = "public, max-age=3600"  # URLs carry a content hash
    else:
        response.headers["Cache-Control"] = "no-store"


async def session_ended(request: web.Request, reason: str) -> web.Response:
    """Back to sign-in with the verifier's reason; the bad cookie is dropped."""
    if request.path.endswith(".json"):  # the operator page's poller: it navigates itself
        response = error_response(401, "unauthorized", reason)
        await end_session(request, response)
        return response
    response = see_other(sign_in_target(request))
    await end_session(request, response)
    set_flash(request, response, Flash("error", f"Please sign in again. {reason}"))
    return response


async def error_page(request: web.Request, status: int, title: str, message: str) -> web.Response:
    try:
        session = await session_of(request)  # keeps the navigation when the user is signed in
    except GatewayError:
        session = None
    return render(request, "error.html", session, status, title=title, message=message)
