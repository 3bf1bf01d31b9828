"""Console pages for signing in and managing keys: parse the form, call the service, render.

Every rule (name validation, roles, tenant checks) is the KeyService's; these handlers only turn
its answers and its errors into pages. The plain key of a new key is rendered on the POST response
itself (never stored, never redirected through a URL or a cookie); a one-time submission id keeps a
reload of that page from creating, or showing, a key again.
"""

from __future__ import annotations

import secrets
from dataclasses import replace

from aiohttp import web

from admin_api import console_links as links
from admin_api.console_render import render
from admin_api.console_session import (
    SESSION_COOKIE,
    Flash,
    Session,
    check_csrf,
    end_session,
    safe_next,
    session_of,
    set_flash,
    start_session,
    verify_token,
)
from admin_api.pagination import PageRequest, parse_page_request
from admin_api.service import NAME_MAX, require_writer
from admin_api.views import key_service
from gateway.errors import NotFound, Unauthorized, ValidationFailed
from gateway.keys import CONFIG, REDIS
from gateway.redis_client import REDIS_ERRORS

_SUBMISSION_TTL = 3600


def url(request: web.Request, name: str, **parts: str) -> str:
    return str(request.app.router[name].url_for(**parts))


def see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def sign_in_target(request: web.Request) -> str:
    """The sign-in page, remembering the page to come back to (for a GET elsewhere)."""
    target = request.app.router["sign_in"].url_for()
    if request.method == "GET" and request.path != str(target):
        target = target.with_query(next=request.path_qs)
    return str(target)


def require_session(request: web.Request) -> Session:
    session = session_of(request)
    if session is None:
        raise web.HTTPSeeOther(sign_in_target(request))
    return session


async def home(request: web.Request) -> web.Response:
    return see_other(url(request, "keys" if session_of(request) else "sign_in"))


# --- Signing in and out ----------------------------------------------------------------------


async def sign_in_page(request: web.Request) -> web.Response:
    if session_of(request) is not None:
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
    start_session(request, response, token)
    return response


def _sign_in_error(request: web.Request, next_url: str, message: str, status: int) -> web.Response:
    return render(request, "sign_in.html", None, status, next=next_url, error=message)


async def sign_out(request: web.Request) -> web.Response:
    await check_csrf(request, request.cookies.get(SESSION_COOKIE, ""))
    response = see_other(url(request, "sign_in"))
    end_session(request, response)
    set_flash(request, response, Flash("info", "You have signed out."))
    return response


# --- Keys ------------------------------------------------------------------------------------


def console_page_request(request: web.Request) -> tuple[PageRequest, str | None]:
    """The URL's view (API parameter names); a bad parameter falls back to the default view."""
    try:
        return parse_page_request(request.query, links.CONSOLE_DEFAULT), None
    except ValidationFailed as exc:
        return links.CONSOLE_DEFAULT, f"{exc.message} Showing the default view instead."


async def keys_page(request: web.Request) -> web.Response:
    session = require_session(request)
    page, problem = console_page_request(request)
    total, rows = await key_service(request).list(session.principal, page)
    base = url(request, "keys")
    confirm_id = request.query.get("confirm")
    confirm = next((r for r in rows if str(r.id) == confirm_id and r.revoked_at is None), None)
    return render(
        request,
        "keys.html",
        session,
        page=page,
        rows=rows,
        total=total,
        problem=problem,
        confirm=confirm,
        confirm_missing=bool(confirm_id) and confirm is None,
        here=links.href(base, page),
        revoke_href=lambda row: links.href(base, page, confirm=str(row.id)),
        sort_links=links.sort_links(base, page),
        filter_links=links.filter_links(base, page),
        paging=links.paging(base, page, total),
        page_sizes=links.PAGE_SIZES,
        first_page=links.href(base, replace(page, page=1)),
    )


async def new_key_page(request: web.Request) -> web.Response:
    session = require_session(request)
    require_writer(session.principal)
    return _new_key_form(request, session, "", None)


def _new_key_form(
    request: web.Request, session: Session, name: str, error: str | None, status: int = 200
) -> web.Response:
    submission = secrets.token_urlsafe(16)
    return render(
        request,
        "key_new.html",
        session,
        status,
        name=name,
        error=error,
        submission=submission,
        name_max=NAME_MAX,
    )


async def create_key(request: web.Request) -> web.Response:
    session = require_session(request)
    form = await check_csrf(request, session.token)
    name = form.get("name")
    submission = str(form.get("submission", ""))
    if not await _claim_submission(request, submission):
        set_flash(
            request,
            response := see_other(url(request, "keys")),
            Flash(
                "info",
                "That form was already sent. The key it created is in the list below; "
                "its value is shown only once, so create a new key if you did not copy it.",
            ),
        )
        return response
    try:
        created = await key_service(request).create(session.principal, {"name": name})
    except ValidationFailed as exc:
        await _release_submission(request, submission)
        return _new_key_form(request, session, str(name or ""), exc.message, 400)
    except BaseException:
        await _release_submission(request, submission)
        raise
    return render(request, "key_created.html", session, 201, row=created.row, key=created.key)


async def revoke_key(request: web.Request) -> web.Response:
    session = require_session(request)
    form = await check_csrf(request, session.token)
    back = safe_next(str(form.get("back", "")), url(request, "keys"))
    try:
        row = await key_service(request).revoke(session.principal, request.match_info["key_id"])
    except NotFound as exc:
        flash = Flash(
            "error",
            f"Nothing was revoked: {exc.message} It may have been revoked "
            "already, in another tab or by a colleague.",
        )
    else:
        flash = Flash("success", f"Revoked “{row.name}”. Requests that use it are now refused.")
    response = see_other(back)
    set_flash(request, response, flash)
    return response


async def _claim_submission(request: web.Request, submission: str) -> bool:
    """True the first time a create form is sent. Redis trouble never blocks a create."""
    if not submission or len(submission) > 64:
        return True
    try:
        claimed = await request.config_dict[REDIS].set(
            _submission_key(request, submission), b"1", nx=True, ex=_SUBMISSION_TTL
        )
    except REDIS_ERRORS:
        return True
    return bool(claimed)


async def _release_submission(request: web.Request, submission: str) -> None:
    if submission and len(submission) <= 64:
        try:
            await request.config_dict[REDIS].delete(_submission_key(request, submission))
        except REDIS_ERRORS:
            pass


def _submission_key(request: web.Request, submission: str) -> str:
    return f"{request.config_dict[CONFIG].redis_prefix}console:form:{submission}"
