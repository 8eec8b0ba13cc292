"""The W1/W2 dataset: deterministic points, the query boxes, the GeoJSON and GeoPackage files."""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from feature_config import BOX_SEED, EDGE_CLEARANCE, SEED, console

# -- the data ---------------------------------------------------------------------------------


@dataclass
class Dataset:
    """The points, the query boxes and the files the servers read."""

    lon: np.ndarray
    lat: np.ndarray
    value: np.ndarray
    boxes: list[tuple[float, float, float, float]]
    box_counts: list[int]
    geojson: Path
    gpkg: Path
    timings: dict[str, float] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)

    @property
    def points(self) -> int:
        return len(self.lon)

    def as_dict(self) -> dict[str, Any]:
        return {
            "points": self.points,
            "seed": SEED,
            "box_seed": BOX_SEED,
            "boxes": [list(b) for b in self.boxes],
            "box_counts": self.box_counts,
            "file_bytes": self.sizes,
            "timings_s": {k: round(v, 2) for k, v in self.timings.items()},
        }


def generate_points(count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Longitudes, latitudes and values (6, 6 and 3 decimals, so every store holds the same)."""
    rng = np.random.default_rng(SEED)
    lon = np.round(rng.uniform(-180.0, 180.0, count), 6)
    lat = np.round(rng.uniform(-85.0, 85.0, count), 6)
    value = np.round(rng.uniform(0.0, 1000.0, count), 3)
    return lon, lat, value


def _name(object_id: int) -> str:
    return f"pt-{object_id:07d}"


def make_boxes(
    lon: np.ndarray, lat: np.ndarray, count: int, hits: int
) -> tuple[list[tuple[float, float, float, float]], list[int]]:
    """``count`` fixed square boxes, each holding between 97 % and 100 % of ``hits`` points.

    No point lies within ``EDGE_CLEARANCE`` degrees of an edge, so every server finds the same
    points whether its edges are inclusive or exclusive, exact or (like a float32 R*Tree
    without a recheck) a few metres loose. Edges are also off the data's 6-decimal grid.
    """
    order = np.argsort(lon, kind="stable")
    lon_sorted, lat_sorted = lon[order], lat[order]

    def inside(box: tuple[float, float, float, float]) -> int:
        lo, hi = np.searchsorted(lon_sorted, [box[0], box[2]])
        strip = lat_sorted[lo:hi]
        return int(np.count_nonzero((strip >= box[1]) & (strip <= box[3])))

    def edges(cx: float, cy: float, half: float) -> tuple[float, float, float, float]:
        return tuple(  # type: ignore[return-value]
            round(v, 6) + 5e-7 for v in (cx - half, cy - half, cx + half, cy + half)
        )

    def clear(box: tuple[float, float, float, float]) -> bool:
        e = EDGE_CLEARANCE
        grown = inside((box[0] - e, box[1] - e, box[2] + e, box[3] + e))
        return grown == inside((box[0] + e, box[1] + e, box[2] - e, box[3] - e))

    density = len(lon) / (360.0 * 170.0)  # points per square degree
    start = math.sqrt(hits / density) / 2
    rng = np.random.default_rng(BOX_SEED)
    boxes, counts = [], []
    low = math.floor(hits * 0.97)
    while len(boxes) < count:
        margin = start * 1.5
        cx = float(rng.uniform(-180 + margin, 180 - margin))
        cy = float(rng.uniform(-85 + margin, 85 - margin))
        lo_half, hi_half = start * 0.5, start * 1.5
        for _ in range(60):  # bisect the half-side until the box holds low..hits points
            half = (lo_half + hi_half) / 2
            found = inside(edges(cx, cy, half))
            if low <= found <= hits:
                if clear(edges(cx, cy, half)):  # else try another place
                    boxes.append(edges(cx, cy, half))
                    counts.append(found)
                break
            if found > hits:
                hi_half = half
            else:
                lo_half = half
    return boxes, counts


def write_geojson(path: Path, lon: np.ndarray, lat: np.ndarray, value: np.ndarray) -> None:
    """A FeatureCollection with ``id``, ``name`` and ``value`` properties."""
    with path.open("w", encoding="utf-8") as out:
        out.write('{"type":"FeatureCollection","features":[\n')
        chunk: list[str] = []
        for i, (x, y, v) in enumerate(zip(lon.tolist(), lat.tolist(), value.tolist(), strict=True)):
            object_id = i + 1
            chunk.append(
                f'{{"type":"Feature","properties":{{"id":{object_id},"name":"{_name(object_id)}",'
                f'"value":{v!r}}},"geometry":{{"type":"Point","coordinates":[{x!r},{y!r}]}}}}'
            )
            if len(chunk) == 50_000:
                out.write(",\n".join(chunk) + (",\n" if object_id < len(lon) else ""))
                chunk = []
        if chunk:
            out.write(",\n".join(chunk))
        out.write("\n]}\n")


def write_gpkg(path: Path, lon: np.ndarray, lat: np.ndarray, value: np.ndarray) -> None:
    """A GeoPackage 1.2 (readable by Debian's GDAL 3.6 without warnings), with an R*Tree."""
    import pyarrow as pa
    import pyogrio
    import shapely

    count = len(lon)
    table = pa.table(
        {
            "id": pa.array(np.arange(1, count + 1, dtype=np.int32)),
            "name": pa.array([_name(i) for i in range(1, count + 1)]),
            "value": pa.array(value),
            "geometry": pa.array(shapely.to_wkb(shapely.points(lon, lat)), type=pa.binary()),
        }
    )
    pyogrio.write_arrow(
        table,
        path,
        layer="points",
        driver="GPKG",
        geometry_name="geometry",
        geometry_type="Point",
        crs="EPSG:4326",
        dataset_options={"VERSION": "1.2"},
        layer_options={"SPATIAL_INDEX": "YES"},
    )


def make_dataset(args: argparse.Namespace, tmp: Path) -> Dataset:
    timings: dict[str, float] = {}
    began = time.perf_counter()
    lon, lat, value = generate_points(args.points)
    boxes, counts = make_boxes(lon, lat, args.boxes, args.hits)
    timings["generate"] = time.perf_counter() - began
    geojson, gpkg = tmp / "points.geojson", tmp / "points.gpkg"
    began = time.perf_counter()
    write_geojson(geojson, lon, lat, value)
    timings["write_geojson"] = time.perf_counter() - began
    began = time.perf_counter()
    write_gpkg(gpkg, lon, lat, value)
    timings["write_gpkg"] = time.perf_counter() - began
    sizes = {"geojson": geojson.stat().st_size, "gpkg": gpkg.stat().st_size}
    data = Dataset(lon, lat, value, boxes, counts, geojson, gpkg, timings, sizes)
    console.print(
        f"Data: {data.points:,} points (seed {SEED}); {len(boxes)} boxes of "
        f"{min(counts)}-{max(counts)} points (seed {BOX_SEED}); GeoJSON "
        f"{geojson.stat().st_size / 2**20:,.0f} MiB in {timings['write_geojson']:.1f} s, "
        f"GeoPackage {gpkg.stat().st_size / 2**20:,.0f} MiB in {timings['write_gpkg']:.1f} s"
    )
    return data


def bbox_text(box: tuple[float, float, float, float]) -> str:
    return ",".join(f"{v:.7f}" for v in box)
