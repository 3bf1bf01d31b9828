"""The valid keys handed to the reference proxies (one `key<TAB>tenant_id` per line), and the
command line both reference proxies share."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any

import uvloop

Serve = Callable[[str, int, str, dict[str, str]], Coroutine[Any, Any, None]]


def write_keys(path: Path, pairs: Iterable[tuple[str, str]]) -> None:
    path.write_text("".join(f"{key}\t{tenant}\n" for key, tenant in pairs))


def read_keys(path: str | Path) -> dict[str, str]:
    keys: dict[str, str] = {}
    for line in Path(path).read_text().splitlines():
        key, _, tenant = line.partition("\t")
        if key:
            keys[key] = tenant
    return keys


def run_reference(prog: str, description: str | None, serve: Serve) -> None:
    """`python -m bench.<reference> --port P --upstream host:port --keys FILE`, on uvloop."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="host:port of the upstream")
    parser.add_argument("--keys", required=True, help="file of key<TAB>tenant lines")
    args = parser.parse_args()
    uvloop.run(serve(args.host, args.port, args.upstream, read_keys(args.keys)))
