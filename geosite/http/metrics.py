"""Prometheus metrics of a machine (``prometheus-client``), served at
``/arcgis/admin/metrics`` to administrators and to the scrape addresses the machine names
(``--metrics-addresses``).

The worker processes of ``geosite serve`` share them through prometheus-client's
multiprocess mode: ``serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at an empty directory of
its own before it starts them, and a scrape adds up every worker's files. In one process
(the tests' sites) the default registry is used.

Label values are bounded: the area, the service (services of the site), the operation (the
last word of a service URL, from a fixed list, else ``other``), the error code.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter(
    "geosite_requests_total",
    "Requests answered, by area (admin, rest, tokens), service type and ArcGIS code.",
    ["area", "type", "code"],
)
LATENCY = Histogram(
    "geosite_request_seconds",
    "Time to answer a request, by service and operation (admin and other: by area).",
    ["service", "operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
TILES = Counter(
    "geosite_map_tiles_total",
    "Map tiles answered: drawn on this request, or read from the cache.",
    ["outcome"],
)
LOGINS = Counter("geosite_logins_total", "Token requests, by outcome.", ["outcome"])
TOKEN_FAILURES = Counter(
    "geosite_token_failures_total", "Requests with a token that was refused (expired, revoked...)."
)
HEARTBEAT = Gauge(
    "geosite_heartbeat_timestamp_seconds",
    "When this machine last wrote its heartbeat to the site store.",
    multiprocess_mode="max",
)
POOL = Gauge(
    "geosite_database_pool_connections",
    "PostgreSQL connections of the feature-data pools, by state (summed over workers).",
    ["state"],
    multiprocess_mode="livesum",
)

#: Operations named as such in the latency histogram (others: ``other``).
OPERATIONS = frozenset(
    {
        "query", "applyEdits", "addFeatures", "updateFeatures", "deleteFeatures",
        "export", "identify", "find", "legend", "project", "buffer", "lengths",
        "areasAndLengths", "generateToken",
    }
)  # fmt: skip


def observe(area: str, service_key: str, path: str, code: int, seconds: float) -> None:
    """Count one answered request."""
    service = service_key.lstrip("/")
    kind = service.rsplit(".", 1)[1] if "." in service else area
    REQUESTS.labels(area, kind, str(code)).inc()
    last = path.rstrip("/").rsplit("/", 1)[-1]
    operation = last if last in OPERATIONS else "other"
    LATENCY.labels(service or area, operation).observe(seconds)


def pools(stats: list[dict[str, int]]) -> None:
    """Record the feature-data pools' sizes (psycopg_pool ``get_stats``)."""
    size = sum(s.get("pool_size", 0) for s in stats)
    idle = sum(s.get("pool_available", 0) for s in stats)
    POOL.labels("open").set(size)
    POOL.labels("idle").set(idle)
    POOL.labels("waiting").set(sum(s.get("requests_waiting", 0) for s in stats))


def exposition() -> tuple[bytes, str]:
    """The metrics of every worker of this machine, in Prometheus's text format."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


def worker_gone(pid: int) -> None:
    """A worker of ``serve`` ended: its live gauges stop counting."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


__all__: list[Any] = ["exposition", "observe", "pools", "worker_gone"]
