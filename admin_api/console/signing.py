"""The console's own signing key, derived from the JWT secret so every worker and host shares it."""

from __future__ import annotations

import functools
import hashlib

from aiohttp import web

from gateway.config import Config
from gateway.keys import CONFIG

_KEY_LABEL = b"hooksentry-console/v1"


@functools.cache  # Config is frozen: derived once per process, not per form
def console_secret(config: Config) -> bytes:
    """A key of its own: the JWT secret never signs a console cookie directly."""
    seed = config.jwt_secret[0].encode() if config.jwt_secret else b""
    return hashlib.sha256(_KEY_LABEL + b"\0" + seed).digest()


def secret_of(request: web.Request) -> bytes:
    return console_secret(request.config_dict[CONFIG])
