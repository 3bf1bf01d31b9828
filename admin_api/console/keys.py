"""The keys pages: list, create, revoke. Parse the form, call the service, render.

Every rule (name validation, roles, tenant checks) is the KeyService's; these handlers only turn
its answers and its errors into pages. The plain key of a new key is rendered on the POST response
itself (never stored, never redirected through a URL or a cookie); a one-time submission id keeps a
reload of that page from creating, or showing, a key again.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import UTC, datetime

from aiohttp import web

from admin_api.console import links
from admin_api.console.csrf import check_csrf
from admin_api.console.flash import Flash, set_flash
from admin_api.console.navigation import safe_next, see_other, url
from admin_api.console.render import render
from admin_api.console.session import Session, require_session
from admin_api.console.submissions import submissions
from admin_api.service import NAME_MAX, require_writer
from admin_api.views import actor_of, key_service
from gateway.errors import NotFound, ValidationFailed


async def keys_page(request: web.Request) -> web.Response:
    session = await require_session(request)
    page, problem = links.page_request(request.query)
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
        now=datetime.now(UTC),
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
    session = await require_session(request)
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
    session = await require_session(request)
    form = await check_csrf(request, session.id)
    name = form.get("name")
    submission = str(form.get("submission", ""))
    once = submissions(request)
    if not await once.claim(submission):
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
        created = await key_service(request).create(
            session.principal, {"name": name}, actor_of(request, session.principal)
        )
    except ValidationFailed as exc:
        await once.release(submission)
        return _new_key_form(request, session, str(name or ""), exc.message, 400)
    except BaseException:
        await once.release(submission)
        raise
    return render(request, "key_created.html", session, 201, row=created.row, key=created.key)


async def revoke_key(request: web.Request) -> web.Response:
    session = await require_session(request)
    form = await check_csrf(request, session.id)
    back = safe_next(str(form.get("back", "")), url(request, "keys"))
    try:
        row = await key_service(request).revoke(
            session.principal, request.match_info["key_id"], actor_of(request, session.principal)
        )
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
