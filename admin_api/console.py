"""The web console sub-app (/console): pages rendered with aiohttp-jinja2 over the key service.

Every response of the sub-app carries a strict Content-Security-Policy (scripts and styles only
from the sub-app's own static files) and `Cache-Control: no-store`. Domain errors from the service
become HTML pages here instead of the JSON the API renders; a bad or expired token sends the user
back to the sign-in page with the reason.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp.typedefs import Handler

from admin_api import console_operator, console_views
from admin_api.console_render import STATIC_URLS, render
from admin_api.console_session import (
    CsrfRejected,
    Flash,
    apply_pending,
    end_session,
    session_of,
    set_flash,
)
from admin_api.views import timestamp
from gateway.errors import GatewayError, Unauthorized
from gateway.middlewares import error_response

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

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


def create_console_app() -> web.Application:
    console = web.Application(middlewares=[console_middleware])
    aiohttp_jinja2.setup(
        console,
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
        filters={"when": display_time, "iso": iso_time},
        context_processors=[aiohttp_jinja2.request_processor],
    )
    console[STATIC_URLS] = {p.name: _versioned(p) for p in STATIC.iterdir() if p.is_file()}
    console.router.add_get("", console_views.home, name="home")
    console.router.add_get("/", console_views.home)
    console.router.add_get("/sign-in", console_views.sign_in_page, name="sign_in")
    console.router.add_post("/sign-in", console_views.sign_in)
    console.router.add_post("/sign-out", console_views.sign_out, name="sign_out")
    console.router.add_get("/keys", console_views.keys_page, name="keys")
    console.router.add_post("/keys", console_views.create_key, name="create_key")
    console.router.add_get("/keys/new", console_views.new_key_page, name="new_key")
    console.router.add_post("/keys/{key_id}/revoke", console_views.revoke_key, name="revoke_key")
    console.router.add_get("/operator", console_operator.operator_page, name="operator")
    console.router.add_get(
        "/operator/metrics.json", console_operator.metrics_json, name="operator_metrics"
    )
    console.router.add_static("/static", STATIC, name="static", append_version=False)
    return console


def _versioned(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    return f"/console/static/{path.name}?v={digest}"


def iso_time(value: Any) -> str:
    return timestamp(value) or ""


def display_time(value: Any) -> str:
    if value is None:
        return ""
    text: str = value.strftime("%-d %b %Y, %H:%M UTC")
    return text


@web.middleware
async def console_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except Unauthorized as exc:
        response = session_ended(request, exc.message)
    except CsrfRejected:
        response = error_page(
            request,
            403,
            "This form has expired",
            "The form was missing its security token or the token did not "
            "match your session. Go back, reload the page and try again.",
        )
    except GatewayError as exc:
        response = error_page(
            request, exc.status, _TITLES.get(exc.status, "Something went wrong"), exc.message
        )
    except web.HTTPException as exc:
        if exc.status < 400:
            _secure(request, exc)
            raise
        response = error_page(request, exc.status, exc.reason, _HTTP_TEXT.get(exc.status, ""))
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


def session_ended(request: web.Request, reason: str) -> web.Response:
    """Back to sign-in with the verifier's reason; the bad cookie is dropped."""
    if request.path.endswith(".json"):  # the operator page's poller: it navigates itself
        response = error_response(401, "unauthorized", reason)
        end_session(request, response)
        return response
    response = console_views.see_other(console_views.sign_in_target(request))
    end_session(request, response)
    set_flash(request, response, Flash("error", f"Please sign in again. {reason}"))
    return response


def error_page(request: web.Request, status: int, title: str, message: str) -> web.Response:
    try:
        session = session_of(request)  # keeps the navigation when the user is signed in
    except GatewayError:
        session = None
    return render(request, "error.html", session, status, title=title, message=message)
