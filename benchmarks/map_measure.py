"""W4's measuring (``map_export.py``): each size on every server in turns, and geosite's warm
tiles; a row of runs per server and size."""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass, field
from typing import Any

from feature_config import console
from feature_servers import _machine_busy_s, drain
from harness import Run, timed_run
from loadgen import LoadGenerator, LoadSpec
from map_data import TILE_LEVEL, MapData, MapTarget, png_spec, tile_addresses
from map_geosite import GeositeMap
from map_images import ImageCheck, check_tiles

#: Targets of the issue (2 workers, concurrency 4).
TARGET_256 = (200.0, 50.0)  # images/s at least, p99 ms at most
TARGET_1024 = 40.0
TARGET_TILES = 3000.0
CPUS = os.cpu_count() or 1


@dataclass
class Row:
    """One server at one size (or the tiles): its measured runs."""

    server: str
    label: str
    target: str = ""
    runs: list[Run] = field(default_factory=list)
    others_share: list[float] = field(default_factory=list)
    warmup: Run | None = None
    unavailable: str = ""

    @property
    def median(self) -> Run:
        return sorted(self.runs, key=lambda r: r.load.rps)[len(self.runs) // 2]

    @property
    def errors(self) -> int:
        return sum(r.load.errors for r in self.runs)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"server": self.server, "row": self.label, "target": self.target}
        if self.unavailable:
            return {**out, "unavailable": self.unavailable}
        return {
            **out,
            "rate_median": round(self.median.load.rps, 2),
            "rate_all": [round(r.load.rps, 2) for r in self.runs],
            "errors_total": self.errors,
            "other_processes_cpu_share": [round(v, 3) for v in self.others_share],
            "median": self.median.as_dict(),
            "runs": [r.as_dict() for r in self.runs],
            "warmup": self.warmup.as_dict() if self.warmup else None,
        }


@dataclass
class Runs:
    """Load runs of a target measured into its row, with the run's settings (``--warmup``,
    ``--duration``, ``--concurrency``)."""

    generator: LoadGenerator
    args: argparse.Namespace

    def warm_up(self, target: MapTarget, spec: LoadSpec, row: Row) -> None:
        """An unmeasured run of ``--warmup`` seconds (none when 0), then the target drained."""
        args = self.args
        if args.warmup > 0:
            row.warmup = timed_run(
                self.generator, spec, args.concurrency, args.warmup, target.service
            )
            drain(target.ready_url, target.workers)

    def measure(self, target: MapTarget, spec: LoadSpec, row: Row) -> None:
        """One run of ``--duration`` seconds, with what other processes used meanwhile."""
        args = self.args
        busy_before = _machine_busy_s()
        run = timed_run(self.generator, spec, args.concurrency, args.duration, target.service)
        busy = _machine_busy_s() - busy_before
        row.runs.append(run)
        others = max(0.0, busy - (run.server_cpu_s or 0.0) - run.loadgen_cpu_s)
        row.others_share.append(others / (run.load.seconds * CPUS))
        waited = drain(target.ready_url, target.workers)
        cpu = run.server_cpu_us_per_request
        console.print(
            f"    {target.name}, {row.label}: {run.load.rps:,.1f}/s, p50 "
            f"{run.load.p50_ms:.2f} ms, p99 {run.load.p99_ms:.2f} ms, errors {run.load.errors}, "
            f"server CPU {(cpu or 0) / 1000:.2f} ms each; other processes used "
            f"{row.others_share[-1]:.0%} of the machine"
            + (f" (drained for {waited:.1f} s)" if waited > 1 else "")
        )


def measure_sizes(
    targets: list[MapTarget], data: MapData, generator: LoadGenerator, args: argparse.Namespace
) -> list[Row]:
    """Each size on every server: a warm-up each, then ``--repeat`` rounds in turns (the order
    reversed every other round), so that drift weighs on both servers alike."""
    rows = []
    runs = Runs(generator, args)
    for size in args.sizes:
        label = f"{size}x{size} export"
        goal = (
            f"≥ {TARGET_256[0]:g}/s, p99 ≤ {TARGET_256[1]:g} ms"
            if size == 256
            else f"≥ {TARGET_1024:g}/s"
            if size == 1024
            else ""
        )
        found = [Row(t.name, label, goal if t.name == "geosite" else "") for t in targets]
        specs = [t.spec(data, size) for t in targets]
        console.print(
            f"[bold]{label}[/]: warm-up {args.warmup:g} s each, then {args.repeat} rounds of "
            f"{args.duration:g} s per server, c={args.concurrency}"
        )
        for target, spec, row in zip(targets, specs, found, strict=True):
            runs.warm_up(target, spec, row)
        for turn in range(args.repeat):
            order = list(range(len(targets)))
            if turn % 2:
                order.reverse()
            for index in order:
                runs.measure(targets[index], specs[index], found[index])
        rows += found
    return rows


def measure_tiles(
    target: GeositeMap,
    data: MapData,
    generator: LoadGenerator,
    args: argparse.Namespace,
) -> tuple[Row, ImageCheck | None]:
    """Warm tiles: every tile asked once (so it is in the cache), then the load over them. The
    row is "not available" when the service answers that it has no tiles."""
    row = Row(target.name, f"warm tiles, z{TILE_LEVEL}", f"≥ {TARGET_TILES:,.0f}/s")
    if target.tiles_refused:
        row.unavailable = f"not available: createService with isCached: {target.tiles_refused}"
        console.print(f"  warm tiles {row.unavailable}")
        return row, None
    tiles = tile_addresses(args.extents)
    paths = [target.tile(*t) for t in tiles]
    began = time.perf_counter()
    check, refused = check_tiles(target, data, tiles, args.samples)
    if refused:
        row.unavailable = "not available: " + refused
        console.print(f"  warm tiles {row.unavailable}")
        return row, None
    drawn = check.drawn_share or [0.0]
    console.print(
        f"[bold]warm tiles[/]: {len(paths)} tiles asked once in {time.perf_counter() - began:.1f}"
        f" s ({len(check.problems)} problems; {min(drawn):.0%}-{max(drawn):.0%} of the pixels "
        f"drawn, the first {len(check.iou)} fit {check.diameter} px circles at the points with "
        f"IoU {', '.join(f'{v:.2f}' for v in check.iou)}); warm-up {args.warmup:g} s, then "
        f"{args.repeat} x {args.duration:g} s"
    )
    if check.problems:
        row.unavailable = f"tiles answered with errors: {check.problems[0]}"
        return row, check
    spec = png_spec(target.base, paths)
    runs = Runs(generator, args)
    runs.warm_up(target, spec, row)
    for _ in range(args.repeat):
        runs.measure(target, spec, row)
    return row, check
