"""What every console page gets: who is signed in, the CSRF token, the pending notice, assets."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from admin_api.console.csrf import form_csrf
from admin_api.console.flash import take_flash
from admin_api.console.session import Session
from admin_api.service import can_write, is_operator

STATIC_URLS = web.AppKey("console_static_urls", dict[str, str])


def page_context(request: web.Request, session: Session | None, **extra: Any) -> dict[str, Any]:
    principal = session.principal if session else None
    return {
        "session": session,
        "principal": principal,
        "role_label": principal.role.label if principal and principal.role else "Unknown role",
        "can_write": bool(principal and can_write(principal)),
        "is_operator": bool(principal and is_operator(principal)),
        "csrf": form_csrf(request, session.id if session else ""),
        "flash": take_flash(request),
        "static": request.app[STATIC_URLS],
        "url": lambda name, **parts: str(request.app.router[name].url_for(**parts)),
        "status": 200,
    } | extra


def render(
    request: web.Request, template: str, session: Session | None, status: int = 200, **extra: Any
) -> web.Response:
    context = page_context(request, session, status=status, **extra)
    return aiohttp_jinja2.render_template(template, request, context, status=status)
