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

With ``--postgis``, geosite is measured twice in the same run: on GeoPackage (as always) and
on PostGIS (``geosite serve --data-store postgresql://...`` on a durable PostgreSQL cluster
the runner starts itself, ``benchmarks/pg_cluster.py``), both running, the rows in turns;
a second table gives PostGIS over GeoPackage per row.

Usage: .venv/bin/python benchmarks/features.py [--points N] [--quick] [--peers koop,pygeoapi]
       [--postgis]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from data_points import make_dataset
from feature_config import MAX_RECORD_COUNT, console
from feature_report import print_report
from feature_servers import ServerReport
from geosite_server import run_geosite, run_geosite_pair
from harness import (
    RESULTS_DIR,
    ROOT,
    _git_revision,
    _pick_generator,
    exit_on_sigterm,
    write_results,
)
from loadgen import LoadGenerator
from peers import run_koop, run_pygeoapi
from pg_cluster import postgis_cluster

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
    parser.add_argument(
        "--log-level", default="WARNING", help="geosite's log level (OFF, SEVERE ... FINE)"
    )
    parser.add_argument(
        "--alternate-log-levels",
        default="",
        help="geosite: measure each workload at these log levels in turns on one site "
        "(e.g. OFF,INFO,FINE), --repeat rounds; each level is compared with the first",
    )
    parser.add_argument(
        "--only", default="", help="geosite: comma list of workload keys (e.g. w1_bbox)"
    )
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument(
        "--peers",
        default="koop,pygeoapi",
        help="comma list of peers to run (koop, pygeoapi), or 'none'",
    )
    parser.add_argument(
        "--postgis",
        action="store_true",
        help="also measure geosite on PostGIS (a PostgreSQL cluster the runner starts), in "
        "turns with geosite on GeoPackage",
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
    if args.postgis and args.alternate_log_levels:
        parser.error("--postgis and --alternate-log-levels do not go together")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, exit_on_sigterm)
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
                "postgis",
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
        if args.postgis:
            console.print("[bold]geosite on GeoPackage and geosite on PostGIS, in turns[/]")
            with postgis_cluster() as cluster:
                reports = run_geosite_pair(args, generator, data, tmp, cluster)
        else:
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
    output = write_results(document, args.output, "features")
    console.print(f"Results written to {output}")
    for report in reports:
        if report.name.startswith("geosite") and (
            report.problems or any(m.errors for m in report.results)
        ):
            console.print(
                f"[red]{report.name} had errors or wrong answers: its figures are not valid.[/]"
            )
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
