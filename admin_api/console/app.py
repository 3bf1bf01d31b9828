"""The console sub-app: its routes, its templates (aiohttp-jinja2) and its static files."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from admin_api.console import (
    audit_page,
    key_page,
    keys,
    operator,
    rejections,
    sign_in,
    source_create,
    source_rotate,
    sources,
)
from admin_api.console.middleware import console_middleware
from admin_api.console.render import STATIC_URLS
from admin_api.console.timewords import ago, until
from admin_api.views import timestamp

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def create_console_app() -> web.Application:
    console = web.Application(middlewares=[console_middleware])
    aiohttp_jinja2.setup(
        console,
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
        filters={"when": display_time, "iso": iso_time, "ago": ago, "until": until},
        context_processors=[aiohttp_jinja2.request_processor],
    )
    console[STATIC_URLS] = {p.name: _versioned(p) for p in STATIC.iterdir() if p.is_file()}
    console.router.add_get("", sign_in.home, name="home")
    console.router.add_get("/", sign_in.home)
    console.router.add_get("/sign-in", sign_in.sign_in_page, name="sign_in")
    console.router.add_post("/sign-in", sign_in.sign_in)
    console.router.add_post("/sign-out", sign_in.sign_out, name="sign_out")
    console.router.add_get("/keys", keys.keys_page, name="keys")
    console.router.add_post("/keys", keys.create_key, name="create_key")
    console.router.add_get("/keys/new", keys.new_key_page, name="new_key")
    console.router.add_post("/keys/{key_id}/revoke", keys.revoke_key, name="revoke_key")
    console.router.add_get("/keys/{key_id}", key_page.key_page, name="key")
    console.router.add_post("/keys/{key_id}", key_page.change_key, name="change_key")
    console.router.add_post("/keys/{key_id}/rotate", key_page.rotate_key, name="rotate_key")
    console.router.add_get("/audit", audit_page.audit_console_page, name="audit")
    console.router.add_get("/rejections", rejections.rejections_page, name="rejections")
    _add_source_routes(console.router)
    console.router.add_get("/operator", operator.operator_page, name="operator")
    console.router.add_get("/operator/metrics.json", operator.metrics_json, name="operator_metrics")
    console.router.add_static("/static", STATIC, name="static", append_version=False)
    return console


def _add_source_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/sources", sources.sources_page, name="sources")
    router.add_post("/sources", source_create.create_source, name="create_source")
    router.add_get("/sources/new", source_create.new_source_page, name="new_source")
    rotate = "/sources/{source_id}/rotate"
    router.add_get(rotate, source_rotate.rotate_page, name="rotate_source")
    router.add_post(rotate, source_rotate.rotate_source)
    deactivate = "/sources/{source_id}/deactivate"
    router.add_post(deactivate, sources.deactivate_source, name="deactivate_source")


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
