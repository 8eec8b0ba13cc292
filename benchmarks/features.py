"""Workloads W1 and W2 of the performance spec (section 5): FeatureServer queries, with peers.

Generates a deterministic layer of points (``numpy.random.default_rng(42)``), publishes it
into a real ``geosite serve`` through ``uploads/upload`` and ``createService`` (timed),
checks the answers against the data, measures bbox queries (W1) and counts (W2) with wrk
(or the bounded Python load generator) while sampling the resident memory of the server's
process group, then measures two peers on the same points in the same run: Koop with its
GeoJSON file provider (the same FeatureServer requests) and pygeoapi with its OGR provider
over a GeoPackage (the OGC API Features equivalents). The peers are installed by this runner
into ``benchmarks/.peers/``. Prints a table against the targets and writes the figures to
``benchmarks/results/``.

Usage: .venv/bin/python benchmarks/features.py [--points N] [--quick] [--peers koop,pygeoapi]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import numpy as np
from loadgen import LoadGenerator, LoadSpec
from profiling import ProfileReport, Stack, _both, _everything, _has, profile_processes
from rich.console import Console
from rich.table import Table
from run import (
    Run,
    Service,
    _geosite_command,
    _git_revision,
    _pick_generator,
    free_port,
    running,
    timed_run,
)

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
PEERS_DIR = BENCH_DIR / ".peers"

ADMIN_USER = "bench"
SERVICE_NAME = "Points"
MAX_RECORD_COUNT = 2000
SEED = 42
BOX_SEED = 7  # where the query boxes go (the points themselves come from SEED)
EDGE_CLEARANCE = 1e-4  # degrees between a box's edges and the nearest point (float32: 1.5e-5)

# Peers, pinned. Koop and its GeoJSON file provider as in the spec's section 4/7; pygeoapi
# 0.21.0 is the newest release pip offers for Debian 12's Python 3.11 (section 4 lists 0.24.0).
KOOP_PACKAGES = {"@koopjs/koop-core": "10.4.19", "@koopjs/provider-file-geojson": "2.2.0"}
PYGEOAPI_PACKAGES = {"pygeoapi": "0.21.0", "gunicorn": "23.0.0"}
SYSTEM_PYTHON = "/usr/bin/python3"

INSTALL_TIMEOUT_S = 900.0
PUBLISH_TIMEOUT_S = 3600.0
VERIFY_TIMEOUT_S = 180.0
DRAIN_TIMEOUT_S = 180.0
PEER_REQUEST_TIMEOUT_S = 60.0
MEMORY_TARGET_MIB = 500.0
MEMORY_FLAT_MIB = 50.0  # "flat": after the load, at most this much above before it
RSS_INTERVAL_S = 0.25

console = Console(highlight=False, width=max(160, shutil.get_terminal_size().columns))


# -- the data ---------------------------------------------------------------------------------


@dataclass
class Dataset:
    """The points, the query boxes and the files the servers read."""

    lon: np.ndarray
    lat: np.ndarray
    value: np.ndarray
    boxes: list[tuple[float, float, float, float]]
    box_counts: list[int]
    geojson: Path
    gpkg: Path
    timings: dict[str, float] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)

    @property
    def points(self) -> int:
        return len(self.lon)

    def as_dict(self) -> dict[str, Any]:
        return {
            "points": self.points,
            "seed": SEED,
            "box_seed": BOX_SEED,
            "boxes": [list(b) for b in self.boxes],
            "box_counts": self.box_counts,
            "file_bytes": self.sizes,
            "timings_s": {k: round(v, 2) for k, v in self.timings.items()},
        }


def generate_points(count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Longitudes, latitudes and values (6, 6 and 3 decimals, so every store holds the same)."""
    rng = np.random.default_rng(SEED)
    lon = np.round(rng.uniform(-180.0, 180.0, count), 6)
    lat = np.round(rng.uniform(-85.0, 85.0, count), 6)
    value = np.round(rng.uniform(0.0, 1000.0, count), 3)
    return lon, lat, value


def _name(object_id: int) -> str:
    return f"pt-{object_id:07d}"


def make_boxes(
    lon: np.ndarray, lat: np.ndarray, count: int, hits: int
) -> tuple[list[tuple[float, float, float, float]], list[int]]:
    """``count`` fixed square boxes, each holding between 97 % and 100 % of ``hits`` points.

    No point lies within ``EDGE_CLEARANCE`` degrees of an edge, so every server finds the same
    points whether its edges are inclusive or exclusive, exact or (like a float32 R*Tree
    without a recheck) a few metres loose. Edges are also off the data's 6-decimal grid.
    """
    order = np.argsort(lon, kind="stable")
    lon_sorted, lat_sorted = lon[order], lat[order]

    def inside(box: tuple[float, float, float, float]) -> int:
        lo, hi = np.searchsorted(lon_sorted, [box[0], box[2]])
        strip = lat_sorted[lo:hi]
        return int(np.count_nonzero((strip >= box[1]) & (strip <= box[3])))

    def edges(cx: float, cy: float, half: float) -> tuple[float, float, float, float]:
        return tuple(  # type: ignore[return-value]
            round(v, 6) + 5e-7 for v in (cx - half, cy - half, cx + half, cy + half)
        )

    def clear(box: tuple[float, float, float, float]) -> bool:
        e = EDGE_CLEARANCE
        grown = inside((box[0] - e, box[1] - e, box[2] + e, box[3] + e))
        return grown == inside((box[0] + e, box[1] + e, box[2] - e, box[3] - e))

    density = len(lon) / (360.0 * 170.0)  # points per square degree
    start = math.sqrt(hits / density) / 2
    rng = np.random.default_rng(BOX_SEED)
    boxes, counts = [], []
    low = math.floor(hits * 0.97)
    while len(boxes) < count:
        margin = start * 1.5
        cx = float(rng.uniform(-180 + margin, 180 - margin))
        cy = float(rng.uniform(-85 + margin, 85 - margin))
        lo_half, hi_half = start * 0.5, start * 1.5
        for _ in range(60):  # bisect the half-side until the box holds low..hits points
            half = (lo_half + hi_half) / 2
            found = inside(edges(cx, cy, half))
            if low <= found <= hits:
                if clear(edges(cx, cy, half)):  # else try another place
                    boxes.append(edges(cx, cy, half))
                    counts.append(found)
                break
            if found > hits:
                hi_half = half
            else:
                lo_half = half
    return boxes, counts


def write_geojson(path: Path, lon: np.ndarray, lat: np.ndarray, value: np.ndarray) -> None:
    """A FeatureCollection with ``id``, ``name`` and ``value`` properties."""
    with path.open("w", encoding="utf-8") as out:
        out.write('{"type":"FeatureCollection","features":[\n')
        chunk: list[str] = []
        for i, (x, y, v) in enumerate(zip(lon.tolist(), lat.tolist(), value.tolist(), strict=True)):
            object_id = i + 1
            chunk.append(
                f'{{"type":"Feature","properties":{{"id":{object_id},"name":"{_name(object_id)}",'
                f'"value":{v!r}}},"geometry":{{"type":"Point","coordinates":[{x!r},{y!r}]}}}}'
            )
            if len(chunk) == 50_000:
                out.write(",\n".join(chunk) + (",\n" if object_id < len(lon) else ""))
                chunk = []
        if chunk:
            out.write(",\n".join(chunk))
        out.write("\n]}\n")


