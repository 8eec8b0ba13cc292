"""W5: editing throughput (performance spec, section 5).

1. One ``applyEdits`` of 10,000 point adds with ``rollbackOnFailure=true``, end to end (the
   request and its durable commit): target at least 10,000 features/s.
2. Single-feature ``applyEdits`` (one add each) at concurrency 8, every commit durable
   (WAL, ``synchronous=FULL``): target at least 500 requests/s.

    .venv/bin/python benchmarks/edits.py            # make bench-edits
    .venv/bin/python benchmarks/edits.py --quick
    .venv/bin/python benchmarks/edits.py --postgis  # also on PostGIS, in turns (make bench-postgis)

geosite runs as ``geosite serve --workers 2`` on loopback ports; the load generator is wrk (or
the Python fallback) on the same machine. Every answer is checked: the bulk answer must hold
10,000 successful results and the layer's count must grow by as much; every single-feature
body must contain ``"success":true``.

With ``--postgis`` a second geosite publishes into PostGIS (``--data-store postgresql://...``
on a durable cluster the runner starts: fsync, synchronous_commit and full_page_writes on,
``benchmarks/pg_cluster.py``). Both run at once and are measured in turns (ABBA rounds), and
the table gives PostGIS over GeoPackage: targets at least 1.2x for the bulk edit and 0.75x
for single-feature edits.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from harness import (
    ADMIN_USER,
    Run,
    Service,
    _pick_generator,
    free_port,
    running,
    serve_command,
    timed_run,
)
from loadgen import LoadGenerator, LoadSpec
from pg_cluster import Cluster, WithDatabase, postgis_cluster

BULK = 10_000
#: PostGIS over GeoPackage, same run (issue 18): the bulk edit and single-feature edits.
RATIO_BULK, RATIO_SINGLE = 1.2, 0.75


def _publish(base: str, token: str, tmp: Path) -> str:
    tmp.mkdir(parents=True, exist_ok=True)
    seed = tmp / "seed.geojson"
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [0, 0]},
        "properties": {"name": "seed", "value": 0.0},
    }
    seed.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    item = httpx.post(
        f"{base}/arcgis/admin/uploads/upload",
        data={"f": "json", "token": token},
        files={"itemFile": (seed.name, seed.read_bytes())},
        timeout=60,
    ).json()["item"]
    service = {
        "serviceName": "Edits",
        "type": "FeatureServer",
        "capabilities": "Query,Create,Update,Delete",
        "properties": {"itemID": item["itemID"]},
    }
    answer = httpx.post(
        f"{base}/arcgis/admin/services/createService",
        data={"f": "json", "token": token, "service": json.dumps(service)},
        timeout=120,
    ).json()
    if answer.get("status") != "success":
        raise SystemExit(f"publishing failed: {answer}")
    return f"{base}/arcgis/rest/services/Edits/FeatureServer/0"


def _count(layer: str) -> int:
    answer = httpx.get(f"{layer}/query", params={"f": "json", "returnCountOnly": "true"}).json()
    return int(answer["count"])


def bulk_once(layer: str, token: str, run: int) -> float:
    """One applyEdits of BULK adds; checks every result and the count. Features/s."""
    adds = [
        {
            "attributes": {"name": f"b{run}-{i}", "value": i / 7},
            "geometry": {"x": (i % 3600) / 10 - 180, "y": (i // 3600) / 10},
        }
        for i in range(BULK)
    ]
    body = {"f": "json", "token": token, "adds": json.dumps(adds), "rollbackOnFailure": "true"}
    before = _count(layer)
    began = time.perf_counter()
    answer = httpx.post(f"{layer}/applyEdits", data=body, timeout=300).json()
    elapsed = time.perf_counter() - began
    results = answer.get("addResults", [])
    if len(results) != BULK or not all(r["success"] for r in results):
        raise SystemExit(f"bulk applyEdits failed: {str(answer)[:300]}")
    if _count(layer) != before + BULK:
        raise SystemExit("the layer's count did not grow by the batch")
    return BULK / elapsed


def single_spec(layer: str, token: str) -> LoadSpec:
    """Single-feature applyEdits (one add), every body checked."""
    adds = json.dumps([{"attributes": {"name": "one", "value": 1.5}, "geometry": {"x": 1, "y": 2}}])
    body = urllib.parse.urlencode(
        {"f": "json", "token": token, "adds": adds, "rollbackOnFailure": "true"}
    )
    return LoadSpec(
        url=f"{layer}/applyEdits",
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=body,
        expect='"success":true',
    )


@dataclass
class Target:
    """One geosite under test, its layer published, and what was measured on it."""

    name: str
    service: Service
    layer: str
    token: str
    bulk: list[float]
    single: list[Run]
    rows_added: int = 0

    def bulk_result(self) -> dict[str, Any]:
        return {"features_per_s": statistics.median(self.bulk), "runs": self.bulk}

    def single_result(self) -> dict[str, Any]:
        median = sorted(self.single, key=lambda r: r.load.rps)[len(self.single) // 2]
        return {
            "rps": median.load.rps,
            "p50_ms": median.load.p50_ms,
            "p99_ms": median.load.p99_ms,
            "cpu_us": median.server_cpu_us_per_request,
            "errors": sum(r.load.errors for r in self.single),
            "acknowledged": sum(r.load.requests - r.load.errors for r in self.single),
            "rows_added": self.rows_added,
            "runs": [r.as_dict() for r in self.single],
        }


@contextlib.contextmanager
def started(tmp: Path, args: argparse.Namespace, cluster: Cluster | None) -> Iterator[Target]:
    """``geosite serve`` with the Edits layer published (into PostGIS with a cluster)."""
    name, slug = ("geosite (PostGIS)", "postgis") if cluster else ("geosite (GeoPackage)", "gpkg")
    password = os.urandom(12).hex()
    port = free_port()
    command = serve_command(tmp / f"data-{slug}", port, free_port(), args.workers, password)
    base = f"http://127.0.0.1:{port}"
    log = tmp / f"geosite-{slug}.log"
    service: Service
    if cluster is None:
        service = Service(name, command, log, dict(os.environ))
    else:
        command += ["--data-store", cluster.url]
        service = WithDatabase(name, command, log, dict(os.environ), cluster)
    health = f"{base}/arcgis/rest/info/healthCheck?f=json"
    with running(service, health, lambda r: r.status_code == 200):
        token = httpx.post(
            f"{base}/arcgis/admin/generateToken",
            data={
                "username": ADMIN_USER,
                "password": password,
                "client": "requestip",
                "f": "json",
                "expiration": "600",
            },
        ).json()["token"]
        layer = _publish(base, token, tmp / slug)
        yield Target(name, service, layer, token, [], [])


def measure(targets: list[Target], args: argparse.Namespace, generator: LoadGenerator) -> None:
    """The bulk edit, then single-feature edits, on each target in turns (ABBA rounds)."""

    def turns(run: int) -> list[Target]:
        return targets if run % 2 == 0 else targets[::-1]

    for run in range(args.repeat):
        for target in turns(run):
            rate = bulk_once(target.layer, target.token, run)
            target.bulk.append(rate)
            print(f"  {target.name}: bulk run {run + 1}: {BULK:,} adds = {rate:,.0f}/s")
    specs = {id(t): single_spec(t.layer, t.token) for t in targets}
    counts = {}
    for target in targets:
        generator.run(specs[id(target)], args.concurrency, args.warmup)
        counts[id(target)] = _count(target.layer)
    for run in range(args.repeat):
        for target in turns(run):
            done = timed_run(
                generator, specs[id(target)], args.concurrency, args.duration, target.service
            )
            target.single.append(done)
            print(
                f"  {target.name}: single run {run + 1}: {done.load.rps:,.0f} req/s, p50 "
                f"{done.load.p50_ms:.2f} ms, p99 {done.load.p99_ms:.2f} ms, errors "
                f"{done.load.errors}, server CPU {done.server_cpu_us_per_request} µs/req"
            )
    for target in targets:
        target.rows_added = _count(target.layer) - counts[id(target)]


def report(targets: list[Target], args: argparse.Namespace) -> None:
    print()
    print("| target | workload | result | target |")
    print("|---|---|---|---|")
    for target in targets:
        bulk_result, single_result = target.bulk_result(), target.single_result()
        ok_bulk = bulk_result["features_per_s"] >= 10_000
        ok_single = single_result["rps"] >= 500 and single_result["errors"] == 0
        runs = " / ".join(f"{r:,.0f}" for r in target.bulk)
        print(
            f"| {target.name} | one applyEdits of {BULK:,} adds | "
            f"{bulk_result['features_per_s']:,.0f} features/s ({runs}) "
            f"| ≥ 10,000: {'met' if ok_bulk else 'missed'} |"
        )
        runs = " / ".join(f"{r.load.rps:,.0f}" for r in target.single)
        print(
            f"| {target.name} | single-feature applyEdits, c={args.concurrency} | "
            f"{single_result['rps']:,.0f} req/s ({runs}), p50 {single_result['p50_ms']:.2f} ms, "
            f"errors {single_result['errors']}, server CPU {single_result['cpu_us']} µs/req "
            f"| ≥ 500: {'met' if ok_single else 'missed'} |"
        )
    if len(targets) == 2:
        gpkg, postgis = targets
        bulk_ratio = postgis.bulk_result()["features_per_s"] / gpkg.bulk_result()["features_per_s"]
        single_ratio = postgis.single_result()["rps"] / gpkg.single_result()["rps"]
        rounds_bulk = " / ".join(
            f"{p / g:.2f}" for g, p in zip(gpkg.bulk, postgis.bulk, strict=True)
        )
        rounds_single = " / ".join(
            f"{p.load.rps / g.load.rps:.2f}"
            for g, p in zip(gpkg.single, postgis.single, strict=True)
        )
        print(
            f"| PostGIS ÷ GeoPackage | one applyEdits of {BULK:,} adds | {bulk_ratio:.2f}x "
            f"(per round {rounds_bulk}) | ≥ {RATIO_BULK:g}x: "
            f"{'met' if bulk_ratio >= RATIO_BULK else 'missed'} |"
        )
        print(
            f"| PostGIS ÷ GeoPackage | single-feature applyEdits | {single_ratio:.2f}x "
            f"(per round {rounds_single}) | ≥ {RATIO_SINGLE:g}x: "
            f"{'met' if single_ratio >= RATIO_SINGLE else 'missed'} |"
        )
    for target in targets:
        result = target.single_result()
        print(
            f"{target.name}: rows added by the single-feature runs {result['rows_added']:,} "
            f"(good answers counted: {result['acknowledged']:,}; warm-up rows excluded)."
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1 s warm-up, 1 x 5 s")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument(
        "--postgis", action="store_true", help="also on PostGIS (a cluster it starts), in turns"
    )
    args = parser.parse_args()
    if args.quick:
        args.warmup, args.duration, args.repeat = 1.0, 5.0, 1
    generator = _pick_generator(args.loadgen)
    with tempfile.TemporaryDirectory(prefix="geosite-bench-edits-") as tmp_name:
        tmp = Path(tmp_name)
        with contextlib.ExitStack() as stack:
            targets = [stack.enter_context(started(tmp, args, None))]
            if args.postgis:
                cluster = stack.enter_context(postgis_cluster())
                targets.append(stack.enter_context(started(tmp, args, cluster)))
                print(f"PostgreSQL: {cluster.configuration()}")
                print(", ".join(f"{k} {v}" for k, v in cluster.versions().items()))
            names = " and ".join(t.name for t in targets)
            print(f"W5 on {names} ({args.workers} workers each), concurrency {args.concurrency}")
            measure(targets, args, generator)
    report(targets, args)


if __name__ == "__main__":
    main()
