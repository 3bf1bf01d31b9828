"""The valid keys handed to the reference proxies: one `key<TAB>tenant_id` per line."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def write_keys(path: Path, pairs: Iterable[tuple[str, str]]) -> None:
    path.write_text("".join(f"{key}\t{tenant}\n" for key, tenant in pairs))


def read_keys(path: str | Path) -> dict[str, str]:
    keys: dict[str, str] = {}
    for line in Path(path).read_text().splitlines():
        key, _, tenant = line.partition("\t")
        if key:
            keys[key] = tenant
    return keys