def write_gpkg(path: Path, lon: np.ndarray, lat: np.ndarray, value: np.ndarray) -> None:
    """A GeoPackage 1.2 (readable by Debian's GDAL 3.6 without warnings), with an R*Tree."""
    import pyarrow as pa
    import pyogrio
    import shapely

    count = len(lon)
    table = pa.table(
        {
            "id": pa.array(np.arange(1, count + 1, dtype=np.int32)),
            "name": pa.array([_name(i) for i in range(1, count + 1)]),
            "value": pa.array(value),
            "geometry": pa.array(shapely.to_wkb(shapely.points(lon, lat)), type=pa.binary()),
        }
    )
    pyogrio.write_arrow(
        table,
        path,
        layer="points",
        driver="GPKG",
        geometry_name="geometry",
        geometry_type="Point",
        crs="EPSG:4326",
        dataset_options={"VERSION": "1.2"},
        layer_options={"SPATIAL_INDEX": "YES"},
    )


def make_dataset(args: argparse.Namespace, tmp: Path) -> Dataset:
    timings: dict[str, float] = {}
    began = time.perf_counter()
    lon, lat, value = generate_points(args.points)
    boxes, counts = make_boxes(lon, lat, args.boxes, args.hits)
    timings["generate"] = time.perf_counter() - began
    geojson, gpkg = tmp / "points.geojson", tmp / "points.gpkg"
    began = time.perf_counter()
    write_geojson(geojson, lon, lat, value)
    timings["write_geojson"] = time.perf_counter() - began
    began = time.perf_counter()
    write_gpkg(gpkg, lon, lat, value)
    timings["write_gpkg"] = time.perf_counter() - began
    sizes = {"geojson": geojson.stat().st_size, "gpkg": gpkg.stat().st_size}
    data = Dataset(lon, lat, value, boxes, counts, geojson, gpkg, timings, sizes)
    console.print(
        f"Data: {data.points:,} points (seed {SEED}); {len(boxes)} boxes of "
        f"{min(counts)}-{max(counts)} points (seed {BOX_SEED}); GeoJSON "
        f"{geojson.stat().st_size / 2**20:,.0f} MiB in {timings['write_geojson']:.1f} s, "
        f"GeoPackage {gpkg.stat().st_size / 2**20:,.0f} MiB in {timings['write_gpkg']:.1f} s"
    )
    return data


def bbox_text(box: tuple[float, float, float, float]) -> str:
    return ",".join(f"{v:.7f}" for v in box)


# -- resident memory --------------------------------------------------------------------------

_PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat_fields(pid: int | str) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def group_pids(service: Service) -> list[int]:
    """The server's process group (it runs in its own session) and any other descendant."""
    if service.process is None:
        return []
    pgid = service.process.pid
    found = set(service.pids())
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                if int(_stat_fields(entry.name)[2]) == pgid:
                    found.add(int(entry.name))
    return sorted(found)


def rss_bytes(pids: list[int]) -> int:
    """Sum of the resident set sizes of ``pids``."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
    return total


class MemoryWatch:
    """Samples the RSS of a server's process group in a thread; remembers the timeline."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.timeline: list[tuple[float, str, int]] = []  # (seconds, phase, bytes)
        self.phase = "idle"
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pids: list[int] = []
        self._pids_at = 0.0

    def sample(self, phase: str | None = None) -> int:
        now = time.monotonic()
        if now - self._pids_at > 2.0:  # rescanning /proc costs more than reading statm
            self._pids, self._pids_at = group_pids(self.service), now
        value = rss_bytes(self._pids)
        self.timeline.append((now - self._started, phase or self.phase, value))
        return value

    def _loop(self) -> None:
        while not self._stop.wait(RSS_INTERVAL_S):
            self.sample()

    def __enter__(self) -> MemoryWatch:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @contextlib.contextmanager
    def during(self, phase: str) -> Iterator[None]:
        previous, self.phase = self.phase, phase
        try:
            yield
        finally:
            self.phase = previous

    def peak(self, phase: str | None = None) -> int:
        values = [v for _, p, v in self.timeline if phase is None or p == phase]
        return max(values, default=0)

    def per_process(self) -> dict[str, int]:
        out = {}
        for pid in group_pids(self.service):
            rss = rss_bytes([pid])
            if rss:
                out[f"{pid} {_short_cmdline(pid)}"] = rss
        return out


def _short_cmdline(pid: int) -> str:
    try:
        parts = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    text = " ".join(p.decode(errors="replace") for p in parts if p)
    return text if len(text) <= 90 else text[:87] + "..."


def mib(value: float) -> float:
    return value / 2**20


# -- workloads --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """One line of the comparison: the same question asked of every server."""

    key: str
    title: str
    kind: str  # "bbox" (features in a box), "count" (all rows), "bbox_count"
    concurrency: int
    target_rps: float | None = None
    target_p50_ms: float | None = None


def workloads(concurrency: int, hits: int = 1000) -> list[Workload]:
    """The rows of the report; the targets are the spec's for pages of about 1,000 features."""
    c, n = concurrency, f"~{hits:,}"
    return [
        Workload("w1_bbox", f"W1 bbox query, {n} features, c={c}", "bbox", c, target_rps=500),
        Workload("w1_bbox_c1", f"W1 bbox query, {n} features, c=1", "bbox", 1, target_p50_ms=5),
        Workload("w2_count", f"W2 count where=1=1, c={c}", "count", c, target_rps=2000),
        Workload("w2_bbox_count", f"W2 bbox count ({n}), c={c}", "bbox_count", c, target_p50_ms=15),
        Workload("w2_bbox_count_c1", f"W2 bbox count ({n}), c=1", "bbox_count", 1),
    ]


