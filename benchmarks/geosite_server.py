"""W1/W2 on geosite: start ``geosite serve``, publish the points, measure and profile it."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
from data_points import Dataset
from feature_config import MAX_RECORD_COUNT, PUBLISH_TIMEOUT_S, SERVICE_NAME, console
from feature_servers import (
    GeositeServer,
    Measured,
    ServerReport,
    Timing,
    Workload,
    _single_summary,
    measure,
    workloads,
)
from harness import ADMIN_USER, RESULTS_DIR, Service, free_port, running, serve_command
from loadgen import LoadGenerator
from memory import MemoryWatch, mib
from pg_cluster import Cluster, WithDatabase
from profiling import Stack, _both, _everything, _has, profile_processes

# -- profiling geosite ------------------------------------------------------------------------

#: Seconds to wait after a log level change: the other workers read it at their 15 s tick.
LEVEL_SETTLE_S = 16.0
#: Seconds of unmeasured load before the first round.
SETTLE_S = 20.0

PROFILED = ("w1_bbox", "w2_bbox_count")

#: Leaf frames of a thread that waits (py-spy samples them without ``--gil``). The event
#: loop waiting in epoll looks like its C callbacks (httptools, uvloop), so both are left out.
IDLE_LEAVES = (
    "Condition.wait (threading.py",
    "Event.wait (threading.py",
    "Runner.run (asyncio/runners.py",
    "run (uvloop/__init__.py",
    "LogWriter._run (geosite/core/logs.py",
    # The stdout log lines' writer waiting on its queue (SimpleQueue.get is C, so the
    # waiting thread's leaf is this Python frame).
    "QueueListener.dequeue (logging/handlers.py",
)


def _idle(stack: Stack) -> bool:
    return not stack or any(stack[-1].startswith(leaf) for leaf in IDLE_LEAVES)


#: Where a feature query's time goes, first match wins (py-spy without --gil, so the SQLite
#: work that runs with the GIL released is counted in the frame that called it).
QUERY_BUCKETS: list[tuple[str, Callable[[Stack], bool]]] = [
    ("log writer thread (batched SQLite INSERTs)", _has("(geosite/core/logs.py")),
    (
        "SQLite: rows and counts (GeoPackageSource.select/count)",
        _has("select (geosite/data/gpkg_source.py", "count (geosite/data/gpkg_source.py"),
    ),
    ("PostgreSQL: queries and rows (geosite/data/postgis_source.py)", _has("postgis_source.py")),
    ("GeoPackage blobs to shapely (geopackage.geometries)", _has("(geosite/data/geopackage.py")),
    ("Esri JSON geometries (esri_geometries/esri_geometry)", _has("esri_geometr")),
    ("attributes (attribute_rows/esri_attributes)", _has("attribute_rows", "esri_attributes (")),
    ("other query code (LayerQuery, parse_query, where)", _has("(geosite/engines/")),
    ("JSON encoding + Response (json_response)", _has("json_response (", "render.py")),
    ("service lookup (find_service, catalog)", _has("find_service (", "(geosite/storage/")),
    ("request log on the request path (log_request)", _has("log_request (")),
    ("ETag of a public answer (caching.tag)", _has("(geosite/http/caching.py")),
    ("thread-pool hop, event-loop side (to_thread.run_sync)", _has("run_sync (anyio/to_thread.py")),
    (
        "thread-pool hop, worker side (wake-up, result hand-back)",
        _both(_has("WorkerThread.run (anyio"), lambda s: not _has("(geosite/")(s)),
    ),
    ("geosite dispatch and routing", _has("(geosite/http/")),
    ("response write to the socket (uvicorn send)", _has("RequestResponseCycle.send (")),
    ("Starlette (app, middleware, routing, Request)", _has("starlette/")),
    ("uvicorn + httptools protocol", _has("uvicorn/")),
    ("other", _everything),
]


def _token(base: str, password: str) -> str:
    answer = httpx.post(
        f"{base}/arcgis/admin/generateToken",
        data={"username": ADMIN_USER, "password": password, "client": "requestip", "f": "json"},
        timeout=30,
    )
    token = answer.json().get("token")
    if not token:
        raise RuntimeError(f"generateToken failed: {answer.text[:300]}")
    return str(token)


def healthy(answer: httpx.Response) -> bool:
    """Whether ``rest/info/healthCheck?f=json`` says that geosite is up."""
    return answer.status_code == 200 and bool(answer.json().get("success"))


def publish_file(
    base: str,
    token: str,
    path: Path,
    content_type: str,
    service: dict[str, Any],
    timeout_s: float = PUBLISH_TIMEOUT_S,
) -> dict[str, float]:
    """Upload ``path`` (``uploads/upload``) and publish it as ``service`` (``createService``;
    its ``properties`` get the item's ``itemID`` first); the seconds each step took."""
    began = time.perf_counter()
    headers = {"X-Esri-Authorization": f"Bearer {token}"}
    with path.open("rb") as handle, httpx.Client(timeout=timeout_s) as client:
        answer = client.post(
            f"{base}/arcgis/admin/uploads/upload",
            data={"f": "json"},
            files={"itemFile": (path.name, handle, content_type)},
            headers=headers,
        )
        uploaded = time.perf_counter()
        item = answer.json().get("item")
        if not item:
            raise RuntimeError(f"upload failed: {answer.text[:500]}")
        properties = {"itemID": item["itemID"], **service.get("properties", {})}
        answer = client.post(
            f"{base}/arcgis/admin/services/createService",
            data={"f": "json", "service": json.dumps({**service, "properties": properties})},
            headers=headers,
        )
    done = time.perf_counter()
    if answer.json().get("status") != "success":
        raise RuntimeError(f"createService failed: {answer.text[:500]}")
    return {
        "upload_s": round(uploaded - began, 2),
        "create_service_s": round(done - uploaded, 2),
        "total_s": round(done - began, 2),
    }


def publish(base: str, token: str, data: Dataset) -> dict[str, float]:
    """Upload the GeoJSON and publish it as a FeatureServer; the seconds each step took."""
    service = {
        "serviceName": SERVICE_NAME,
        "type": "FeatureServer",
        "capabilities": "Query",
        "properties": {"maxRecordCount": MAX_RECORD_COUNT},
    }
    return publish_file(base, token, data.geojson, "application/geo+json", service)


class Alternation:
    """One workload measured at several log levels in turns on the same site (ABBA order, so
    that a steady drift of the machine weighs on every level alike): what logging costs."""

    def __init__(self, base: str, token: str, levels: list[str], rounds: int) -> None:
        self.base, self.token, self.levels, self.rounds = base, token, levels, rounds
        self.pairs: list[dict[str, float]] = []

    def set_level(self, level: str) -> None:
        answer = httpx.post(
            f"{self.base}/arcgis/admin/logs/settings/edit",
            data={"logLevel": level, "f": "json"},
            headers={"X-Esri-Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        if answer.json().get("status") != "success":
            raise RuntimeError(f"logs/settings/edit failed: {answer.text[:300]}")
        # the worker that took the edit applies it at once, the others at their next tick
        time.sleep(LEVEL_SETTLE_S)

    def measure(
        self,
        run: Callable[[Workload, Timing], Measured],
        workload: Workload,
        timing: Timing,
    ) -> list[Measured]:
        once = Timing(timing.warmup, timing.duration, 1)
        found = {
            level: Measured(
                "geosite",
                replace(
                    workload,
                    key=f"{workload.key}@{level}",
                    title=f"{workload.title}, logging {level}",
                ),
            )
            for level in self.levels
        }
        # The first load after publishing runs slow (caches filling): it is not measured.
        console.print(f"  settling: one unmeasured run of {SETTLE_S:g} s")
        run(replace(workload, key=f"{workload.key}@settle"), Timing(0, SETTLE_S, 1))
        for turn in range(self.rounds):
            rates = {}
            for level in self.levels if turn % 2 == 0 else self.levels[::-1]:
                console.print(f"  round {turn + 1}/{self.rounds}: log level {level}")
                self.set_level(level)
                measured = run(found[level].workload, once)
                found[level].runs.extend(measured.runs)
                found[level].others_share.extend(measured.others_share)
                found[level].peak_rss = max(found[level].peak_rss, measured.peak_rss)
                rates[level] = measured.runs[0].load.rps
            self.pairs.append(rates)
        first, *others = self.levels
        for other in others:
            ratios = [p[other] / p[first] for p in self.pairs if p[first] > 0]
            if ratios:
                console.print(
                    f"  {other} ÷ {first} per round: "
                    + ", ".join(f"{r:.3f}" for r in ratios)
                    + f"; median {statistics.median(ratios):.3f}"
                )
        return list(found.values())


@dataclass
class Site:
    """A started geosite with the points published and checked: what measuring it needs."""

    report: ServerReport
    server: GeositeServer
    service: Service
    watch: MemoryWatch
    base: str
    token: str
    health: str
    workers: int


@contextlib.contextmanager
def started_site(
    args: argparse.Namespace,
    data: Dataset,
    tmp: Path,
    *,
    cluster: Cluster | None = None,
) -> Iterator[Site]:
    """``geosite serve`` with the points published (into a GeoPackage, or into the
    cluster's database with ``--data-store``) and every answer checked; stopped after."""
    name, slug = ("geosite (PostGIS)", "geosite-postgis") if cluster else ("geosite", "geosite")
    report = ServerReport(name, version=metadata.version("geosite"))
    password = os.urandom(12).hex()
    port, https_port = free_port(), free_port()
    command = serve_command(
        tmp / f"{slug}-data",
        port,
        https_port,
        args.workers,
        password,
        getattr(args, "log_level", "WARNING"),
    )
    limit = max(1 << 30, data.geojson.stat().st_size * 2)
    env = {
        **os.environ,
        "GEOSITE_MACHINE_NAME": "BENCHMACHINE",
        "GEOSITE_MAX_UPLOAD_BYTES": str(limit),
    }
    base = f"http://127.0.0.1:{port}"
    health = f"{base}/arcgis/rest/info/healthCheck?f=json"
    log = tmp / f"{slug}.log"
    service: Service
    if cluster is None:
        service = Service(name, command, log, env)
    else:
        service = WithDatabase(name, [*command, "--data-store", cluster.url], log, env, cluster)
        report.setup["versions"] = cluster.versions()
        report.setup["configuration"] = cluster.configuration()
    server = GeositeServer(base)
    server.name = name
    memory = report.memory
    with (
        running(service, health, healthy),
        MemoryWatch(service) as watch,
    ):
        time.sleep(1.0)
        memory["idle_before_publish"] = watch.sample("idle")
        token = _token(base, password)
        console.print(
            f"  {name}: publishing {data.points:,} points "
            f"({mib(data.geojson.stat().st_size):,.0f} MiB GeoJSON) through uploads/upload + "
            "createService ..."
        )
        with watch.during("publish"):
            report.setup["publish"] = publish(base, token, data)
        memory["peak_publish"] = watch.peak("publish")
        console.print(
            f"  published in {report.setup['publish']['total_s']:.1f} s "
            f"(upload {report.setup['publish']['upload_s']:.1f} s, createService "
            f"{report.setup['publish']['create_service_s']:.1f} s)"
        )
        if cluster is not None:
            began = time.perf_counter()
            cluster.vacuum()
            report.setup["vacuum_s"] = round(time.perf_counter() - began, 2)
            console.print(f"  VACUUM (ANALYZE) of the database: {report.setup['vacuum_s']} s")
        report.problems = server.check(data, len(data.boxes))
        report.setup["single_request_s"] = _single_summary(server)
        for problem in report.problems:
            console.print(f"  [red]wrong answer[/]: {problem}")
        time.sleep(2.0)
        memory["before_load"] = watch.sample("before")
        yield Site(report, server, service, watch, base, token, health, args.workers)


def _after_load(site: Site) -> None:
    """Memory after the load (call 5 s after it ended)."""
    memory, watch = site.report.memory, site.watch
    memory["after_load"] = watch.sample("after")
    memory["during_load_peak"] = max((m.peak_rss for m in site.report.results), default=0)
    memory["after_load_per_process"] = watch.per_process()
    memory["timeline"] = [(round(t, 2), p, v) for t, p, v in watch.timeline]


def _chosen(args: argparse.Namespace) -> list[Workload]:
    keys = {k for k in getattr(args, "only", "").split(",") if k}
    return [w for w in workloads(args.concurrency, args.hits) if not keys or w.key in keys]


def _profile(site: Site, args: argparse.Namespace, generator: LoadGenerator, data: Dataset) -> None:
    for workload in _chosen(args):
        if workload.key not in PROFILED:
            continue
        spec = site.server.spec(workload, data)
        label = f"{site.report.name}, {workload.title}"
        console.print(f"  profiling {label} for {args.profile_seconds:g} s (py-spy)")
        profile = profile_processes(
            label,
            site.service.workers(),
            lambda seconds, s=spec, w=workload: generator.run(s, w.concurrency, seconds),
            args.profile_seconds,
            RESULTS_DIR,
            cpu_seconds=site.service.cpu_seconds,
            buckets_by=QUERY_BUCKETS,
            gil=False,
            idle=_idle,
        )
        if profile is not None:
            site.report.profiles.append(profile)


def run_geosite(
    args: argparse.Namespace, generator: LoadGenerator, data: Dataset, tmp: Path
) -> ServerReport:
    timing = Timing(args.warmup, args.duration, args.repeat)
    with started_site(args, data, tmp) as site:
        levels = [v.strip().upper() for v in getattr(args, "alternate_log_levels", "").split(",")]
        levels = [v for v in levels if v]
        for workload in _chosen(args):
            if levels:

                def once(w: Workload, t: Timing) -> Measured:
                    return measure(
                        site.server,
                        site.service,
                        site.watch,
                        w,
                        data,
                        generator,
                        t,
                        site.health,
                        args.workers,
                    )

                alternate = Alternation(site.base, site.token, levels, args.repeat)
                site.report.results.extend(alternate.measure(once, workload, timing))
                site.report.setup.setdefault("log_level_pairs", {})[workload.key] = alternate.pairs
                continue
            site.report.results.append(
                measure(
                    site.server,
                    site.service,
                    site.watch,
                    workload,
                    data,
                    generator,
                    timing,
                    site.health,
                    args.workers,
                )
            )
        time.sleep(5.0)
        _after_load(site)
        if args.profile:
            _profile(site, args, generator, data)
    site.report.status = "measured"
    return site.report


def run_geosite_pair(
    args: argparse.Namespace,
    generator: LoadGenerator,
    data: Dataset,
    tmp: Path,
    cluster: Cluster,
) -> list[ServerReport]:
    """geosite on GeoPackage and geosite on PostGIS, both running, measured in turns: each
    workload warms both up, then ``--repeat`` rounds of one run each in ABBA order, so that
    the machine's drift (and other users of it) weighs on both alike. The ratio of round
    ``i`` compares runs made within a minute of each other."""
    with (
        started_site(args, data, tmp) as gpkg,
        started_site(args, data, tmp, cluster=cluster) as postgis,
    ):
        sites = [gpkg, postgis]
        for workload in _chosen(args):
            found = [Measured(site.report.name, workload) for site in sites]
            for site, measured in zip(sites, found, strict=True):
                warm = Timing(args.warmup, args.duration, 0)
                if args.warmup > 0:
                    measured.warmup = _measure_on(site, workload, data, generator, warm).warmup
            for turn in range(args.repeat):
                for index in (0, 1) if turn % 2 == 0 else (1, 0):
                    once = Timing(0, args.duration, 1)
                    one = _measure_on(sites[index], workload, data, generator, once)
                    found[index].runs.extend(one.runs)
                    found[index].others_share.extend(one.others_share)
                    found[index].peak_rss = max(found[index].peak_rss, one.peak_rss)
            for site, measured in zip(sites, found, strict=True):
                site.report.results.append(measured)
        time.sleep(5.0)
        for site in sites:
            _after_load(site)
            if args.profile:
                _profile(site, args, generator, data)
    for site in sites:
        site.report.status = "measured"
    return [site.report for site in sites]


def _measure_on(
    site: Site, workload: Workload, data: Dataset, generator: LoadGenerator, timing: Timing
) -> Measured:
    return measure(
        site.server,
        site.service,
        site.watch,
        workload,
        data,
        generator,
        timing,
        site.health,
        site.workers,
    )
