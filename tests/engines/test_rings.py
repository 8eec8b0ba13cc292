"""Esri rings to polygons (``geosite.engines.rings.assemble``): holes go to the smallest shell
that covers them, islands stay islands."""

from __future__ import annotations

import numpy as np
import shapely

from geosite.engines.rings import assemble


def _ring(x0: float, y0: float, x1: float, y1: float, clockwise: bool = True) -> list:  # type: ignore[type-arg]
    ring = [(x0, y0), (x0, y1), (x1, y1), (x1, y0), (x0, y0)]
    return ring if clockwise else ring[::-1]


def _assemble(*rings: list) -> shapely.MultiPolygon:  # type: ignore[type-arg]
    coords = np.array([point for ring in rings for point in ring], dtype=float)
    offsets = np.concatenate([[0], np.cumsum([len(r) for r in rings])]).astype(np.int64)
    return assemble(coords, offsets)


def test_an_island_in_a_hole_keeps_the_hole() -> None:
    """The hole's inner point may fall in the island: the hole must still go to the shell
    (found by the GeometryServer's helper: a donut with a square in its hole read back
    without the hole)."""
    shape = _assemble(_ring(0, 0, 10, 10), _ring(2, 2, 8, 8, clockwise=False), _ring(4, 4, 6, 6))
    assert shapely.is_valid(shape)
    assert shape.area == 100 - 36 + 4
    assert len(shape.geoms) == 2 and len(shape.geoms[0].interiors) == 1


def test_a_hole_touching_its_shell_at_a_point() -> None:
    hole = [(0, 5), (3, 3), (3, 7), (0, 5)]  # counter-clockwise, a vertex on the shell's edge
    shape = _assemble(_ring(0, 0, 10, 10), hole)
    assert shape.area == 100 - 6
    assert len(shape.geoms) == 1 and len(shape.geoms[0].interiors) == 1


def test_holes_go_to_the_smallest_shell() -> None:
    shape = _assemble(
        _ring(0, 0, 100, 100),
        _ring(10, 10, 90, 90, clockwise=False),
        _ring(20, 20, 80, 80),
        _ring(30, 30, 40, 40, clockwise=False),
    )
    outer, island = shape.geoms
    assert len(outer.interiors) == 1 and len(island.interiors) == 1
    assert shape.area == 100**2 - 80**2 + 60**2 - 10**2