@dataclass
class Measured:
    """One server on one workload: warm-up, measured runs and the memory peak."""

    server: str
    workload: Workload
    runs: list[Run] = field(default_factory=list)
    warmup: Run | None = None
    peak_rss: int = 0
    others_share: list[float] = field(default_factory=list)  # per run: CPU of other processes

    @property
    def median(self) -> Run:
        ordered = sorted(self.runs, key=lambda r: r.load.rps)
        return ordered[len(ordered) // 2]

    @property
    def errors(self) -> int:
        return sum(r.load.errors for r in self.runs)

    @property
    def completed(self) -> int:
        return self.median.load.requests - self.median.load.socket_errors

    def as_dict(self) -> dict[str, Any]:
        median = self.median
        return {
            "server": self.server,
            "workload": self.workload.key,
            "title": self.workload.title,
            "concurrency": self.workload.concurrency,
            "target_rps": self.workload.target_rps,
            "target_p50_ms": self.workload.target_p50_ms,
            "rate_median": round(median.load.rps, 2),
            "rate_all": [round(r.load.rps, 2) for r in self.runs],
            "median": median.as_dict(),
            "errors_total": self.errors,
            "peak_rss_bytes": self.peak_rss,
            "other_processes_cpu_share": [round(x, 3) for x in self.others_share],
            "runs": [r.as_dict() for r in self.runs],
            "warmup": self.warmup.as_dict() if self.warmup else None,
        }


@dataclass
class Timing:
    """How long a measured load takes: warm-up, runs and their length."""

    warmup: float
    duration: float
    repeat: int


Box = tuple[float, float, float, float]


class Server:
    """A server under test: how to ask it each workload's question, and how to check it."""

    name = ""
    expect = {"bbox": "", "count": "", "bbox_count": ""}  # marker of a good body, per kind
    request_timeout_s = PEER_REQUEST_TIMEOUT_S

    def __init__(self, base: str) -> None:
        self.base = base
        self.single: list[tuple[str, float]] = []  # (kind, seconds) of the checking requests

    def query(self, kind: str, box: Box | None) -> str:
        """The path and query string asking ``kind`` ("bbox", "count", "bbox_count")."""
        raise NotImplementedError

    def ids(self, answer: dict[str, Any]) -> list[int]:
        """The ``id`` attribute of every feature of a bbox answer."""
        raise NotImplementedError

    def counted(self, answer: dict[str, Any]) -> Any:
        """The number a count answer gives."""
        raise NotImplementedError

    def spec(self, workload: Workload, data: Dataset) -> LoadSpec:
        """The load: one URL for the total count, else the data's boxes in turn."""
        expect = self.expect[workload.kind]
        if workload.kind == "count":
            url = self.base + self.query("count", None)
            return LoadSpec(url=url, expect=expect, timeout_s=self.request_timeout_s)
        targets = tuple(self.query(workload.kind, box) for box in data.boxes)
        return LoadSpec(
            url=self.base + targets[0],
            targets=targets,
            expect=expect,
            timeout_s=self.request_timeout_s,
        )

    def _get(self, client: httpx.Client, kind: str, box: Box | None) -> dict[str, Any]:
        answer = client.get(self.query(kind, box))
        self.single.append((kind, answer.elapsed.total_seconds()))
        answer.raise_for_status()
        return dict(answer.json())

    def check(self, data: Dataset, boxes: int) -> list[str]:
        """Problems with the answers (an empty list when every answer is right): the total,
        and for each of the first ``boxes`` boxes the ids of its features and its count."""
        problems = []
        with httpx.Client(base_url=self.base, timeout=VERIFY_TIMEOUT_S) as client:
            total = self.counted(self._get(client, "count", None))
            if total != data.points:
                problems.append(f"total count {total}, expected {data.points}")
            for index, (box, expected) in enumerate(
                zip(data.boxes[:boxes], data.box_counts, strict=False)
            ):
                answer = self._get(client, "bbox", box)
                ids, wanted = sorted(self.ids(answer)), _ids_in(data, box)
                if ids != wanted:
                    extra, missing = len(set(ids) - set(wanted)), len(set(wanted) - set(ids))
                    problems.append(
                        f"box {index}: {len(ids)} features, expected {expected} "
                        f"({extra} not in the box, {missing} missing)"
                    )
                if answer.get("exceededTransferLimit", False) is not False:
                    problems.append(f"box {index}: exceededTransferLimit is not false")
                counted = self.counted(self._get(client, "bbox_count", box))
                if counted != expected:
                    problems.append(f"box {index}: count {counted}, expected {expected}")
        return problems


def _ids_in(data: Dataset, box: Box) -> list[int]:
    mask = (data.lon >= box[0]) & (data.lon <= box[2]) & (data.lat >= box[1]) & (data.lat <= box[3])
    return (np.flatnonzero(mask) + 1).tolist()


class GeositeServer(Server):
    """FeatureServer ``query`` on the published service."""

    name = "geosite"
    expect = {
        "bbox": '"exceededTransferLimit":false',
        "count": '"count":',
        "bbox_count": '"count":',
    }
    request_timeout_s = 10.0
    path = f"/arcgis/rest/services/{SERVICE_NAME}/FeatureServer/0/query"

    @staticmethod
    def bbox_params(box: Box) -> dict[str, str]:
        return {
            "geometry": bbox_text(box),
            "geometryType": "esriGeometryEnvelope",
            "inSR": "4326",
            "spatialRel": "esriSpatialRelIntersects",
        }

    def query(self, kind: str, box: Box | None) -> str:
        if kind == "count":
            params = {"where": "1=1", "returnCountOnly": "true", "f": "json"}
        elif kind == "bbox":
            assert box is not None
            params = {
                **self.bbox_params(box),
                "outFields": "*",
                "returnGeometry": "true",
                "f": "json",
            }
        else:
            assert box is not None
            params = {**self.bbox_params(box), "returnCountOnly": "true", "f": "json"}
        return self.path + "?" + urlencode(params, safe=",*")

    def ids(self, answer: dict[str, Any]) -> list[int]:
        return [int(f["attributes"]["id"]) for f in answer.get("features", [])]

    def counted(self, answer: dict[str, Any]) -> Any:
        return answer.get("count")


class KoopServer(GeositeServer):
    """The same FeatureServer requests, against Koop's file-geojson provider."""

    name = "Koop"
    expect = {"bbox": '"features":[{', "count": '"count":', "bbox_count": '"count":'}
    request_timeout_s = PEER_REQUEST_TIMEOUT_S
    path = "/file-geojson/rest/services/points/FeatureServer/0/query"


class PygeoapiServer(Server):
    """OGC API Features items and hits over the same points (GeoPackage, OGR provider)."""

    name = "pygeoapi"
    expect = {
        "bbox": '"features":[{"type":"Feature"',
        "count": '"numberMatched"',
        "bbox_count": '"numberMatched"',
    }

    def query(self, kind: str, box: Box | None) -> str:
        params = {"f": "json"}
        if box is not None:
            params["bbox"] = bbox_text(box)
        if kind == "bbox":
            params["limit"] = "1000"
        else:
            params["resulttype"] = "hits"
        return "/collections/points/items?" + urlencode(params, safe=",")

    def ids(self, answer: dict[str, Any]) -> list[int]:
        # with id_field set, the id is the feature's id, not one of its properties
        return [int(f.get("id", f["properties"].get("id"))) for f in answer.get("features", [])]

    def counted(self, answer: dict[str, Any]) -> Any:
        return answer.get("numberMatched")


CPUS = os.cpu_count() or 1


def _machine_busy_s() -> float:
    """CPU seconds the whole machine has been busy (``/proc/stat``: all but idle and iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def drain(ready_url: str, workers: int, limit_s: float = DRAIN_TIMEOUT_S) -> float:
    """Wait (bounded) until the server answers a cheap request quickly, ``2 * workers`` times
    in a row on fresh connections (so that every worker is asked): a slow peer may still be
    working through requests the load generator gave up on. Returns the seconds waited."""
    began = time.monotonic()
    fast = 0
    while fast < 2 * workers and time.monotonic() - began < limit_s:
        asked = time.monotonic()
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(ready_url, timeout=max(1.0, limit_s - (asked - began)))
        fast = fast + 1 if time.monotonic() - asked < 0.5 else 0
    return time.monotonic() - began


def measure(
    server: Server,
    service: Service,
    memory: MemoryWatch,
    workload: Workload,
    data: Dataset,
    generator: LoadGenerator,
    timing: Timing,
    ready_url: str,
    workers: int,
) -> Measured:
    spec = server.spec(workload, data)
    result = Measured(server.name, workload)
    console.print(
        f"  {server.name}: {workload.title}: warm-up {timing.warmup:g} s, "
        f"{timing.repeat} x {timing.duration:g} s"
    )
    with memory.during(workload.key):
        if timing.warmup > 0:
            result.warmup = timed_run(generator, spec, workload.concurrency, timing.warmup, service)
            drain(ready_url, workers)
        for _ in range(timing.repeat):
            busy_before = _machine_busy_s()
            run = timed_run(generator, spec, workload.concurrency, timing.duration, service)
            busy = _machine_busy_s() - busy_before
            result.runs.append(run)
            # what the rest of the machine (other users) used meanwhile, as a share of it
            others = busy - (run.server_cpu_s or 0.0) - run.loadgen_cpu_s
            result.others_share.append(max(0.0, others) / (run.load.seconds * CPUS))
            waited = drain(ready_url, workers)
            console.print(
                f"    {run.load.rps:,.2f} req/s, p50 {run.load.p50_ms:.2f} ms, "
                f"p99 {run.load.p99_ms:.2f} ms, errors {run.load.errors}; other processes "
                f"used {result.others_share[-1]:.0%} of the machine"
                + (f" (drained for {waited:.1f} s)" if waited > 1 else "")
            )
    result.peak_rss = memory.peak(workload.key)
    return result


# -- profiling geosite ------------------------------------------------------------------------

PROFILED = ("w1_bbox", "w2_bbox_count")

#: Leaf frames of a thread that waits (py-spy samples them without ``--gil``). The event
#: loop waiting in epoll looks like its C callbacks (httptools, uvloop), so both are left out.
IDLE_LEAVES = (
    "Condition.wait (threading.py",
    "Event.wait (threading.py",
    "Runner.run (asyncio/runners.py",
    "run (uvloop/__init__.py",
    "LogWriter._run (geosite/core/logs.py",
)


def _idle(stack: Stack) -> bool:
    return not stack or any(stack[-1].startswith(leaf) for leaf in IDLE_LEAVES)


#: Where a feature query's time goes, first match wins (py-spy without --gil, so the SQLite
#: work that runs with the GIL released is counted in the frame that called it).
QUERY_BUCKETS: list[tuple[str, Callable[[Stack], bool]]] = [
    ("log writer thread (batched SQLite INSERTs)", _has("(geosite/core/logs.py")),
    (
        "SQLite: rows and counts (geopackage.select/count)",
        _has("select (geosite/data/geopackage.py", "count (geosite/data/geopackage.py"),
    ),
    ("GeoPackage blobs to shapely (geopackage.geometries)", _has("(geosite/data/geopackage.py")),
    ("Esri JSON geometries (esri_geometries/esri_geometry)", _has("esri_geometr")),
    ("attributes (attribute_rows/esri_attributes)", _has("attribute_rows", "esri_attributes (")),
    ("other query code (LayerQuery, parse_query, where)", _has("(geosite/engines/")),
    ("JSON encoding + Response (json_response)", _has("json_response (", "render.py")),
    ("service lookup (find_service, catalog)", _has("find_service (", "(geosite/storage/")),
    ("request log on the request path (_log_request)", _has("_log_request (")),
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


# -- geosite ----------------------------------------------------------------------------------


@dataclass
class ServerReport:
    """Everything measured on one server, or why it was not measured."""

    name: str
    version: str = ""
    status: str = "missing"  # "measured", "missing"
    reason: str = ""
    setup: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    results: list[Measured] = field(default_factory=list)
    memory: dict[str, Any] = field(default_factory=dict)
    profiles: list[ProfileReport] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "status": self.status,
            "reason": self.reason,
            "setup": self.setup,
            "wrong_answers": self.problems,
            "results": {m.workload.key: m.as_dict() for m in self.results},
            "memory": self.memory,
            "profiles": [p.as_dict() for p in self.profiles],
        }


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


def publish(base: str, token: str, data: Dataset) -> dict[str, float]:
    """Upload the GeoJSON and publish it as a FeatureServer; the seconds each step took."""
    began = time.perf_counter()
    with data.geojson.open("rb") as handle, httpx.Client(timeout=PUBLISH_TIMEOUT_S) as client:
        answer = client.post(
            f"{base}/arcgis/admin/uploads/upload",
            data={"f": "json"},
            files={"itemFile": (data.geojson.name, handle, "application/geo+json")},
            headers={"X-Esri-Authorization": f"Bearer {token}"},
        )
        uploaded = time.perf_counter()
        item = answer.json().get("item")
        if not item:
            raise RuntimeError(f"upload failed: {answer.text[:500]}")
        service = {
            "serviceName": SERVICE_NAME,
            "type": "FeatureServer",
            "capabilities": "Query",
            "properties": {"itemID": item["itemID"], "maxRecordCount": MAX_RECORD_COUNT},
        }
        answer = client.post(
            f"{base}/arcgis/admin/services/createService",
            data={"f": "json", "service": json.dumps(service)},
            headers={"X-Esri-Authorization": f"Bearer {token}"},
        )
    done = time.perf_counter()
    if answer.json().get("status") != "success":
        raise RuntimeError(f"createService failed: {answer.text[:500]}")
    return {
        "upload_s": round(uploaded - began, 2),
        "create_service_s": round(done - uploaded, 2),
        "total_s": round(done - began, 2),
    }


def run_geosite(
    args: argparse.Namespace, generator: LoadGenerator, data: Dataset, tmp: Path
) -> ServerReport:
    report = ServerReport("geosite", version=metadata.version("geosite"))
    password = os.urandom(12).hex()
    port, https_port = free_port(), free_port()
    command = [
        _geosite_command(),
        "serve",
        "--data-dir",
        str(tmp / "geosite-data"),
        "--port",
        str(port),
        "--https-port",
        str(https_port),
        "--workers",
        str(args.workers),
        "--admin-user",
        ADMIN_USER,
        "--admin-password",
        password,
    ]
    limit = max(1 << 30, data.geojson.stat().st_size * 2)
    env = {
        **os.environ,
        "GEOSITE_MACHINE_NAME": "BENCHMACHINE",
        "GEOSITE_MAX_UPLOAD_BYTES": str(limit),
    }
    base = f"http://127.0.0.1:{port}"
    health = f"{base}/arcgis/rest/info/healthCheck?f=json"
    service = Service("geosite", command, tmp / "geosite.log", env)
    server = GeositeServer(base)
    timing = Timing(args.warmup, args.duration, args.repeat)
    memory = report.memory
    with (
        running(service, health, lambda r: r.status_code == 200 and r.json().get("success")),
        MemoryWatch(service) as watch,
    ):
        time.sleep(1.0)
        memory["idle_before_publish"] = watch.sample("idle")
        token = _token(base, password)
        console.print(
            f"  publishing {data.points:,} points ({mib(data.geojson.stat().st_size):,.0f} MiB "
            "GeoJSON) through uploads/upload + createService ..."
        )
        with watch.during("publish"):
            report.setup["publish"] = publish(base, token, data)
        memory["peak_publish"] = watch.peak("publish")
        console.print(
            f"  published in {report.setup['publish']['total_s']:.1f} s "
            f"(upload {report.setup['publish']['upload_s']:.1f} s, createService "
            f"{report.setup['publish']['create_service_s']:.1f} s)"
        )
        report.problems = server.check(data, len(data.boxes))
        report.setup["single_request_s"] = _single_summary(server)
        for problem in report.problems:
            console.print(f"  [red]wrong answer[/]: {problem}")
        time.sleep(2.0)
        memory["before_load"] = watch.sample("before")
        for workload in workloads(args.concurrency, args.hits):
            report.results.append(
                measure(
                    server, service, watch, workload, data, generator, timing, health, args.workers
                )
            )
        time.sleep(5.0)
        memory["after_load"] = watch.sample("after")
        memory["during_load_peak"] = max(m.peak_rss for m in report.results)
        memory["after_load_per_process"] = watch.per_process()
        memory["timeline"] = [(round(t, 2), p, v) for t, p, v in watch.timeline]
        if args.profile:
            for workload in workloads(args.concurrency, args.hits):
                if workload.key not in PROFILED:
                    continue
                spec = server.spec(workload, data)
                label = f"geosite, {workload.title}"
                console.print(f"  profiling {label} for {args.profile_seconds:g} s (py-spy)")
                profile = profile_processes(
                    label,
                    service.workers(),
                    lambda seconds, s=spec, w=workload: generator.run(s, w.concurrency, seconds),
                    args.profile_seconds,
                    RESULTS_DIR,
                    cpu_seconds=service.cpu_seconds,
                    buckets_by=QUERY_BUCKETS,
                    gil=False,
                    idle=_idle,
                )
                if profile is not None:
                    report.profiles.append(profile)
    report.status = "measured"
    return report


# -- peers ------------------------------------------------------------------------------------


def _run_logged(command: list[str], log: Path, timeout: float, **kwargs: Any) -> None:
    """Run an install step, appending its output to ``log``; raise with the tail on failure."""
    with log.open("ab") as out:
        out.write(("\n$ " + " ".join(command) + "\n").encode())
        out.flush()
        try:
            done = subprocess.run(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
                **kwargs,
            )
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"{command[0]} took more than {timeout:.0f} s") from exc
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-800:]
        raise RuntimeError(f"`{' '.join(command[:4])} ...` failed ({done.returncode}): {tail}")


KOOP_SERVER_JS = """\
'use strict';
// Written by benchmarks/features.py: Koop with the GeoJSON file provider, one process per
// worker (node:cluster), listening on loopback only.
const cluster = require('node:cluster');
const path = require('node:path');
const port = Number(process.env.KOOP_PORT);
const workers = Number(process.env.KOOP_WORKERS || '1');
if (cluster.isPrimary && workers > 1) {
  for (let i = 0; i < workers; i += 1) cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    console.error(`koop worker ${worker.process.pid} exited (${signal || code})`);
  });
} else {
  const Koop = require('@koopjs/koop-core');
  const provider = require('@koopjs/provider-file-geojson');
  const koop = new Koop({ logLevel: 'error' });
  // The provider joins dataDir to the working directory, so it must be relative.
  koop.register(provider, { dataDir: path.relative(process.cwd(), process.env.KOOP_DATA_DIR) });
  koop.server.listen(port, '127.0.0.1', () => {
    console.log(`koop ${koop.version} listening on 127.0.0.1:${port} (pid ${process.pid})`);
  });
}
"""


def _node_package_version(root: Path, name: str) -> str | None:
    path = root / "node_modules" / name / "package.json"
    with contextlib.suppress(OSError, ValueError):
        return str(json.loads(path.read_text())["version"])
    return None


def install_koop(log: Path) -> tuple[Path, dict[str, str]]:
    """npm install of the pinned Koop packages into benchmarks/.peers/koop (once)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        raise RuntimeError("node/npm not found on PATH (Debian: apt-get install nodejs npm)")
    home = PEERS_DIR / "koop"
    home.mkdir(parents=True, exist_ok=True)
    installed = {n: _node_package_version(home, n) for n in KOOP_PACKAGES}
    if installed != KOOP_PACKAGES:
        package = {
            "name": "geosite-bench-koop-peer",
            "private": True,
            "description": "Written by benchmarks/features.py",
            "dependencies": KOOP_PACKAGES,
        }
        (home / "package.json").write_text(json.dumps(package, indent=2) + "\n")
        console.print(f"  installing {', '.join(f'{n}@{v}' for n, v in KOOP_PACKAGES.items())}")
        _run_logged(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
            log,
            INSTALL_TIMEOUT_S,
            cwd=home,
        )
    (home / "server.js").write_text(KOOP_SERVER_JS)
    node_version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout.strip()
    versions = {"node": node_version}
    for name in (*KOOP_PACKAGES, "@koopjs/output-geoservices", "@koopjs/winnow", "express"):
        versions[name] = _node_package_version(home, name) or "?"
    return home, versions


