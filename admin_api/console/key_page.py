"""A key's page (SPEC §8): rename, set or clear its expiry and allowed addresses, rotate it with a
chosen overlap (the new key shown once), and its last use in words. Every rule is the
KeyService's; these handlers turn the form into the API's body and its errors into the page.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from admin_api.console.csrf import check_csrf
from admin_api.console.flash import Flash, set_flash
from admin_api.console.navigation import see_other, url
from admin_api.console.render import render
from admin_api.console.session import Session, require_session
from admin_api.console.submissions import submissions
from admin_api.lifecycle import OVERLAP_DEFAULT
from admin_api.service import NAME_MAX
from admin_api.store import KeyRow
from admin_api.views import actor_of, key_service
from gateway.errors import NotFound, ValidationFailed

OVERLAPS = (
    (0, "No overlap: the old key stops now"),
    (3_600, "1 hour"),
    (86_400, "1 day"),
    (604_800, "7 days"),
    (2_592_000, "30 days"),
)
_LOCAL_FORM = "%Y-%m-%dT%H:%M"  # <input type="datetime-local">, read as UTC


async def key_page(request: web.Request) -> web.Response:
    session = await require_session(request)
    row = await key_service(request).get(
        session.principal, request.match_info["key_id"], revoked=True
    )
    return _page(request, session, row)


def _page(
    request: web.Request,
    session: Session,
    row: KeyRow,
    error: str | None = None,
    status: int = 200,
    form: dict[str, str] | None = None,
) -> web.Response:
    now = datetime.now(UTC)
    values = form or {
        "name": row.name,
        "expires": local(row.expires_at),
        "allowed": "\n".join(str(n) for n in row.allowed_cidrs or ()),
    }
    return render(
        request, "key.html", session, status,
        row=row, now=now, active=row.is_active(now), error=error, values=values,
        expires_was=local(row.expires_at), allowed_was=_lines(row), overlaps=OVERLAPS,
        overlap_default=OVERLAP_DEFAULT, submission=secrets.token_urlsafe(16), name_max=NAME_MAX,
    )  # fmt: skip


async def change_key(request: web.Request) -> web.Response:
    session = await require_session(request)
    form = await check_csrf(request, session.id)
    key_id = request.match_info["key_id"]
    values = {k: str(form.get(k, "")) for k in ("name", "expires", "allowed")}
    service = key_service(request)
    try:
        body = patch_body(
            values, str(form.get("expires_was", "")), str(form.get("allowed_was", ""))
        )
        await service.patch(session.principal, key_id, body, actor_of(request, session.principal))
    except ValidationFailed as exc:
        row = await service.get(session.principal, key_id, revoked=True)
        return _page(request, session, row, exc.message, 400, values)
    except NotFound:
        return _gone(request)
    response = see_other(url(request, "key", key_id=key_id))
    set_flash(
        request, response, Flash("success", "Saved. Every gateway uses the new settings now.")
    )
    return response


async def rotate_key(request: web.Request) -> web.Response:
    session = await require_session(request)
    form = await check_csrf(request, session.id)
    key_id = request.match_info["key_id"]
    submission = str(form.get("submission", ""))
    once = submissions(request)
    if not await once.claim(submission):
        response = see_other(url(request, "key", key_id=key_id))
        set_flash(request, response, Flash("info", "That rotation was already sent."))
        return response
    try:
        overlap = int(str(form.get("overlap", OVERLAP_DEFAULT)))
        created, old = await key_service(request).rotate(
            session.principal,
            key_id,
            {"overlapSeconds": overlap},
            actor_of(request, session.principal),
        )
    except (ValidationFailed, ValueError):
        await once.release(submission)
        raise ValidationFailed("Choose one of the offered overlaps.") from None
    except NotFound:
        await once.release(submission)
        return _gone(request)
    except BaseException:
        await once.release(submission)
        raise
    return render(
        request, "key_created.html", session, 201,
        row=created.row, key=created.key, old=old, now=datetime.now(UTC),
    )  # fmt: skip


def patch_body(values: dict[str, str], expires_was: str, allowed_was: str) -> dict[str, Any]:
    """The form as a PATCH body: only what changed, so that renaming an expired key does not
    send its past expiry back (which the API refuses)."""
    body: dict[str, Any] = {"name": values["name"]}
    expires = values["expires"].strip()
    if expires != expires_was:
        body["expiresAt"] = None if not expires else _utc(expires)
    allowed = [line.strip() for line in values["allowed"].splitlines() if line.strip()]
    if "\n".join(allowed) != allowed_was:
        body["allowedCidrs"] = allowed or None
    return body


def local(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime(_LOCAL_FORM)


def _utc(text: str) -> str:
    try:
        moment = datetime.strptime(text, _LOCAL_FORM)
    except ValueError:
        raise ValidationFailed("The expiry must be a date and a time (UTC).") from None
    return moment.strftime("%Y-%m-%dT%H:%M:00Z")


def _lines(row: KeyRow) -> str:
    return "\n".join(str(n) for n in row.allowed_cidrs or ())


def _gone(request: web.Request) -> web.Response:
    response = see_other(url(request, "keys"))
    set_flash(request, response, Flash("error", "That key is revoked or no longer exists."))
    return response
