"""W4's data (``map_export.py``): the points in EPSG:3857, the extents and tiles both servers
are asked for, the style both draw, and what asking a server for an image takes."""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from data_points import generate_points, write_gpkg
from feature_config import SEED, console
from harness import Service
from loadgen import LoadSpec

EXTENT_SEED = 11  # where the extents go (the points come from SEED)
EARTH_RADIUS_M = 6378137.0
WEB_MERCATOR_MAX_M = math.pi * EARTH_RADIUS_M
SIZES = (256, 1024)
TILE_LEVEL = 5  # 32 x 32 tiles of the world; about 1,000 points in a tile near the equator
#: The style both servers draw: ArcGIS's default symbol of a point layer, as geosite has it
#: (geosite/core/drawing.py default_symbol): a circle of 7.5 pt, fill #f79646 at alpha 161,
#: outline #bebebe at alpha 105 and 0.5 pt wide; at 96 dpi a point is 96/72 px.
PX_PER_PT = 96 / 72
MARKER_PT = 7.5
FILL = (247, 150, 70, 161)
OUTLINE = (190, 190, 190, 105)
OUTLINE_PT = 0.5
#: geosite's PNG encoder (Mapnik ``png32:z=1``): zlib level 1; MapServer is given the same.
PNG_COMPRESSION = 1
#: A PNG always has its IHDR chunk in its first 16 bytes; an error page never does.
PNG_MARKER = "IHDR"

Extent = tuple[float, float, float, float]

# -- the points and the extents ---------------------------------------------------------------


def web_mercator(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """EPSG:4326 degrees to EPSG:3857 metres (the spherical formulas, as PROJ does)."""
    x = np.radians(lon) * EARTH_RADIUS_M
    y = np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)) * EARTH_RADIUS_M
    return x, y


def make_extents(
    x: np.ndarray, y: np.ndarray, count: int, hits: int
) -> tuple[list[Extent], list[int]]:
    """``count`` square EPSG:3857 extents, each holding 97-100 % of ``hits`` points, centred at
    random places between latitudes -70 and 70 (``EXTENT_SEED``)."""
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], y[order]

    def inside(e: Extent) -> int:
        lo, hi = np.searchsorted(xs, [e[0], e[2]])
        strip = ys[lo:hi]
        return int(np.count_nonzero((strip >= e[1]) & (strip <= e[3])))

    rng = np.random.default_rng(EXTENT_SEED)
    low = math.floor(hits * 0.97)
    extents: list[Extent] = []
    counts: list[int] = []
    attempts = 0
    while len(extents) < count and attempts < count * 20:
        attempts += 1
        cx, cy = web_mercator(np.array(rng.uniform(-170, 170)), np.array(rng.uniform(-70, 70)))
        small, large = 1_000.0, 5_000_000.0
        for _ in range(80):  # bisect the half-side (geometrically) until low..hits points
            half = math.sqrt(small * large)
            extent = tuple(round(float(v), 2) for v in (cx - half, cy - half, cx + half, cy + half))
            found = inside(extent)  # type: ignore[arg-type]
            if low <= found <= hits:
                if max(abs(v) for v in extent) < WEB_MERCATOR_MAX_M:
                    extents.append(extent)  # type: ignore[arg-type]
                    counts.append(found)
                break
            if found > hits:
                large = half
            else:
                small = half
    return extents, counts


@dataclass
class MapData:
    """The points in EPSG:3857, the extents and the GeoPackage both servers read."""

    x: np.ndarray
    y: np.ndarray
    extents: list[Extent]
    counts: list[int]
    gpkg: Path
    timings: dict[str, float] = field(default_factory=dict)
    #: A copy in spatial order for MapServer (``--mapserver-order spatial``), or None.
    gpkg_spatial: Path | None = None
    gpkg_bytes: int = 0

    @property
    def points(self) -> int:
        return len(self.x)

    def as_dict(self) -> dict[str, Any]:
        return {
            "points": self.points,
            "seed": SEED,
            "extent_seed": EXTENT_SEED,
            "extents_epsg3857": [list(e) for e in self.extents],
            "points_per_extent": self.counts,
            "gpkg_bytes": self.gpkg_bytes,
            "mapserver_reads_spatial_copy": self.gpkg_spatial is not None,
            "timings_s": {k: round(v, 2) for k, v in self.timings.items()},
        }


