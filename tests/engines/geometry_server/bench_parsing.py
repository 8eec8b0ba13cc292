"""How long the GeometryServer takes to read, project and buffer many geometries, in process
(the best of a few runs): ``.venv/bin/python -m tests.engines.geometry_server.bench_parsing``.
Not a test (pytest does not collect it): a measure to compare before and after a change."""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable
from typing import Any

from geosite.engines.geometry_server import OPERATIONS
from geosite.engines.geometry_server._common import parse_geometries


def _polygon(x: float, y: float, sides: int = 20) -> dict[str, Any]:
    turn = 2 * math.pi / sides
    ring = [[x + 0.1 * math.cos(turn * i), y + 0.1 * math.sin(turn * i)] for i in range(sides)]
    return {"rings": [[*ring, ring[0]]]}


def _timed(label: str, run: Callable[[], object], repeat: int = 5) -> None:
    best = math.inf
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    print(f"{label:40s} {best * 1000:8.1f} ms")


def main() -> None:
    places = random.Random(1)
    xy = [(places.uniform(-10, 10), places.uniform(40, 50)) for _ in range(10_000)]
    points = [{"x": x, "y": y} for x, y in xy]
    polygons = [_polygon(x, y) for x, y in xy[:1000]]

    def text(kind: str, items: list[Any]) -> str:
        return json.dumps({"geometryType": f"esriGeometry{kind}", "geometries": items})

    many, few = text("Point", points), text("Point", points[:2000])
    rings, some = text("Polygon", polygons), text("Polygon", polygons[:95])

    def run(name: str, **params: str) -> Callable[[], object]:
        return lambda: OPERATIONS[name].run(params.get)

    _timed("parse 10,000 points", lambda: parse_geometries({"geometries": many}.get))
    _timed(
        "parse 1,000 polygons (21 vertices)", lambda: parse_geometries({"geometries": rings}.get)
    )
    _timed(
        "project 10,000 points 4326->3857",
        run("project", geometries=many, inSR="4326", outSR="3857"),
    )
    _timed(
        "project 1,000 polygons 4326->3857",
        run("project", geometries=rings, inSR="4326", outSR="3857"),
    )
    _timed(
        "buffer 2,000 points (planar)",
        run("buffer", geometries=few, inSR="3857", distances="0.01"),
        3,
    )
    _timed(
        "buffer 95 polygons (planar)",
        run("buffer", geometries=some, inSR="3857", distances="0.01"),
        3,
    )


if __name__ == "__main__":
    main()
