"""Cached map tiles on the standard Web Mercator grid (services-api §5.7).

A cached map service's tiles live in the site's CACHE server directory as ArcGIS lays out an
exploded cache: ``<Folder_Service>_MapServer/_alllayers/L<level>/R<row hex>/C<col hex>.png``.
A tile is drawn the first time it is asked for and read from disk after. Concurrent first
requests for one tile, in any worker process of the machine, draw it once: the drawer holds a
lock file (one of ``STRIPES``, picked by the tile) and the others find the tile written when
they get the lock. Tiles are written whole (a temporary file renamed into place), so a reader
never sees half of one.

Edits invalidate the tiles their features' old and new boxes touch, at every level; an
administrator seeds or deletes tiles for a level range and an extent (``seed``, ``clear``).
"""

from __future__ import annotations

import math
import os
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import shapely

from geosite.data.source import Box, FeatureSource, RowFilter
from geosite.data.spatial_reference import SpatialReference, resolve, transformer
from geosite.engines.query.sql import quote
from geosite.files import FILE_MODE, file_lock, private_dir

ORIGIN = 20037508.342787
RESOLUTION_0 = 156543.03392800014
SCALE_0 = 591657527.591555
LEVELS = 24
TILE_SIZE = 256
STRIPES = 64
#: Web Mercator's Esri and EPSG codes, as ``tileInfo`` names its spatial reference.
WEB_MERCATOR = {"wkid": 102100, "latestWkid": 3857}


def tile_info() -> dict[str, object]:
    """``tileInfo`` of the root JSON: 256-pixel PNG32 tiles, Google's and OSM's levels."""
    return {
        "rows": TILE_SIZE,
        "cols": TILE_SIZE,
        "dpi": 96,
        "format": "PNG32",
        "compressionQuality": 0,
        "origin": {"x": -ORIGIN, "y": ORIGIN},
        "spatialReference": dict(WEB_MERCATOR),
        "lods": [
            {"level": z, "resolution": RESOLUTION_0 / 2**z, "scale": SCALE_0 / 2**z}
            for z in range(LEVELS)
        ],
    }


def valid_tile(level: int, row: int, col: int) -> bool:
    """Whether the grid has this tile."""
    return 0 <= level < LEVELS and 0 <= row < 2**level and 0 <= col < 2**level


def tile_box(level: int, row: int, col: int) -> Box:
    """The tile's extent in Web Mercator metres."""
    size = 2 * ORIGIN / 2**level
    xmin = -ORIGIN + col * size
    ymax = ORIGIN - row * size
    return (xmin, ymax - size, xmin + size, ymax)


