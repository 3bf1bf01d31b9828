"""Metrics: plain counters on the hot path, Prometheus text at scrape time.

Recording a request costs a dict update and a bisect; nothing from prometheus-client runs per
request. At scrape time a custom collector turns the counters into metric families, and
prometheus-client writes the exposition text.

Several workers share one port (SO_REUSEPORT), so a scrape reaches one arbitrary worker. Each
worker therefore writes its state to a small file in a folder shared by the workers of one host
(every second and at shutdown) and the worker that answers the scrape sums them. Counters of a
worker that died are kept (its last file), so totals never go backwards while the supervisor
lives; gauges come from live workers only. docs/operations.md explains the choice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from bisect import bisect_left
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from gateway.errors import GatewayError
from gateway.keys import CONFIG, METRICS, METRICS_REGISTRY
from gateway.metrics_host import (
    COUNTERS,
    GAUGES,
    HISTOGRAMS,
    SEP,
    WorkerFiles,
    host_state,
    worker_state,
)
from gateway.middlewares import route_of

log = logging.getLogger(__name__)

T = TypeVar("T")
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
FLUSH_INTERVAL = 1.0
_RECENT_UPSTREAM = 2048  # latencies kept for the operator page's p99


class Histogram:
    """Bucket counts (last one = +Inf) and a sum; observe() is one bisect and two adds."""

    __slots__ = ("counts", "sum")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(BUCKETS, seconds)] += 1
        self.sum += seconds

    def dump(self) -> list[float]:
        return [*self.counts, self.sum]


class Metrics:
    """One per process: what the request path records. Plain ints; no locks (one event loop)."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, int], int] = {}
        self.request_seconds: dict[str, Histogram] = {}
        self.errors = 0
        self.upstream_seconds = Histogram()
        self.upstream_errors: dict[str, int] = {}
        self.recent_upstream: deque[float] = deque(maxlen=_RECENT_UPSTREAM)
        self.files: WorkerFiles | None = None

    def observe_request(self, route: str, status: int, seconds: float, error: bool) -> None:
        key = (route, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        histogram = self.request_seconds.get(route)
        if histogram is None:
            histogram = self.request_seconds[route] = Histogram()
        histogram.observe(seconds)
        if error:
            self.errors += 1

    def observe_upstream(self, seconds: float, error_kind: str | None = None) -> None:
        """One upstream exchange: its duration, and the kind of failure if it failed."""
        self.upstream_seconds.observe(seconds)
        self.recent_upstream.append(seconds)
        if error_kind is not None:
            self.upstream_errors[error_kind] = self.upstream_errors.get(error_kind, 0) + 1

    async def track_upstream(self, exchange: Awaitable[T]) -> T:
        """`reply = await metrics.track_upstream(upstream.forward(...))`: times and classifies."""
        start = time.perf_counter()
        try:
            reply = await exchange
        except asyncio.CancelledError:
            self.observe_upstream(time.perf_counter() - start, "cancelled")
            raise
        except Exception as exc:
            self.observe_upstream(time.perf_counter() - start, error_kind(exc))
            raise
        self.observe_upstream(time.perf_counter() - start)
        return reply

    def upstream_p99(self) -> float:
        recent = sorted(self.recent_upstream)
        return recent[min(len(recent) - 1, int(len(recent) * 0.99))] if recent else 0.0


def error_kind(exc: BaseException) -> str:
    """A bounded label for an upstream failure: the gateway error code, else the class name."""
    if isinstance(exc, GatewayError):
        return exc.code
    return type(exc).__name__


def metrics_middleware(metrics: Metrics) -> Any:
    """Counts every request by route and status; inside request_context, so it sees the errors."""

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        start = time.perf_counter()
        status, error = 500, True
        try:
            response = await handler(request)
            status = response.status
            error = status >= 500
            return response
        except GatewayError as exc:
            status = exc.status
            raise
        except web.HTTPException as exc:
            status, error = exc.status, exc.status >= 500
            raise
        except asyncio.CancelledError:
            status, error = 499, False  # the sender went away (nginx's convention)
            raise
        finally:
            metrics.observe_request(route_of(request), status, time.perf_counter() - start, error)

    return record


# --- Exposition ------------------------------------------------------------------------------


class HostCollector(Collector):
    """Turns the host's merged state into metric families at scrape time."""

    def __init__(self, app: web.Application):
        self._app = app

    def describe(self) -> list[Any]:
        return []  # nothing to collect before the app runs

    def collect(self) -> Iterator[Any]:
        state = host_state(self._app)
        yield from _counter_families(state["counters"])
        yield from _histogram_families(state["histograms"])
        for key, value in state["gauges"].items():
            name, doc, _ = GAUGES[key]
            yield GaugeMetricFamily(name, doc, value=value)


def _counter_families(counters: dict[str, Any]) -> Iterator[Any]:
    for key, (name, doc, labels) in COUNTERS.items():
        family = CounterMetricFamily(name, doc, labels=labels)
        for label_key, value in sorted(counters.get(key, {}).items()):
            family.add_metric(label_key.split(SEP) if labels else [], value)
        yield family


def _histogram_families(histograms: dict[str, Any]) -> Iterator[Any]:
    bounds = [*(str(float(b)) for b in BUCKETS), "+Inf"]
    for key, (name, doc, labels) in HISTOGRAMS.items():
        family = HistogramMetricFamily(name, doc, labels=labels)
        for label_key, values in sorted(histograms.get(key, {}).items()):
            cumulative, running = [], 0.0
            for bound, count in zip(bounds, values[:-1], strict=True):
                running += count
                cumulative.append((bound, running))
            family.add_metric([label_key] if labels else [], cumulative, values[-1])
        yield family


async def metrics_handler(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS_REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def snapshot(app: web.Application) -> dict[str, float]:
    """Figures for the console's operator page: host-wide totals, process-local p99."""
    state = host_state(app)
    counters = state["counters"]
    checks = counters.get("key_checks", {})
    return {
        "timestamp": time.time(),
        "requests_total": float(sum(counters.get("requests", {}).values())),
        "errors_total": float(counters.get("errors", {}).get("", 0)),
        "l1_hits": float(checks.get("l1_hit", 0) + checks.get("l1_negative_hit", 0)),
        "l1_lookups": float(sum(checks.values())),
        "invalidations_total": float(counters.get("invalidations", {}).get("", 0)),
        "upstream_p99_seconds": app[METRICS].upstream_p99(),
    }


async def metrics_ctx(app: web.Application) -> AsyncIterator[None]:
    """Writes this worker's file every second (and at the end) when workers share a host."""
    metrics = app[METRICS]
    metrics.files = WorkerFiles.for_config(app[CONFIG])
    if metrics.files is None:  # one process: a scrape reads its figures directly
        yield
        return
    metrics.files.prepare()
    task = asyncio.create_task(_flush_forever(app), name="metrics-flush")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    _flush(app)


async def _flush_forever(app: web.Application) -> None:
    while True:
        await asyncio.sleep(FLUSH_INTERVAL)
        _flush(app)


def _flush(app: web.Application) -> None:
    files = app[METRICS].files
    assert files is not None  # the flush task runs only when workers share files
    try:
        files.write(worker_state(app, time.time()))
    except OSError as exc:
        log.warning("metrics file not written: %s", type(exc).__name__)


def setup_metrics(app: web.Application) -> None:
    """Middleware, the flush task and GET /metrics. Call after the key cache's cleanup_ctx."""
    metrics = Metrics()
    app[METRICS] = metrics
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HostCollector(app))
    app[METRICS_REGISTRY] = registry
    app.middlewares.append(metrics_middleware(metrics))
    app.cleanup_ctx.append(metrics_ctx)
    app.router.add_get("/metrics", metrics_handler)