def make_data(args: argparse.Namespace, tmp: Path) -> MapData:
    began = time.perf_counter()
    lon, lat, value = generate_points(args.points)
    x, y = web_mercator(lon, lat)
    extents, counts = make_extents(x, y, args.extents, args.hits)
    generated = time.perf_counter() - began
    gpkg = tmp / "points.gpkg"
    began = time.perf_counter()
    write_gpkg(gpkg, lon, lat, value)
    data = MapData(x, y, extents, counts, gpkg, {"generate": generated})
    data.timings["write_gpkg"] = time.perf_counter() - began
    data.gpkg_bytes = gpkg.stat().st_size
    if args.mapserver_order == "spatial" and args.only != "geosite":
        import shapely

        from geosite.data.importer import spatial_order

        began = time.perf_counter()
        order = spatial_order(shapely.points(lon, lat))
        data.gpkg_spatial = tmp / "points-spatial.gpkg"
        write_gpkg(data.gpkg_spatial, lon[order], lat[order], value[order])
        data.timings["write_gpkg_spatial"] = time.perf_counter() - began
    widths = [e[2] - e[0] for e in extents]
    console.print(
        f"Data: {data.points:,} points (seed {SEED}), GeoPackage "
        f"{gpkg.stat().st_size / 2**20:,.0f} MiB in {data.timings['write_gpkg']:.1f} s; "
        f"{len(extents)} EPSG:3857 extents (seed {EXTENT_SEED}) of {min(counts)}-{max(counts)} "
        f"points, {min(widths) / 1000:,.0f}-{max(widths) / 1000:,.0f} km wide"
    )
    return data


def extent_text(extent: Extent) -> str:
    return ",".join(f"{v:.2f}" for v in extent)


# -- the tiles --------------------------------------------------------------------------------


def tile_addresses(count: int) -> list[tuple[int, int, int]]:
    """``count`` distinct (level, row, column) tiles at ``TILE_LEVEL`` (rows away from the
    poles), the same every run."""
    rng = np.random.default_rng(EXTENT_SEED)
    side = 2**TILE_LEVEL
    picked: list[tuple[int, int, int]] = []
    while len(picked) < min(count, side * side // 2):
        tile = (TILE_LEVEL, int(rng.integers(side // 8, side - side // 8)), int(rng.integers(side)))
        if tile not in picked:
            picked.append(tile)
    return picked


def tile_extent(level: int, row: int, column: int) -> Extent:
    """A tile's extent in EPSG:3857 on the Web Mercator grid of 256-pixel tiles."""
    side = 2 * WEB_MERCATOR_MAX_M / 2**level
    left, top = -WEB_MERCATOR_MAX_M + column * side, WEB_MERCATOR_MAX_M - row * side
    return (left, top - side, left + side, top)


# -- a server under test ----------------------------------------------------------------------


@dataclass
class MapTarget:
    """A server under test: how to ask it for an image, and its processes."""

    name: str
    base: str
    service: Service
    ready_url: str
    workers: int
    description: str = ""
    version: str = ""
    publish: dict[str, float] | None = None

    def image(self, extent: Extent, size: int) -> str:
        """The path and query of an image of ``extent`` at ``size`` x ``size`` pixels."""
        raise NotImplementedError

    def spec(self, data: MapData, size: int) -> LoadSpec:
        return png_spec(self.base, [self.image(e, size) for e in data.extents])


def png_spec(base: str, paths: list[str]) -> LoadSpec:
    """The load over ``paths`` (in turn) of ``base``, each answer checked to be a PNG."""
    return LoadSpec(url=base + paths[0], targets=tuple(paths), expect=PNG_MARKER, timeout_s=10.0)
