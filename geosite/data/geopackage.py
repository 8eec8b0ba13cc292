"""Reading the site's GeoPackages: rows, GeoPackage geometry blobs, maintained counts.

Only bound parameters reach SQL; table and column names come from the layer description
written at publish time (never from a request) and are quoted.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import shapely

from geosite.errors import NotFound

_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}
_local = threading.local()


def quote_identifier(name: str) -> str:
    """A double-quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def connection(path: str) -> sqlite3.Connection:
    """This thread's read-only connection to the GeoPackage at ``path``."""
    cache: dict[str, sqlite3.Connection] = _local.__dict__.setdefault("connections", {})
    conn = cache.get(path)
    if conn is None:
        if not Path(path).exists():
            raise NotFound("The service's data is missing.")
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        cache[path] = conn
    return conn


def wkb_of(blob: bytes | None) -> bytes | None:
    """The WKB inside a GeoPackage geometry blob (None for empty or null geometries)."""
    if not blob or len(blob) < 8 or blob[:2] != b"GP":
        return None
    flags = blob[3]
    if flags & 0b10000:  # empty geometry
        return None
    envelope = _ENVELOPE_BYTES.get((flags >> 1) & 0b111)
    if envelope is None:
        return None
    return blob[8 + envelope :]


def geometries(blobs: Sequence[bytes | None]) -> list[Any]:
    """Shapely geometries of GeoPackage blobs (None where there is none)."""
    wkbs = [wkb_of(b) for b in blobs]
    decoded = shapely.from_wkb([w for w in wkbs if w is not None])
    out: list[Any] = []
    it = iter(decoded)
    for w in wkbs:
        out.append(next(it) if w is not None else None)
    return out


class GeoPackageLayer:
    """One published layer: a table with ``OBJECTID`` and a ``Shape`` geometry column."""

    def __init__(self, path: str, layer: dict[str, Any]) -> None:
        self.path = path
        self.layer = layer
        self.table = str(layer["table"])
        self.field_names = [str(f["name"]) for f in layer["fields"]]

    def count(self) -> int:
        """The maintained feature count (GeoPackage's ``gpkg_ogr_contents``)."""
        row = (
            connection(self.path)
            .execute(
                "SELECT feature_count FROM gpkg_ogr_contents WHERE table_name=?", (self.table,)
            )
            .fetchone()
        )
        if row is not None and row[0] is not None:
            return int(row[0])
        sql = f"SELECT count(*) FROM {quote_identifier(self.table)}"  # noqa: S608
        return int(connection(self.path).execute(sql).fetchone()[0])

    def feature(
        self, object_id: int, fields: Sequence[str], with_geometry: bool
    ) -> tuple[dict[str, Any], Any] | None:
        """The attributes (of ``fields``) and geometry of one feature, or None."""
        columns = [quote_identifier(f) for f in fields]
        if with_geometry:
            columns.append('"Shape"')
        sql = (
            f"SELECT {', '.join(columns) or 'OBJECTID'} "  # noqa: S608
            f"FROM {quote_identifier(self.table)} WHERE OBJECTID=?"
        )
        row = connection(self.path).execute(sql, (object_id,)).fetchone()
        if row is None:
            return None
        attributes = dict(zip(fields, row[: len(fields)], strict=True))
        geometry = geometries([row[-1]])[0] if with_geometry else None
        return attributes, geometry
