"""Mounts the admin sub-apps (/api/v1/apikeys, /api/v1/sources, /api/v1/rejections), the
OpenAPI document and the console on the root app."""

from __future__ import annotations

from aiohttp import web

from admin_api import views
from admin_api.audit_views import create_audit_app
from admin_api.console.app import create_console_app
from admin_api.headers import ADMIN_HEADERS, add_admin_headers
from admin_api.openapi import openapi_document
from admin_api.rejections_views import create_rejections_app
from admin_api.sources_views import create_sources_app


def create_admin_app() -> web.Application:
    admin = web.Application()
    admin.on_response_prepare.append(add_admin_headers)
    admin.router.add_get("", views.list_keys)
    admin.router.add_post("", views.create_key)
    admin.router.add_get("/{key_id}", views.get_key)
    admin.router.add_patch("/{key_id}", views.patch_key)
    admin.router.add_post("/{key_id}/rotate", views.rotate_key)
    admin.router.add_delete("/{key_id}", views.revoke_key)
    return admin


def setup_admin(app: web.Application) -> None:
    app.add_subapp("/api/v1/apikeys", create_admin_app())
    app.add_subapp("/api/v1/sources", create_sources_app())
    app.add_subapp("/api/v1/audit", create_audit_app())
    app.add_subapp("/api/v1/rejections", create_rejections_app())
    app.router.add_get("/api/v1/openapi.json", _openapi_document)
    app.add_subapp("/console", create_console_app())


async def _openapi_document(request: web.Request) -> web.StreamResponse:
    """The document is public and holds no secret, but it is an admin answer like the others."""
    response = await openapi_document(request)
    response.headers.update(ADMIN_HEADERS)
    return response
