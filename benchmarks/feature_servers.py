"""The W1/W2 workloads, the servers under test (how to ask and check them) and measuring."""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import numpy as np
from data_points import Dataset, bbox_text
from feature_config import (
    DRAIN_TIMEOUT_S,
    PEER_REQUEST_TIMEOUT_S,
    SERVICE_NAME,
    VERIFY_TIMEOUT_S,
    console,
)
from harness import Run, Service, timed_run
from loadgen import LoadGenerator, LoadSpec
from memory import MemoryWatch
from profiling import ProfileReport

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
    #: geosite on PostGIS at least this share of geosite on GeoPackage (req/s, same run)
    postgis_ratio: float | None = None


def workloads(concurrency: int, hits: int = 1000) -> list[Workload]:
    """The rows of the report; the targets are the spec's for pages of about 1,000 features."""
    c, n = concurrency, f"~{hits:,}"
    return [
        Workload(
            "w1_bbox",
            f"W1 bbox query, {n} features, c={c}",
            "bbox",
            c,
            target_rps=500,
            postgis_ratio=0.75,
        ),
        Workload("w1_bbox_c1", f"W1 bbox query, {n} features, c=1", "bbox", 1, target_p50_ms=5),
        Workload(
            "w2_count", f"W2 count where=1=1, c={c}", "count", c, target_rps=2000, postgis_ratio=0.5
        ),
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
