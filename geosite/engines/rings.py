"""Esri polygon rings made into a valid MultiPolygon: shared by the server and the repair worker.

ArcGIS's rule: clockwise rings are shells, counter-clockwise ones holes (when no ring is
clockwise, every ring is a shell). A hole belongs to the smallest shell that covers it
(found with an STRtree over the holes and prepared shells, never every shell against every hole). An
invalid result is repaired with ``shapely.make_valid`` (the "linework" method: odd-even fill,
as ArcGIS fills polygons) and only its polygons are kept.

This module imports shapely and numpy only, so the repair worker starts quickly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely


def assemble(coords: np.ndarray, offsets: np.ndarray) -> Any:
    """The MultiPolygon of rings ``coords[offsets[i]:offsets[i + 1]]`` (n by 2, float64).

    Raises ``ValueError`` or ``shapely.errors.GEOSException`` for rings shapely refuses.
    """
    index = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    rings = shapely.linearrings(coords, indices=index)
    ccw = shapely.is_ccw(rings)
    if ccw.all():  # no clockwise ring: all are shells
        shells, holes = rings, rings[:0]
    else:
        shells, holes = rings[~ccw], rings[ccw]
    outlines = shapely.polygons(shells)
    inner: list[list[Any]] = [[] for _ in range(len(shells))]
    if len(holes):
        # Whole rings, not a point inside each hole: that point can fall in an island that
        # lies inside the hole, and the hole would go to the island.
        shell_at, hole_at = shapely.STRtree(shapely.polygons(holes)).query(
            outlines, predicate="covers"
        )
        if len(hole_at):
            # Each hole to the smallest shell that contains it (an island's hole to the island).
            order = np.lexsort((shapely.area(outlines)[shell_at], hole_at))
            found, first = np.unique(hole_at[order], return_index=True)
            for hole, shell in zip(found.tolist(), shell_at[order][first].tolist(), strict=True):
                inner[shell].append(holes[hole])
    return shapely.MultiPolygon(
        [shapely.Polygon(shell, inner[i]) for i, shell in enumerate(shells)]
    )


def made_valid(shape: Any) -> Any:
    """``shape`` when valid, else its polygons after ``make_valid`` (a MultiPolygon)."""
    if shapely.is_valid(shape):
        return shape
    fixed = shapely.make_valid(shape)
    polygons = []
    for part in shapely.get_parts(fixed):
        if part.geom_type == "MultiPolygon":
            polygons.extend(shapely.get_parts(part))
        elif part.geom_type == "Polygon":
            polygons.append(part)
    return shapely.MultiPolygon(polygons)
