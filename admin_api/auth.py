"""Bearer authentication for the admin API."""

from __future__ import annotations

from aiohttp import web

from gateway.errors import Unauthorized
from gateway.keys import TOKENS
from gateway.tokens import Principal


def bearer_principal(request: web.Request) -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("A bearer token is required in the Authorization header.")
    return request.config_dict[TOKENS].verify(token.strip())