def run_koop(
    args: argparse.Namespace, generator: LoadGenerator, data: Dataset, tmp: Path
) -> ServerReport:
    report = ServerReport("Koop")
    log = tmp / "koop-install.log"
    try:
        home, versions = install_koop(log)
    except (RuntimeError, OSError) as exc:
        report.reason = f"not installed: {exc}"
        return report
    report.version = f"koop-core {versions['@koopjs/koop-core']}"
    report.setup["versions"] = versions
    report.setup["configuration"] = (
        f"node:cluster with {args.workers} processes, default settings (no cache: the provider "
        "reads and parses the GeoJSON file on every request)"
    )
    data_dir = tmp / "koop-data"
    data_dir.mkdir(exist_ok=True)
    link = data_dir / "points.geojson"
    if not link.exists():
        link.symlink_to(data.geojson)
    port = free_port()
    env = {
        **os.environ,
        "KOOP_PORT": str(port),
        "KOOP_WORKERS": str(args.workers),
        "KOOP_DATA_DIR": str(data_dir),
        "NODE_ENV": "production",
        "SUPPRESS_NO_CONFIG_WARNING": "1",
        "NODE_CONFIG_DIR": str(home / "config"),
    }
    command = [shutil.which("node") or "node", "--max-old-space-size=8192", str(home / "server.js")]
    return _run_peer(
        report,
        Service("Koop", command, tmp / "koop.log", env),
        KoopServer(f"http://127.0.0.1:{port}"),
        f"http://127.0.0.1:{port}/status",
        args,
        generator,
        data,
    )


