"""The host's figures: this worker's state as data, the files workers share, and their sum.

With several workers on one port a scrape reaches one arbitrary worker, so each worker writes its
state to `<metrics dir>/<supervisor pid>-<worker pid>-<random>.json` and the worker answering
sums every file of its supervisor: counters and histograms of all workers (a dead worker's last
file included, so totals do not go backwards), gauges of live workers only.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from gateway.cachestats import CacheStats
from gateway.config import Config
from gateway.keys import CLAIMS, KEY_CACHE, METRICS, PG_POOL, REJECTIONS, SOURCE_CACHE

SEP = "\t"  # joins label values into one JSON-friendly key

State = dict[str, dict[str, Any]]
COUNTERS = {
    "requests": (
        "hooksentry_http_requests",
        "Requests answered, by route and status.",
        ("route", "status"),
    ),
    "errors": ("hooksentry_http_errors", "Answers that were 5xx or errors the gateway raised.", ()),
    "upstream_errors": (
        "hooksentry_upstream_errors",
        "Failed upstream exchanges by kind.",
        ("kind",),
    ),
    "key_checks": (
        "hooksentry_key_checks",
        "API key checks by where the answer came from.",
        ("result",),
    ),
    "source_checks": (
        "hooksentry_source_checks",
        "Source-set lookups on the ingest path by where the answer came from.",
        ("result",),
    ),
    "invalidations": ("hooksentry_invalidations_received", "Invalidation messages received.", ()),
    "resubscribes": (
        "hooksentry_pubsub_resubscribes",
        "Pub/sub gaps: resubscribes (L1 cleared).",
        (),
    ),
    "deliveries": (
        "hooksentry_deliveries",
        "Signed deliveries by the duplicate check's outcome.",
        ("result",),
    ),
    "dedup_skipped": (
        "hooksentry_dedup_skipped",
        "Deliveries forwarded unchecked because Redis was unavailable.",
        (),
    ),
    "rejections": (
        "hooksentry_rejections",
        "Ingest requests the gateway rejected (401/403/409/413/429), by exact reason.",
        ("reason",),
    ),
    "rejection_records_dropped": (
        "hooksentry_rejection_records_dropped",
        "Rejection-log records not stored, by cause (rate, queue, redis, inactive, unchecked).",
        ("cause",),
    ),
}
HISTOGRAMS = {
    "request_seconds": ("hooksentry_http_request_duration_seconds", "Time to answer.", ("route",)),
    "upstream_seconds": (
        "hooksentry_upstream_request_duration_seconds",
        "Upstream exchange time.",
        (),
    ),
}
Combine = Callable[[list[float]], float]
GAUGES: dict[str, tuple[str, str, Combine]] = {  # name -> (metric, help, how workers combine)
    "l1_entries": ("hooksentry_l1_entries", "Entries in the workers' L1 caches.", sum),
    "pg_pool_in_use": ("hooksentry_pg_pool_in_use", "PostgreSQL connections checked out.", sum),
    "pg_pool_size": ("hooksentry_pg_pool_size", "PostgreSQL connections open.", sum),
    "invalidation_age": (
        "hooksentry_invalidation_last_message_age_seconds",
        "Seconds since the last invalidation message (or worker start); worst worker.",
        max,
    ),
    "workers": ("hooksentry_workers", "Worker processes reporting.", sum),
}


def worker_state(app: web.Application, now: float) -> State:
    """This worker's figures as plain JSON-able data (label values joined by a tab)."""
    metrics = app[METRICS]
    cache = app.get(KEY_CACHE)
    stats = cache.stats if cache is not None else CacheStats()
    sources = app.get(SOURCE_CACHE)
    pool = app.get(PG_POOL)
    size = pool.get_size() if pool is not None else 0
    idle = pool.get_idle_size() if pool is not None else 0
    claims, rejections = app.get(CLAIMS), app.get(REJECTIONS)
    return {
        "counters": {
            "requests": {f"{r}{SEP}{s}": n for (r, s), n in metrics.requests.items()},
            "errors": {"": metrics.errors},
            "upstream_errors": dict(metrics.upstream_errors),
            "key_checks": key_checks(stats),
            "source_checks": key_checks(sources.stats if sources is not None else CacheStats()),
            "invalidations": {"": stats.invalidations_received},
            "resubscribes": {"": stats.resubscribes},
            "deliveries": dict(claims.results) if claims is not None else {},
            "dedup_skipped": {"": claims.skipped if claims is not None else 0},
            "rejections": dict(rejections.by_reason) if rejections is not None else {},
            "rejection_records_dropped": dict(rejections.dropped) if rejections else {},
        },
        "histograms": {
            "request_seconds": {r: h.dump() for r, h in metrics.request_seconds.items()},
            "upstream_seconds": {"": metrics.upstream_seconds.dump()},
        },
        "gauges": {
            "l1_entries": (len(cache) if cache is not None else 0)
            + (len(sources) if sources is not None else 0),
            "pg_pool_in_use": size - idle,
            "pg_pool_size": size,
            "invalidation_age": max(0.0, now - stats.last_invalidation),
            "workers": 1,
        },
    }


