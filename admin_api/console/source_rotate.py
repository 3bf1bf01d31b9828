"""Rotating a source's secret: the form (new secret, how long the older ones keep working),
then the result page with a generated secret shown once.

The one-time submission id matters more here than for a create: a second rotation sent by a
reload would end the secret the first one just made, before anyone pasted it anywhere.
"""

from __future__ import annotations

import secrets

from aiohttp import web

from admin_api.console.csrf import check_csrf
from admin_api.console.flash import Flash, set_flash
from admin_api.console.navigation import see_other, url
from admin_api.console.providers import OVERLAPS, PROVIDER_INFO
from admin_api.console.render import render
from admin_api.console.session import Session, require_session
from admin_api.console.source_form import RotateForm
from admin_api.console.sources import require_source_writer, url_maker
from admin_api.console.submissions import submissions
from admin_api.sources_service import SecretMismatch
from admin_api.sources_store import SourceRow
from admin_api.sources_views import source_service
from admin_api.views import actor_of
from gateway.errors import ValidationFailed

ALREADY_SENT = (
    "That form was already sent: the secret was rotated once. A secret the gateway generated "
    "is shown only once, so rotate again if you did not copy it."
)


async def rotate_page(request: web.Request) -> web.Response:
    session = await require_session(request)
    require_source_writer(session.principal)
    row = await source_service(request).get(session.principal, request.match_info["source_id"])
    return _form(request, session, row, RotateForm.blank(), {})


def _form(
    request: web.Request,
    session: Session,
    row: SourceRow,
    fields: RotateForm,
    errors: dict[str, str],
    status: int = 200,
) -> web.Response:
    return render(
        request,
        "source_rotate.html",
        session,
        status,
        row=row,
        form=fields,
        errors=errors,
        overlaps=OVERLAPS,
        provider=PROVIDER_INFO[row.provider],
        ingest_url=url_maker(request)(row),
        submission=secrets.token_urlsafe(16),
    )


async def rotate_source(request: web.Request) -> web.Response:
    session = await require_session(request)
    form = await check_csrf(request, session.id)
    require_source_writer(session.principal)
    service, source_id = source_service(request), request.match_info["source_id"]
    row = await service.get(session.principal, source_id)
    fields = RotateForm.of(form)
    if problem := fields.problem(row.provider):
        return _form(request, session, row, fields, dict([problem]), 400)
    submission = str(form.get("submission", ""))
    once = submissions(request)
    if not await once.claim(submission):
        response = see_other(url(request, "sources"))
        set_flash(request, response, Flash("info", ALREADY_SENT))
        return response
    try:
        rotated = await service.rotate(
            session.principal, source_id, fields.body(), actor_of(request, session.principal)
        )
    except (ValidationFailed, SecretMismatch) as exc:
        await once.release(submission)
        field = exc.field if isinstance(exc, ValidationFailed) and exc.field else "secret"
        return _form(request, session, row, fields, {field: exc.message}, exc.status)
    except BaseException:
        await once.release(submission)
        raise
    return render(
        request,
        "source_rotated.html",
        session,
        201,
        row=rotated.row,
        secret=rotated.secret,
        provider=PROVIDER_INFO[rotated.row.provider],
        ingest_url=url_maker(request)(rotated.row),
    )
