"""How long checking an edited polygon takes: the worst the default limits allow, and the
polygons of issue 16, with the old approach (all in the server, inside the write lock) and the
new one (limits, STRtree hole assignment, repair in a worker with a deadline).

    .venv/bin/python benchmarks/geometry_check.py [--old-cap 30] [--tries 3]

Prints one row per geometry: its size, and the best of ``--tries`` times to check it (the time
until the server knows whether and how to write it). The old approach runs in a child process
killed after ``--old-cap`` seconds (the 200,000-vertex polygon took over 5 minutes and 12 GB).
The new approach runs ``geosite.engines.edit_geometry.prepare`` with the default limits,
from the parsed JSON to the GeoPackage blob, with the worker pool started beforehand (as on
a server that has repaired once).
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geosite.core.models import LayerDescription  # noqa: E402
from geosite.data.spatial_reference import resolve  # noqa: E402
from geosite.engines.edit_geometry import EditError, GeometryLimits, prepare  # noqa: E402
from geosite.engines.repair_pool import POOL  # noqa: E402

Rings = list[list[list[float]]]


def _random_ring(n: int, seed: int = 1) -> list[list[float]]:
    rng = random.Random(seed)
    return [[rng.random() * 100, rng.random() * 100] for _ in range(n)]


def _square(x: float, y: float, size: float, clockwise: bool) -> list[list[float]]:
    ring = [[x, y], [x, y + size], [x + size, y + size], [x + size, y]]
    return ring if clockwise else ring[::-1]


def _parts_and_holes(count: int) -> Rings:
    """``count`` squares, each with a square hole."""
    rings: Rings = []
    side = math.ceil(math.sqrt(count))
    for i in range(count):
        x, y = (i % side) * 10.0, (i // side) * 10.0
        rings.append(_square(x, y, 8, True))
        rings.append(_square(x + 2, y + 2, 4, False))
    return rings


def _nested(count: int, vertices: int) -> Rings:
    """``count`` concentric rings, shells and holes in turn (every hole in many shells)."""
    rings: Rings = []
    for i in range(count):
        radius = count - i
        sign = -1 if i % 2 == 0 else 1  # clockwise shells first
        rings.append(
            [
                [
                    radius * math.cos(sign * 2 * math.pi * k / vertices),
                    radius * math.sin(sign * 2 * math.pi * k / vertices),
                ]
                for k in range(vertices)
            ]
        )
    return rings


def _circle(n: int) -> Rings:
    return [[[math.cos(-2 * math.pi * k / n), math.sin(-2 * math.pi * k / n)] for k in range(n)]]


def _old(rings: Rings) -> Any:
    """The check before issue 16: every hole against every shell, ``make_valid`` unbounded."""
    closed = [shapely.LinearRing(ring) for ring in rings]
    shells = [r for r in closed if not r.is_ccw] or closed
    holes = [r for r in closed if r.is_ccw] if len(shells) < len(closed) else []
    polygons = []
    for shell in shells:
        outline = shapely.Polygon(shell)
        inner = [h for h in holes if outline.contains(shapely.Polygon(h).representative_point())]
        polygons.append(shapely.Polygon(shell, inner))
    shape = shapely.MultiPolygon(polygons)
    if not shape.is_valid:
        shape = shapely.make_valid(shape)
    return shapely.to_wkb(shape)


def _old_child(rings: Rings, done: Any) -> None:
    started = time.perf_counter()
    _old(rings)
    done.put(time.perf_counter() - started)


def _old_time(rings: Rings, cap: float) -> str:
    context = multiprocessing.get_context("fork")
    done = context.Queue()
    child = context.Process(target=_old_child, args=(rings, done))
    child.start()
    child.join(cap)
    if child.is_alive():
        child.kill()
        child.join()
        return f"> {cap:.0f} s"
    return f"{done.get():.2f} s"


def _polygons() -> LayerDescription:
    return LayerDescription(0, "polygons", "polygons", "esriGeometryPolygon", {}, {}, ())


def _new_time(rings: Rings, tries: int) -> tuple[float, str]:
    layer = _polygons()
    sr = resolve(4326, "layer")
    best, outcome = math.inf, ""
    for _ in range(tries):
        geometry = {"rings": rings, "spatialReference": {"wkid": 3857}}
        started = time.perf_counter()
        try:
            prepare(geometry, layer, sr, GeometryLimits())
            outcome = "accepted"
        except EditError as exc:
            outcome = "refused: " + exc.description[:60]
        best = min(best, time.perf_counter() - started)
        time.sleep(0.5)  # a worker killed for being late is replaced meanwhile
    return best, outcome


def _cases() -> list[tuple[str, Callable[[], Rings]]]:
    return [
        ("250-vertex self-intersecting (issue)", lambda: [_random_ring(250)]),
        ("1,500 parts x 1,500 holes (issue)", lambda: _parts_and_holes(1500)),
        ("200,000-vertex random (issue)", lambda: [_random_ring(200_000)]),
        ("worst allowed: 250,000-vertex random", lambda: [_random_ring(250_000, 2)]),
        ("worst allowed: 10,000 nested rings x 25", lambda: _nested(10_000, 25)),
        ("worst allowed: 5,000 parts x 5,000 holes", lambda: _parts_and_holes(5000)),
        ("valid 250,000-vertex ring", lambda: _circle(250_000)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--old-cap", type=float, default=30.0)
    parser.add_argument("--tries", type=int, default=3)
    parser.add_argument("--skip-old", action="store_true")
    args = parser.parse_args()
    prepare(
        {"rings": [[[0, 0], [0, 2], [2, 0], [2, 2]]]},
        _polygons(),
        resolve(3857, "layer"),
    )  # start the repair workers
    print(f"{'geometry':44} {'vertices':>9} {'old':>9} {'new':>8}  outcome (new)")
    for name, make in _cases():
        rings = make()
        vertices = sum(len(r) for r in rings)
        old = "-" if args.skip_old else _old_time(rings, args.old_cap)
        new, outcome = _new_time(rings, args.tries)
        print(f"{name:44} {vertices:>9,} {old:>9} {new:>6.2f} s  {outcome}", flush=True)
    POOL.shutdown()


if __name__ == "__main__":
    main()