def _venv_python_ok(python: Path, code: str) -> bool:
    if not python.exists():
        return False
    done = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    return done.returncode == 0


def install_pygeoapi(log: Path) -> tuple[Path, dict[str, str]]:
    """A venv from the system Python (for Debian's GDAL bindings) with pinned pygeoapi."""
    if not Path(SYSTEM_PYTHON).exists():
        raise RuntimeError(f"{SYSTEM_PYTHON} is missing (GDAL's bindings come with it)")
    if not _venv_python_ok(Path(SYSTEM_PYTHON), "from osgeo import ogr"):
        apt = shutil.which("apt-get")
        if not apt or os.geteuid() != 0:
            raise RuntimeError("GDAL's Python bindings are missing: apt-get install python3-gdal")
        console.print("  installing python3-gdal with apt-get")
        _run_logged([apt, "update", "-qq"], log, INSTALL_TIMEOUT_S)
        _run_logged(
            [apt, "install", "-y", "-qq", "python3-gdal"],
            log,
            INSTALL_TIMEOUT_S,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    venv = PEERS_DIR / "pygeoapi-venv"
    python = venv / "bin" / "python"
    pins = [f"{n}=={v}" for n, v in PYGEOAPI_PACKAGES.items()]
    check = "; ".join(
        f"assert __import__('importlib.metadata').metadata.version({n!r}) == {v!r}"
        for n, v in PYGEOAPI_PACKAGES.items()
    )
    if not _venv_python_ok(python, check + "; from osgeo import ogr; import pygeoapi"):
        if venv.exists():
            shutil.rmtree(venv)
        console.print(f"  installing {', '.join(pins)} into {venv.relative_to(ROOT)}")
        _run_logged(
            [SYSTEM_PYTHON, "-m", "venv", "--system-site-packages", str(venv)],
            log,
            INSTALL_TIMEOUT_S,
        )
        _run_logged(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *pins],
            log,
            INSTALL_TIMEOUT_S,
        )
    probe = (
        "import json, platform; from importlib.metadata import version; "
        "from osgeo import gdal; print(json.dumps({'python': platform.python_version(), "
        "'GDAL (osgeo)': gdal.__version__, "
        + ", ".join(f"{n!r}: version({n!r})" for n in ("pygeoapi", "gunicorn", "Flask"))
        + "}))"
    )
    done = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"the pygeoapi venv does not work: {done.stderr[-500:]}")
    return venv, json.loads(done.stdout)


