"""The operator page (Owner and Admin): live figures polled from a small JSON endpoint.

The page's own script (static/operator.js) turns consecutive snapshots into per-second rates and
draws the chart; the endpoint only reports the process's counters, as `gateway.metrics` keeps them.
"""

from __future__ import annotations

from aiohttp import web

from admin_api.console.render import render
from admin_api.console.session import Session, require_session, session_of
from admin_api.service import require_operator
from admin_api.views import key_service
from gateway.errors import Unauthorized
from gateway.metrics import snapshot


async def _operator_session(request: web.Request, *, page: bool) -> Session:
    session = await require_session(request) if page else await session_of(request)
    if session is None:
        raise Unauthorized("You are not signed in.")
    await key_service(request).check_tenant(session.principal)
    require_operator(session.principal)
    return session


async def operator_page(request: web.Request) -> web.Response:
    session = await _operator_session(request, page=True)
    return render(
        request,
        "operator.html",
        session,
        metrics_url=str(request.app.router["operator_metrics"].url_for()),
    )


async def metrics_json(request: web.Request) -> web.Response:
    await _operator_session(request, page=False)
    root = request.match_info.apps[0]  # the gateway's app, which owns the metrics
    return web.json_response(snapshot(root))