def tile_range(box: Box, level: int) -> tuple[int, int, int, int]:
    """(first row, last row, first column, last column) of the tiles ``box`` touches."""
    size = 2 * ORIGIN / 2**level
    last = (1 << level) - 1

    def clamp(value: float) -> int:
        return min(max(int(value // 1), 0), last)

    return (
        clamp((ORIGIN - box[3]) / size),
        clamp((ORIGIN - box[1]) / size),
        clamp((box[0] + ORIGIN) / size),
        clamp((box[2] + ORIGIN) / size),
    )


def tiles_in(box: Box, levels: range) -> Iterator[tuple[int, int, int]]:
    """Every (level, row, column) of ``levels`` that ``box`` touches."""
    for level in levels:
        top, bottom, left, right = tile_range(box, level)
        for row in range(top, bottom + 1):
            for col in range(left, right + 1):
                yield level, row, col


def count_in(box: Box, levels: range) -> int:
    """How many tiles ``tiles_in`` gives."""
    total = 0
    for level in levels:
        top, bottom, left, right = tile_range(box, level)
        total += (bottom - top + 1) * (right - left + 1)
    return total


#: Draws the tile of a box (Web Mercator) as PNG bytes.
Drawer = Callable[[Box], bytes]


class TileCache:
    """The tiles of one map service under ``root`` (its ``_alllayers`` folder)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._root = str(root)

    def _file(self, level: int, row: int, col: int) -> str:
        return f"{self._root}/L{level:02d}/R{row:08x}/C{col:08x}.png"

    def path(self, level: int, row: int, col: int) -> Path:
        """Where a tile is kept."""
        return Path(self._file(level, row, col))

    def _lock(self, level: int, row: int, col: int) -> Path:
        stripe = zlib.crc32(f"{level}/{row}/{col}".encode()) % STRIPES
        return private_dir(self.root.parent / ".locks") / f"{stripe:02d}"

    def read(self, level: int, row: int, col: int) -> bytes | None:
        """The cached tile, or None."""
        try:
            with open(self._file(level, row, col), "rb") as tile:
                return tile.read()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def fetch(self, level: int, row: int, col: int, drawer: Drawer) -> tuple[bytes, bool]:
        """The tile, drawn and kept when it is not cached yet; and whether it was drawn now."""
        found = self.read(level, row, col)
        if found is not None:
            return found, False
        with file_lock(self._lock(level, row, col)):
            found = self.read(level, row, col)  # drawn by whoever held the lock before
            if found is not None:
                return found, False
            data = drawer(tile_box(level, row, col))
            self._write(level, row, col, data)
        return data, True

    def _write(self, level: int, row: int, col: int, data: bytes) -> None:
        path = self.path(level, row, col)
        private_dir(path.parent)
        partial = path.with_name(f".{path.name}.{os.getpid()}.part")
        with open(partial, "wb") as out:
            out.write(data)
        partial.chmod(FILE_MODE)
        os.replace(partial, path)

    def delete(self, boxes: list[Box], levels: range = range(LEVELS)) -> int:
        """Delete the cached tiles ``boxes`` touch at ``levels``; how many were deleted.

        Only folders that exist are read: a cache of a few levels is swept quickly even for
        the whole world at every level."""
        deleted = 0
        for level in levels:
            folder = self.root / f"L{level:02d}"
            if not folder.is_dir():
                continue
            for box in boxes:
                top, bottom, left, right = tile_range(box, level)
                for row_dir in folder.iterdir():
                    row = _hex(row_dir.name, "R")
                    if row is None or not top <= row <= bottom:
                        continue
                    for tile in row_dir.iterdir():
                        col = _hex(tile.stem, "C")
                        if col is not None and left <= col <= right:
                            tile.unlink(missing_ok=True)
                            deleted += 1
        return deleted

    def seed(
        self,
        box: Box,
        levels: range,
        drawer: Drawer,
        progress: Callable[[int, int], None],
        *,
        redraw: bool = False,
    ) -> int:
        """Draw the tiles ``box`` touches at ``levels`` (only missing ones unless ``redraw``);
        ``progress(done, total)`` after each. How many were drawn."""
        total, drawn = count_in(box, levels), 0
        for done, (level, row, col) in enumerate(tiles_in(box, levels), start=1):
            if redraw:
                self.path(level, row, col).unlink(missing_ok=True)
            _, made = self.fetch(level, row, col, drawer)
            drawn += made
            progress(done, total)
        return drawn


def _hex(name: str, prefix: str) -> int | None:
    if not name.startswith(prefix) or len(name) != 9:
        return None
    try:
        return int(name[1:], 16)
    except ValueError:
        return None


#: Beyond this many features, an edit invalidates the one box around them all.
MAX_BOXES = 1000


def touched_boxes(source: FeatureSource, object_ids: Sequence[int]) -> list[Box]:
    """The Web Mercator boxes of these features' geometries as they are now (the tiles an
    edit of them changes); the whole grid when a box cannot be shown in Web Mercator."""
    if not object_ids:
        return []
    layer = source.layer
    rows = source.select(
        RowFilter(object_ids=tuple(object_ids)), [quote(layer.object_id_field)], with_geometry=True
    )
    shapes = [s for s in source.geometries([row[-1] for row in rows]) if s is not None]
    if not shapes:
        return []
    bounds = shapely.bounds(shapes)
    if len(bounds) > MAX_BOXES:
        bounds = [[bounds[:, 0].min(), bounds[:, 1].min(), bounds[:, 2].max(), bounds[:, 3].max()]]
    mover = transformer(resolve(layer.spatial_reference, "layer"), _mercator(), "outSR")
    out = []
    for xmin, ymin, xmax, ymax in bounds:
        box = (float(xmin), float(ymin), float(xmax), float(ymax))
        if mover is not None:
            try:
                box = tuple(float(v) for v in mover.transform_bounds(*box))  # type: ignore[assignment]
            except Exception:  # outside Web Mercator's domain (a pole): every tile
                box = (-ORIGIN, -ORIGIN, ORIGIN, ORIGIN)
        if not all(math.isfinite(v) for v in box):
            box = (-ORIGIN, -ORIGIN, ORIGIN, ORIGIN)
        out.append(box)
    return out


def _mercator() -> SpatialReference:
    return resolve(WEB_MERCATOR, "outSR")