def pygeoapi_config(data: Dataset, port: int) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}"
    return {
        "server": {
            "bind": {"host": "127.0.0.1", "port": port},
            "url": url,
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "language": "en-US",
            "cors": False,
            "pretty_print": False,
            "limits": {"default_items": 10, "max_items": 10000},
            "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "attribution": "-"},
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": "geosite benchmark peer",
                "description": "The benchmark points",
                "keywords": ["benchmark"],
                "keywords_type": "theme",
                "terms_of_service": "-",
                "url": url,
            },
            "license": {"name": "CC0", "url": url},
            "provider": {"name": "geosite benchmarks", "url": url},
            "contact": {"name": "geosite benchmarks"},
        },
        "resources": {
            "points": {
                "type": "collection",
                "title": "Points",
                "description": f"{data.points} random points",
                "keywords": ["points"],
                "extents": {
                    "spatial": {
                        "bbox": [-180, -90, 180, 90],
                        "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
                    }
                },
                "providers": [
                    {
                        "type": "feature",
                        "name": "OGR",
                        "data": {
                            "source_type": "GPKG",
                            "source": str(data.gpkg),
                            "source_capabilities": {"paging": True},
                        },
                        "id_field": "id",
                        "layer": "points",
                    }
                ],
            }
        },
    }


