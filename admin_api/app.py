"""Mounts the admin sub-app (/api/v1/apikeys) and the OpenAPI document on the root app."""

from __future__ import annotations

from aiohttp import web

from admin_api import views
from admin_api.console.app import create_console_app
from admin_api.openapi import openapi_document


def create_admin_app() -> web.Application:
    admin = web.Application()
    admin.router.add_get("", views.list_keys)
    admin.router.add_post("", views.create_key)
    admin.router.add_delete("/{key_id}", views.revoke_key)
    return admin


def setup_admin(app: web.Application) -> None:
    app.add_subapp("/api/v1/apikeys", create_admin_app())
    app.router.add_get("/api/v1/openapi.json", openapi_document)
    app.add_subapp("/console", create_console_app())
