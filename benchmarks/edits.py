"""W5: editing throughput (performance spec, section 5).

1. One ``applyEdits`` of 10,000 point adds with ``rollbackOnFailure=true``, end to end (the
   request and its durable commit): target at least 10,000 features/s.
2. Single-feature ``applyEdits`` (one add each) at concurrency 8, every commit durable
   (WAL, ``synchronous=FULL``): target at least 500 requests/s.

    .venv/bin/python benchmarks/edits.py            # make bench-edits
    .venv/bin/python benchmarks/edits.py --quick

geosite runs as ``geosite serve --workers 2`` on loopback ports; the load generator is wrk (or
the Python fallback) on the same machine. Every answer is checked: the bulk answer must hold
10,000 successful results and the layer's count must grow by as much; every single-feature
body must contain ``"success":true``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

import httpx
from harness import Service, _geosite_command, _pick_generator, free_port, running, timed_run
from loadgen import LoadSpec

ADMIN_USER = "bench"
BULK = 10_000


def _publish(base: str, token: str, tmp: Path) -> str:
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


def bulk(layer: str, token: str, repeat: int) -> dict[str, Any]:
    """Time one applyEdits of BULK adds, ``repeat`` times; checks every result and the count."""
    rates = []
    for run in range(repeat):
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
        rates.append(BULK / elapsed)
        print(f"  bulk run {run + 1}: {BULK:,} adds in {elapsed:.2f} s = {BULK / elapsed:,.0f}/s")
    return {"features_per_s": statistics.median(rates), "runs": rates}


def single(
    base: str, layer: str, token: str, args: argparse.Namespace, service: Service
) -> dict[str, Any]:
    """Single-feature applyEdits at the given concurrency, measured like W1-W3."""
    adds = json.dumps([{"attributes": {"name": "one", "value": 1.5}, "geometry": {"x": 1, "y": 2}}])
    body = urllib.parse.urlencode(
        {"f": "json", "token": token, "adds": adds, "rollbackOnFailure": "true"}
    )
    spec = LoadSpec(
        url=f"{layer}/applyEdits",
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=body,
        expect='"success":true',
    )
    generator = _pick_generator(args.loadgen)
    generator.run(spec, args.concurrency, args.warmup)
    before = _count(layer)
    runs = [
        timed_run(generator, spec, args.concurrency, args.duration, service)
        for _ in range(args.repeat)
    ]
    added = _count(layer) - before
    good = sum(r.load.requests - r.load.errors for r in runs)
    for number, run in enumerate(runs, 1):
        print(
            f"  single run {number}: {run.load.rps:,.0f} req/s, p50 {run.load.p50_ms:.2f} ms, "
            f"p99 {run.load.p99_ms:.2f} ms, errors {run.load.errors}, "
            f"server CPU {run.server_cpu_us_per_request} µs/req"
        )
    median = sorted(runs, key=lambda r: r.load.rps)[len(runs) // 2]
    return {
        "rps": median.load.rps,
        "p50_ms": median.load.p50_ms,
        "p99_ms": median.load.p99_ms,
        "errors": sum(r.load.errors for r in runs),
        "acknowledged": good,
        "rows_added": added,
        "runs": [r.as_dict() for r in runs],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1 s warm-up, 1 x 5 s")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    args = parser.parse_args()
    if args.quick:
        args.warmup, args.duration, args.repeat = 1.0, 5.0, 1
    with tempfile.TemporaryDirectory(prefix="geosite-bench-edits-") as tmp_name:
        tmp = Path(tmp_name)
        password = os.urandom(12).hex()
        port = free_port()
        command = [
            _geosite_command(),
            "serve",
            "--data-dir",
            str(tmp / "data"),
            "--port",
            str(port),
            "--https-port",
            str(free_port()),
            "--workers",
            str(args.workers),
            "--admin-user",
            ADMIN_USER,
            "--admin-password",
            password,
        ]
        base = f"http://127.0.0.1:{port}"
        service = Service("geosite", command, tmp / "geosite.log", dict(os.environ))
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
            layer = _publish(base, token, tmp)
            print(f"W5 on geosite ({args.workers} workers), concurrency {args.concurrency}")
            bulk_result = bulk(layer, token, args.repeat)
            single_result = single(base, layer, token, args, service)
    ok_bulk = bulk_result["features_per_s"] >= 10_000
    ok_single = single_result["rps"] >= 500 and single_result["errors"] == 0
    print()
    print("| workload | result | target |")
    print("|---|---|---|")
    print(
        f"| one applyEdits of {BULK:,} adds | {bulk_result['features_per_s']:,.0f} features/s "
        f"| ≥ 10,000: {'met' if ok_bulk else 'missed'} |"
    )
    print(
        f"| single-feature applyEdits, c={args.concurrency} | {single_result['rps']:,.0f} req/s, "
        f"p50 {single_result['p50_ms']:.2f} ms, errors {single_result['errors']} "
        f"| ≥ 500: {'met' if ok_single else 'missed'} |"
    )
    print(
        f"Rows added by the single-feature runs: {single_result['rows_added']:,} "
        f"(good answers counted: {single_result['acknowledged']:,}; warm-up rows excluded)."
    )


if __name__ == "__main__":
    main()