def run_pygeoapi(
    args: argparse.Namespace, generator: LoadGenerator, data: Dataset, tmp: Path
) -> ServerReport:
    report = ServerReport("pygeoapi")
    log = tmp / "pygeoapi-install.log"
    try:
        venv, versions = install_pygeoapi(log)
    except (RuntimeError, OSError) as exc:
        report.reason = f"not installed: {exc}"
        return report
    report.version = f"pygeoapi {versions['pygeoapi']}"
    report.setup["versions"] = versions
    report.setup["configuration"] = (
        f"gunicorn, {args.workers} sync workers; OGR provider over the GeoPackage (R*Tree)"
    )
    port = free_port()
    config = tmp / "pygeoapi-config.yml"  # JSON is YAML
    openapi = tmp / "pygeoapi-openapi.yml"
    config.write_text(json.dumps(pygeoapi_config(data, port), indent=2))
    env = {**os.environ, "PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
    env.pop("VIRTUAL_ENV", None)
    try:
        _run_logged(
            [
                str(venv / "bin" / "pygeoapi"),
                "openapi",
                "generate",
                str(config),
                "-of",
                str(openapi),
            ],
            log,
            300,
            env=env,
        )
    except RuntimeError as exc:
        report.reason = f"openapi document not generated: {exc}"
        return report
    command = [
        str(venv / "bin" / "gunicorn"),
        "--workers",
        str(args.workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--timeout",
        "300",
        "--log-level",
        "warning",
        "pygeoapi.flask_app:APP",
    ]
    return _run_peer(
        report,
        Service("pygeoapi", command, tmp / "pygeoapi.log", env),
        PygeoapiServer(f"http://127.0.0.1:{port}"),
        f"http://127.0.0.1:{port}/conformance?f=json",
        args,
        generator,
        data,
    )


def _single_summary(server: Server) -> dict[str, dict[str, float]]:
    """Latencies of the checking requests (one at a time, no other load), per kind."""
    out = {}
    for kind in ("bbox", "count", "bbox_count"):
        times = sorted(t for k, t in server.single if k == kind)
        if times:
            out[kind] = {
                "n": len(times),
                "median": round(times[len(times) // 2], 4),
                "max": round(times[-1], 4),
            }
    return out


def _run_peer(
    report: ServerReport,
    service: Service,
    server: Server,
    ready_url: str,
    args: argparse.Namespace,
    generator: LoadGenerator,
    data: Dataset,
) -> ServerReport:
    timing = Timing(args.peer_warmup, args.peer_duration, 1)
    try:
        with (
            running(service, ready_url, lambda r: r.status_code == 200),
            MemoryWatch(service) as watch,
        ):
            report.memory["idle"] = watch.sample("idle")
            began = time.perf_counter()
            with watch.during("check"):
                report.problems = server.check(data, args.peer_check_boxes)
            report.setup["check_s"] = round(time.perf_counter() - began, 1)
            report.setup["single_request_s"] = _single_summary(server)
            for problem in report.problems:
                console.print(f"  [red]{report.name} wrong answer[/]: {problem}")
            report.status = "measured"
            for workload in workloads(args.concurrency, args.hits):
                report.results.append(
                    measure(
                        server,
                        service,
                        watch,
                        workload,
                        data,
                        generator,
                        timing,
                        ready_url,
                        args.workers,
                    )
                )
            report.memory["peak"] = watch.peak()
    except Exception as exc:  # a broken peer is reported, and the run goes on
        if not report.results:
            report.status = "missing"
        report.reason = f"{type(exc).__name__}: {str(exc)[-600:]}"
        console.print(f"  [yellow]{report.name} failed[/]: {report.reason}")
    return report


# -- the report -------------------------------------------------------------------------------


def _fmt_rate(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:,.1f}" if value >= 1 else f"{value:.2f}"


def _fmt_ms(value: float) -> str:
    return f"{value:,.0f}" if value >= 1000 else f"{value:.2f}"


def _verdict(m: Measured) -> tuple[str, str, bool | None]:
    w = m.workload
    load = m.median.load
    texts, ok = [], None
    if w.target_rps is not None:
        good = load.rps >= w.target_rps
        ok = good if ok is None else ok and good
        texts.append(f"≥ {_fmt_rate(w.target_rps)}/s")
    if w.target_p50_ms is not None:
        good = 0 < load.p50_ms <= w.target_p50_ms
        ok = good if ok is None else ok and good
        texts.append(f"p50 ≤ {w.target_p50_ms:g} ms")
    if ok is None:
        return "-", "context", None
    verdict = "[green]MET[/]" if ok else "[red]MISSED[/]"
    return ", ".join(texts), verdict, ok


def _ratio(geo: Measured, peers: list[Measured]) -> str:
    """geosite's rate over the best peer's (a lower bound when a peer completed nothing)."""
    if not peers:
        return "-"
    best = max(peers, key=lambda m: m.median.load.rps)
    rate = best.median.load.rps
    if best.completed <= 0 or rate <= 0:
        bound = geo.median.load.rps * best.median.load.seconds
        return f"> {bound:,.0f}x (no peer answer in {best.median.load.seconds:.0f} s)"
    return f"{geo.median.load.rps / rate:,.1f}x {best.server}"


def print_report(
    reports: list[ServerReport],
    generator: LoadGenerator,
    args: argparse.Namespace,
    meta: dict[str, Any],
    data: Dataset,
) -> None:
    geosite = reports[0]
    peers = [r for r in reports[1:] if r.status == "measured"]
    table = Table(
        title=f"W1/W2 FeatureServer queries, {data.points:,} points "
        f"(geosite: median of {args.repeat} x {args.duration:g} s; peers: 1 x "
        f"{args.peer_duration:g} s)"
    )
    for name, justify in (
        ("workload", "left"),
        ("server", "left"),
        ("req/s", "right"),
        ("p50 ms", "right"),
        ("p99 ms", "right"),
        ("errors", "right"),
        ("target", "left"),
        ("verdict", "left"),
        ("geosite ÷ best peer", "left"),
        ("server CPU µs/req", "right"),
        ("peak RSS MiB", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for index, geo in enumerate(geosite.results):
        rows = [(geosite, geo)] + [(p, p.results[index]) for p in peers if len(p.results) > index]
        for report, m in rows:
            load = m.median.load
            is_geo = report is geosite
            target, verdict, _ = _verdict(m) if is_geo else ("", "", None)
            cpu = m.median.server_cpu_us_per_request
            none = m.completed <= 0
            table.add_row(
                m.workload.title if is_geo else "",
                report.name if is_geo else f"  {report.name}",
                f"none in {load.seconds:.0f} s" if none else _fmt_rate(load.rps),
                "-" if none else _fmt_ms(load.p50_ms),
                "-" if none else _fmt_ms(load.p99_ms),
                str(m.errors) if not m.errors else f"[red]{m.errors}[/]",
                target,
                verdict,
                _ratio(geo, [mm for _, mm in rows[1:]]) if is_geo else "",
                "-" if cpu is None else f"{cpu:,.0f}",
                f"{mib(m.peak_rss):,.0f}",
            )
        for report in reports[1:]:
            if report.status != "measured" and index == 0:
                table.add_row("", f"  {report.name}", "missing", *[""] * 8)
        table.add_section()
    console.print()
    console.print(table)
    for report in reports[1:]:
        if report.status != "measured" or report.reason:
            console.print(f"[yellow]{report.name}: {report.status}[/] ({report.reason})")
    memory = geosite.memory
    before, peak, after = (
        mib(memory.get(k, 0)) for k in ("before_load", "during_load_peak", "after_load")
    )
    flat = after - before <= MEMORY_FLAT_MIB
    under = max(before, peak, after) < MEMORY_TARGET_MIB
    console.print(
        f"geosite resident memory (sum of RSS of its process group): idle before publishing "
        f"{mib(memory.get('idle_before_publish', 0)):,.0f} MiB, peak while publishing "
        f"{mib(memory.get('peak_publish', 0)):,.0f} MiB; before the load {before:,.0f} MiB, "
        f"peak during it {peak:,.0f} MiB, 5 s after it {after:,.0f} MiB. Targets: < "
        f"{MEMORY_TARGET_MIB:g} MiB "
        + ("[green]MET[/]" if under else "[red]MISSED[/]")
        + f"; flat (after - before = {after - before:+,.0f} MiB, at most "
        f"{MEMORY_FLAT_MIB:g}) " + ("[green]MET[/]" if flat else "[red]MISSED[/]") + "."
    )
    publish = geosite.setup.get("publish", {})
    if publish:
        console.print(
            f"Publishing {data.points:,} points (GeoJSON, uploads/upload + createService): "
            f"{publish['total_s']:.1f} s (upload {publish['upload_s']:.1f} s, createService "
            f"{publish['create_service_s']:.1f} s)."
        )
    for report in reports:
        if report.problems:
            console.print(
                f"[red]{report.name} gave wrong answers:[/] " + "; ".join(report.problems)
            )
    console.print(
        f"Checked before loading: geosite all {len(data.boxes)} boxes (features by id, counts) "
        f"and the total; peers the total and the first {args.peer_check_boxes} boxes."
    )
    console.print(
        f"Load generator: {generator.description}; cycling through {len(data.boxes)} fixed "
        "boxes. geosite: warm-up "
        f"{args.warmup:g} s then {args.repeat} x {args.duration:g} s per row. The peers are much "
        f"slower, so each of their rows is bounded: warm-up {args.peer_warmup:g} s then one run "
        f"of {args.peer_duration:g} s, request timeout {PEER_REQUEST_TIMEOUT_S:g} s; requests "
        "still running when a run ends are not counted, and the next run waits for the peer to "
        "drain."
    )
    shares = [(r.name, x) for r in reports for m in r.results for x in m.others_share]
    if shares:
        name, worst = max(shares, key=lambda item: item[1])
        geo = max((x for n, x in shares if n == "geosite"), default=0.0)
        console.print(
            f"Other processes on the machine used at most {geo:.0%} of its CPU during "
            f"geosite's runs, and at most {worst:.0%} during any run ({name}); load average "
            f"{' '.join(f'{v:.2f}' for v in meta['machine']['loadavg_at_start'])} at the start."
        )
    console.print(
        f"The load generator shares the machine's {os.cpu_count()} CPUs with the server, so "
        "every figure is a floor. The ratio column is geosite's req/s over the best peer's."
    )
    console.print("Single requests while checking the answers (one at a time, no other load):")
    for report in reports:
        single = report.setup.get("single_request_s")
        if single:
            text = "; ".join(
                f"{kind} {_fmt_ms(v['median'] * 1000)} ms (median of {v['n']})"
                for kind, v in single.items()
            )
            console.print(f"  {report.name}: {text}")
    for report in reports:
        versions = report.setup.get("versions")
        if versions:
            text = ", ".join(f"{k} {v}" for k, v in versions.items())
            console.print(f"{report.name} ({report.setup.get('configuration', '')}): {text}")
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    changed = meta.get("uncommitted_geosite_files") or []
    console.print(
        f"geosite side: {versions}; revision {meta['revision']}"
        + (f" with uncommitted changes in {', '.join(changed)}" if changed else "")
        + "."
    )


# -- main -------------------------------------------------------------------------------------


def _versions(generator: LoadGenerator) -> dict[str, str]:
    import sqlite3

    found = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for name in (
        "geosite",
        "starlette",
        "uvicorn",
        "httptools",
        "uvloop",
        "orjson",
        "numpy",
        "shapely",
        "pyproj",
        "pyogrio",
        "pyarrow",
    ):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    with contextlib.suppress(ImportError, AttributeError):
        import pyogrio

        found["GDAL (pyogrio)"] = pyogrio.__gdal_version_string__
    found["loadgen"] = getattr(generator, "version", generator.name)
    return found


def _uncommitted(path: str) -> list[str]:
    """Files under ``path`` that differ from the revision (the code measured is what is on disk)."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(
            ["git", "status", "--porcelain", "--", path],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return [line.strip() for line in done.stdout.splitlines() if line.strip()]
    return []


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000, help="points in the layer")
    parser.add_argument("--boxes", type=int, default=50, help="fixed query boxes to cycle")
    parser.add_argument("--hits", type=int, default=1000, help="points per box (at most)")
    parser.add_argument("--duration", type=float, default=15.0, help="geosite: seconds per run")
    parser.add_argument("--warmup", type=float, default=5.0, help="geosite: warm-up seconds")
    parser.add_argument("--repeat", type=int, default=3, help="geosite: runs per workload")
    parser.add_argument("--peer-duration", type=float, default=10.0, help="peers: seconds")
    parser.add_argument("--peer-warmup", type=float, default=3.0, help="peers: warm-up seconds")
    parser.add_argument(
        "--peer-check-boxes", type=int, default=2, help="peers: boxes checked against the data"
    )
    parser.add_argument(
        "--quick", action="store_true", help="geosite 1 s warm-up + 1 x 3 s; peers 1 s + 5 s"
    )
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument(
        "--peers",
        default="koop,pygeoapi",
        help="comma list of peers to run (koop, pygeoapi), or 'none'",
    )
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--profile", action="store_true", help="also sample geosite with py-spy")
    parser.add_argument("--profile-seconds", type=float, default=15.0)
    parser.add_argument("--output", type=Path, help="JSON file (default: benchmarks/results/)")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.repeat = 3.0, 1.0, 1
        args.peer_duration, args.peer_warmup = 5.0, 1.0
    if not 1_000 <= args.points <= 20_000_000:
        parser.error("points must be 1,000-20,000,000")
    if not (1 <= args.boxes <= 1000 and 1 <= args.hits <= MAX_RECORD_COUNT):
        parser.error(f"boxes must be 1-1000, hits 1-{MAX_RECORD_COUNT}")
    if args.hits * 20 > args.points:
        parser.error("a box must hold at most 5 % of the points")
    for name in ("duration", "peer_duration"):
        if not 1 <= getattr(args, name) <= 600:
            parser.error(f"--{name.replace('_', '-')} must be 1-600 s")
    if not (0 <= args.warmup <= 600 and 0 <= args.peer_warmup <= 600 and 1 <= args.repeat <= 10):
        parser.error("warm-ups must be 0-600 s, repeat 1-10")
    if not 1 <= args.concurrency <= 256:
        parser.error("concurrency must be 1-256")
    names = [] if args.peers == "none" else [p.strip().lower() for p in args.peers.split(",")]
    unknown = set(names) - {"koop", "pygeoapi"}
    if unknown:
        parser.error(f"unknown peers: {', '.join(sorted(unknown))}")
    args.peer_names = names
    return args


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds the `running` blocks, which stop the servers


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    generator = _pick_generator(args.loadgen)
    load1, load5, load15 = os.getloadavg()
    meta: dict[str, Any] = {
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "loadavg_at_start": [load1, load5, load15],
        },
        "versions": _versions(generator),
        "revision": _git_revision(),
        "uncommitted_geosite_files": _uncommitted("geosite"),
        "loadgen": {"name": generator.name, "description": generator.description},
        "settings": {
            k: getattr(args, k)
            for k in (
                "points",
                "boxes",
                "hits",
                "duration",
                "warmup",
                "repeat",
                "peer_duration",
                "peer_warmup",
                "concurrency",
                "workers",
                "peer_names",
            )
        },
        "note": "the load generator runs on the same CPUs as the server; figures are floors",
    }
    console.print(
        f"Load generator: [bold]{generator.description}[/]; load average at start "
        f"{load1:.2f} {load5:.2f} {load15:.2f}"
    )
    if load1 >= 1.0:
        console.print(
            "[yellow]The machine is busy (1-minute load average ≥ 1): the figures will be low; "
            "each run reports how much CPU other processes took.[/]"
        )
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    runners: dict[str, Callable[..., ServerReport]] = {"koop": run_koop, "pygeoapi": run_pygeoapi}
    with tempfile.TemporaryDirectory(prefix="geosite-bench-features-") as name:
        tmp = Path(name)
        data = make_dataset(args, tmp)
        console.print("[bold]geosite[/]")
        reports = [run_geosite(args, generator, data, tmp)]
        for peer in args.peer_names:
            console.print(f"[bold]{peer}[/]")
            reports.append(runners[peer](args, generator, data, tmp))
        for log in tmp.glob("*.log"):  # keep the servers' logs next to the results
            meta.setdefault("log_tails", {})[log.name] = log.read_text(errors="replace")[-3000:]
    meta["loadavg_at_end"] = list(os.getloadavg())
    print_report(reports, generator, args, meta, data)
    for report in reports:
        for profile in report.profiles:
            profile.print(console)
    document = {
        "workload": "W1+W2",
        "meta": meta,
        "dataset": data.as_dict(),
        "servers": {r.name: r.as_dict() for r in reports},
    }
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    output = args.output or RESULTS_DIR / f"features-{stamp}.json"
    output.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    console.print(f"Results written to {output}")
    geosite = reports[0]
    if geosite.problems or any(m.errors for m in geosite.results):
        console.print("[red]geosite had errors or wrong answers: its figures are not valid.[/]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