def key_checks(stats: CacheStats) -> dict[str, int]:
    """A cache's lookups by where the answer came from (the `result` label)."""
    return {
        "l1_hit": stats.l1_hits,
        "l1_negative_hit": stats.l1_negative_hits,
        "redis_hit": stats.redis_hits,
        "db_hit": stats.db_hits,
        "db_miss": stats.db_misses,
        "unavailable": stats.unavailable,
        "replica_hit": stats.replica_hits,
        "replica_miss": stats.replica_misses,
    }


def merge(states: list[tuple[State, bool]]) -> State:
    """Sum counters and histograms of every worker (dead ones too); gauges of live ones."""
    merged: State = {"counters": {}, "histograms": {}, "gauges": {}}
    gauges: dict[str, list[float]] = {}
    for state, alive in states:
        for name, series in state.get("counters", {}).items():
            total = merged["counters"].setdefault(name, {})
            for labels, value in series.items():
                total[labels] = total.get(labels, 0) + value
        for name, series in state.get("histograms", {}).items():
            total = merged["histograms"].setdefault(name, {})
            for labels, values in series.items():
                old = total.get(labels)
                total[labels] = (
                    values if old is None else [a + b for a, b in zip(old, values, strict=True)]
                )
        if alive:
            for name, value in state.get("gauges", {}).items():
                gauges.setdefault(name, []).append(value)
    merged["gauges"] = {n: GAUGES[n][2](v) for n, v in gauges.items() if n in GAUGES}
    return merged


class WorkerFiles:
    """`<dir>/<supervisor pid>-<worker pid>-<random>.json`: one file per worker of one host."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.group = str(os.getppid())  # the supervisor: workers of one `serve` share it
        self.path = folder / f"{self.group}-{os.getpid()}-{uuid.uuid4().hex[:8]}.json"

    @classmethod
    def for_config(cls, config: Config) -> WorkerFiles | None:
        if config.metrics_dir:
            return cls(Path(config.metrics_dir))
        if config.workers > 1:
            return cls(Path(tempfile.gettempdir()) / f"hooksentry-metrics-{os.getppid()}")
        return None  # one process: its own figures are the whole story

    def prepare(self) -> None:
        """Create the folder; remove files left by supervisors that are gone."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        for path in self.folder.glob("*.json"):
            group = path.name.split("-", 1)[0]
            if group != self.group and group.isdigit() and not _alive(int(group)):
                with contextlib.suppress(OSError):
                    path.unlink()

    def write(self, state: State) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_bytes(orjson.dumps(state))
        os.replace(tmp, self.path)

    def others(self) -> Iterator[tuple[State, bool]]:
        for path in self.folder.glob(f"{self.group}-*.json"):
            if path == self.path:
                continue
            try:
                state = orjson.loads(path.read_bytes())
            except (OSError, orjson.JSONDecodeError):
                continue  # vanished or being replaced: the next scrape sees it
            yield state, _alive(int(path.name.split("-")[1]))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def host_state(app: web.Application) -> State:
    """Every worker of this host, this one's figures fresh."""
    mine = worker_state(app, time.time())
    files = app[METRICS].files
    if files is None:
        return merge([(mine, True)])
    files.write(mine)
    return merge([(mine, True), *files.others()])
