"""Creating a source: the form with the provider's own setup steps, then the result page.

A secret the gateway generated is rendered on the POST response itself (never stored, never
redirected through a URL or a cookie); a one-time submission id keeps a reload of that page from
creating a second source, or showing the secret again. A secret the user pasted is never
rendered back, not even into a form that failed for another reason.
"""

from __future__ import annotations

import secrets

from aiohttp import web

from admin_api.console.csrf import check_csrf
from admin_api.console.flash import Flash, set_flash
from admin_api.console.navigation import see_other, url
from admin_api.console.origin import origin_of
from admin_api.console.providers import PROVIDER_INFO
from admin_api.console.render import render
from admin_api.console.session import Session, require_session
from admin_api.console.source_form import CreateForm
from admin_api.console.sources import require_source_writer, url_maker
from admin_api.console.submissions import submissions
from admin_api.service import NAME_MAX
from admin_api.sources_service import TOLERANCE, SourceConflict
from admin_api.sources_views import source_service
from admin_api.views import actor_of
from gateway.errors import ValidationFailed

ALREADY_SENT = (
    "That form was already sent. The source it created is in the list below; a secret the "
    "gateway generated is shown only once, so rotate the source's secret if you did not copy it."
)


async def new_source_page(request: web.Request) -> web.Response:
    session = await require_session(request)
    require_source_writer(session.principal)
    return _form(request, session, CreateForm.blank(request.query.get("provider")), {})


def _form(
    request: web.Request,
    session: Session,
    fields: CreateForm,
    errors: dict[str, str],
    status: int = 200,
) -> web.Response:
    return render(
        request,
        "source_new.html",
        session,
        status,
        form=fields,
        errors=errors,
        secret_dropped=bool(errors) and bool(fields.secret) and "secret" not in errors,
        submission=secrets.token_urlsafe(16),
        providers=PROVIDER_INFO,
        url_prefix=f"{origin_of(request)}/api/v1/ingest/{session.principal.tenant_id}/",
        name_max=NAME_MAX,
        tolerance=TOLERANCE,
    )


async def create_source(request: web.Request) -> web.Response:
    session = await require_session(request)
    form = await check_csrf(request, session.id)
    require_source_writer(session.principal)
    fields = CreateForm.of(form)
    if problem := fields.problem():
        return _form(request, session, fields, dict([problem]), 400)
    submission = str(form.get("submission", ""))
    once = submissions(request)
    if not await once.claim(submission):
        response = see_other(url(request, "sources"))
        set_flash(request, response, Flash("info", ALREADY_SENT))
        return response
    try:
        created = await source_service(request).create(
            session.principal, fields.body(), actor_of(request, session.principal)
        )
    except ValidationFailed as exc:
        await once.release(submission)
        return _form(request, session, fields, {exc.field or "name": exc.message}, 400)
    except SourceConflict:
        await once.release(submission)
        taken = "Another active source already uses this token. Choose another one."
        return _form(request, session, fields, {"token": taken}, 409)
    except BaseException:
        await once.release(submission)
        raise
    return render(
        request,
        "source_created.html",
        session,
        201,
        row=created.row,
        secret=created.secret,
        provider=PROVIDER_INFO[created.row.provider],
        ingest_url=url_maker(request)(created.row),
    )
