"""Workload W4 of the performance spec (section 5): map images, geosite beside MapServer 8.

Generates the W1 points (``numpy.random.default_rng(42)``, lon -180..180, lat -85..85, fields
``id``, ``name``, ``value``; ``data_points.py``) as a GeoPackage in EPSG:4326, and a fixed list
of square extents in EPSG:3857 that each hold about 1,000 of them. Then, in the same run:

- **geosite**: ``geosite serve --workers 2``; the GeoPackage is uploaded and published as a
  service of type MapServer (``uploads/upload`` + ``createService``), and the extents are asked
  of ``MapServer/export?bbox=...&bboxSR=3857&imageSR=3857&size=256,256&format=png
  &transparent=true&f=image`` (and ``size=1024,1024``). Warm tiles: ``MapServer/tile/{z}/{y}/
  {x}`` once the service has tiles; the row says "not available" when it answers that it has
  none.
- **MapServer 8** (Debian's ``cgi-mapserver``): ``mapserv`` as a FastCGI application, 2
  processes (``spawn-fcgi -n`` + ``multiwatch -f 2``) behind an nginx (1 worker process),
  drawing the same GeoPackage through OGR with an equivalent style (a circle marker, fill
  #f79646, 0.5 px outline #bebebe, AGG PNG, RGBA, transparent), asked WMS 1.3.0 ``GetMap``
  with the same extents and sizes.

Every answer is checked by the load generator (HTTP 200 and a PNG ``IHDR``, no error
envelope); before the load, a few images of each server are decoded with Pillow and compared
with where the points are, so that neither side is measuring error pages or blank images.
The rows are measured in turns (geosite, MapServer, then MapServer, geosite, ...) with both
servers running all along. The load generator (wrk) runs on the same 2 cores as the servers.

This file is the runner and the results table; the data and extents are in ``map_data.py``,
the geosite side in ``map_geosite.py``, the MapServer peer in ``map_mapserver.py``, the image
checks in ``map_images.py`` and the rows in turns in ``map_measure.py``.

Usage: .venv/bin/python benchmarks/map_export.py [--quick] [--points N] [--duration S]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import signal
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from feature_config import console
from feature_report import _fmt_ms, _fmt_rate
from features import _uncommitted
from harness import RESULTS_DIR, _git_revision, _pick_generator, exit_on_sigterm, write_results
from loadgen import LoadGenerator
from map_data import MARKER_PT, PNG_COMPRESSION, PX_PER_PT, SIZES, MapTarget, make_data
from map_geosite import GeositeMap, geosite_map
from map_images import ImageCheck, agreement, check_images, print_checks
from map_mapserver import mapserver_map, mapserver_missing
from map_measure import (
    CPUS,
    TARGET_256,
    TARGET_1024,
    TARGET_TILES,
    Row,
    measure_sizes,
    measure_tiles,
)
from rich.table import Table

# -- the report -------------------------------------------------------------------------------


def _round_ratios(row: Row, peer: Row | None) -> list[float]:
    if peer is None or peer.unavailable or row.unavailable:
        return []
    return [
        a.load.rps / b.load.rps for a, b in zip(row.runs, peer.runs, strict=False) if b.load.rps
    ]


def _verdict(row: Row) -> str:
    if not row.target or row.unavailable:
        return "-"
    load = row.median.load
    if row.label.startswith("256x"):
        ok = load.rps >= TARGET_256[0] and load.p99_ms <= TARGET_256[1]
    elif row.label.startswith("1024x"):
        ok = load.rps >= TARGET_1024
    else:
        ok = load.rps >= TARGET_TILES
    return f"{row.target}: " + ("[green]met[/]" if ok else "[red]MISSED[/]")


def print_table(rows: list[Row], args: argparse.Namespace) -> dict[str, Any]:
    table = Table(
        title=f"W4 map images, {args.points:,} points, ~{args.hits:,} in each of "
        f"{args.extents} extents; c={args.concurrency}, {args.workers} workers each; median of "
        f"{args.repeat} x {args.duration:g} s"
    )
    for name in (
        "server",
        "size",
        "images/s (runs)",
        "p50 ms",
        "p99 ms",
        "errors",
        "server CPU ms/image",
        "others' CPU",
        "÷ MapServer (per round)",
        "target",
    ):
        table.add_column(name, justify="left" if name in ("server", "size", "target") else "right")
    ratios: dict[str, Any] = {}
    for row in rows:
        if row.unavailable:
            short = row.unavailable.split(":")[0]  # the reason is printed under the table
            table.add_row(row.server, row.label, short, *[""] * 5, "-", "-")
            continue
        peer = next((r for r in rows if r.server == "MapServer" and r.label == row.label), None)
        per_round = _round_ratios(row, peer) if row.server != "MapServer" else []
        ratio = "1" if row.server == "MapServer" else "-"
        if per_round:
            ratio = (
                f"{statistics.median(per_round):.2f}x ("
                + " / ".join(f"{r:.2f}" for r in per_round)
                + ")"
            )
            ratios[row.label] = {
                "median": round(statistics.median(per_round), 3),
                "per_round": [round(r, 3) for r in per_round],
            }
        median = row.median
        cpu = median.server_cpu_us_per_request
        table.add_row(
            row.server,
            row.label,
            f"{_fmt_rate(median.load.rps)} ("
            + " / ".join(_fmt_rate(r.load.rps) for r in row.runs)
            + ")",
            _fmt_ms(median.load.p50_ms),
            _fmt_ms(median.load.p99_ms),
            str(row.errors),
            "-" if cpu is None else f"{cpu / 1000:.2f}",
            f"{statistics.median(row.others_share):.0%}",
            ratio,
            _verdict(row),
        )
    console.print(table)
    for row in rows:
        if row.unavailable:
            console.print(f"  {row.server}, {row.label}: {row.unavailable}")
    return ratios


# -- main -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=None, help="points (1,000,000)")
    parser.add_argument("--extents", type=int, default=50, help="extents to cycle through")
    parser.add_argument("--hits", type=int, default=1000, help="points per extent (at most)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--warmup", type=float, default=5.0, help="warm-up seconds per row")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per row")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="processes of each server")
    parser.add_argument(
        "--marker-px",
        type=float,
        default=MARKER_PT * PX_PER_PT,
        help="MapServer's marker diameter in pixels (geosite's default: 7.5 pt = 10 px)",
    )
    parser.add_argument(
        "--png-compression",
        type=int,
        default=PNG_COMPRESSION,
        help="MapServer's zlib level (geosite's Mapnik encoder uses 1)",
    )
    parser.add_argument(
        "--bits",
        type=int,
        choices=(8, 32),
        default=8,
        help="the PNG both servers answer: 8-bit palette with alpha (geosite's format=png, "
        "ArcGIS's PNG; MapServer's AGG/PNG8) or 32-bit RGBA (geosite's png32, AGG/PNG RGBA)",
    )
    parser.add_argument(
        "--mapserver-order",
        choices=("source", "spatial"),
        default="source",
        help="MapServer reads the GeoPackage as generated (source, the file geosite is given) "
        "or a copy in the spatial (Z-order) order geosite stores it in after publishing",
    )
    parser.add_argument("--samples", type=int, default=3, help="images decoded per server/size")
    parser.add_argument("--only", choices=("both", "geosite", "mapserver"), default="both")
    parser.add_argument("--no-tiles", action="store_true", help="skip the warm tiles row")
    parser.add_argument(
        "--quick", action="store_true", help="100,000 points, 1 s warm-up, 1 x 3 s per row"
    )
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--output", type=Path, help="JSON file (default: benchmarks/results/)")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.repeat = 3.0, 1.0, 1
        args.points = 100_000 if args.points is None else args.points
    args.points = 1_000_000 if args.points is None else args.points
    args.sizes = SIZES
    if not 10_000 <= args.points <= 20_000_000 or args.hits * 20 > args.points:
        parser.error("points must be 10,000-20,000,000, and an extent at most 5 % of them")
    if not (1 <= args.extents <= 500 and 1 <= args.hits <= 100_000):
        parser.error("extents 1-500, hits 1-100,000")
    if not (1 <= args.duration <= 120 and 0 <= args.warmup <= 60 and 1 <= args.repeat <= 10):
        parser.error("duration 1-120 s, warm-up 0-60 s, repeat 1-10")
    if not (1 <= args.concurrency <= 64 and 1 <= args.workers <= 8):
        parser.error("concurrency 1-64, workers 1-8")
    if not (1 <= args.marker_px <= 64 and 1 <= args.samples <= 20):
        parser.error("marker 1-64 px, samples 1-20")
    if not 0 <= args.png_compression <= 9:
        parser.error("PNG compression 0-9")
    return args


def _meta(args: argparse.Namespace, generator: LoadGenerator) -> dict[str, Any]:
    """What the run was: when, what command, which revision, which machine and settings."""
    load1, load5, load15 = os.getloadavg()
    return {
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "revision": _git_revision(),
        "uncommitted_geosite_files": _uncommitted("geosite"),
        "machine": {
            "cpus": CPUS,
            "platform": platform.platform(),
            "loadavg_at_start": [load1, load5, load15],
        },
        "loadgen": {"name": generator.name, "description": generator.description},
        "settings": {
            k: getattr(args, k)
            for k in (
                "points",
                "extents",
                "hits",
                "duration",
                "warmup",
                "repeat",
                "concurrency",
                "workers",
                "marker_px",
                "png_compression",
                "bits",
                "mapserver_order",
            )
        },
        "note": "the load generator runs on the same CPUs as the servers; figures are floors",
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    generator = _pick_generator(args.loadgen)
    missing = mapserver_missing() if args.only != "geosite" else ""
    if missing:
        raise SystemExit(f"MapServer peer: {missing}")
    meta = _meta(args, generator)
    load1, load5, load15 = meta["machine"]["loadavg_at_start"]
    console.print(
        f"Load generator: [bold]{generator.description}[/], on the same {CPUS} cores as the "
        f"servers (every figure is a floor); load average at start {load1:.2f} {load5:.2f} "
        f"{load15:.2f}"
    )
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    checks: list[ImageCheck] = []
    servers: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="geosite-bench-map-") as name,
        contextlib.ExitStack() as stack,
    ):
        tmp = Path(name)
        data = make_data(args, tmp)
        targets: list[MapTarget] = []
        if args.only != "mapserver":
            targets.append(stack.enter_context(geosite_map(args, data, tmp)))
        if args.only != "geosite":
            console.print("  MapServer: starting mapserv (FastCGI) and nginx ...")
            targets.append(stack.enter_context(mapserver_map(args, data, tmp)))
        for target in targets:
            console.print(f"  [bold]{target.name}[/]: {target.version}")
            console.print(f"    {target.description}")
            servers.append(
                {
                    "name": target.name,
                    "version": target.version,
                    "setup": target.description,
                    "publish": target.publish,
                }
            )
        for size in args.sizes:
            for target in targets:
                checks.append(check_images(target, data, size, args.samples))
        print_checks(checks)
        same = agreement(checks)
        for size, values in same.items():
            console.print(
                f"  geosite and MapServer drew the same pixels at {size}x{size}: IoU "
                + ", ".join(f"{v:.2f}" for v in values)
            )
        bad = [c for c in checks if c.problems]
        if bad:
            console.print("[red]Some images are wrong; the figures below are not valid.[/]")
        rows = measure_sizes(targets, data, generator, args)
        geosite = next((t for t in targets if isinstance(t, GeositeMap)), None)
        if geosite is not None and not args.no_tiles:
            tiles, tile_check = measure_tiles(geosite, data, generator, args)
            rows.append(tiles)
            if tile_check is not None:
                checks.append(tile_check)
        for log in tmp.rglob("*.log"):
            meta.setdefault("log_tails", {})[log.name] = log.read_text(errors="replace")[-3000:]
    meta["loadavg_at_end"] = list(os.getloadavg())
    ratios = print_table(rows, args)
    console.print(
        f"Load generator: {generator.description}, on the same {CPUS} cores as the servers "
        "(figures are floors). Server CPU: the whole process tree (MapServer: mapserv processes "
        "and nginx)."
    )
    for server in servers:
        console.print(f"  {server['name']}: {server['version']}; {server['setup']}")
    document = {
        "workload": "W4",
        "meta": meta,
        "dataset": data.as_dict(),
        "servers": servers,
        "image_checks": [c.as_dict() for c in checks],
        "geosite_mapserver_iou": same,
        "rows": [r.as_dict() for r in rows],
        "ratios_to_mapserver": ratios,
    }
    output = write_results(document, args.output, "map")
    console.print(f"Results written to {output}")
    if bad or any(r.errors for r in rows if not r.unavailable):
        console.print("[red]Errors or wrong images: the figures are not valid.[/]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
