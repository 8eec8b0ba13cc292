"""Importing a user's file into a GeoPackage the site owns, with pyogrio (GDAL).

Every source layer becomes one GeoPackage table with a stable 32-bit ``OBJECTID`` (the
GeoPackage feature id), a ``Shape`` geometry column with an R*Tree index, field names that the
query grammar accepts, and the source coordinate system. Lines and polygons are stored as
their multi types (Esri geometries make no single/multi distinction). OBJECTIDs follow the
source's row order, except in layers of ``SPATIAL_ORDER_MIN`` features or more, whose rows
are stored (and numbered) in spatial order.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import pyogrio.raw
import shapely
from pyogrio.errors import DataLayerError, DataSourceError, FieldError, GeometryError
from pyproj import CRS
from pyproj.exceptions import CRSError

from geosite.data.spatial_reference import from_crs
from geosite.errors import InvalidParameter, redact

OBJECTID = "OBJECTID"
SHAPE = "Shape"
_IDENTIFIER = re.compile(r"[^A-Za-z0-9_]")
_CSV_OPTIONS = {
    "X_POSSIBLE_NAMES": "x,lon,long,longitude,lng",
    "Y_POSSIBLE_NAMES": "y,lat,latitude",
    "KEEP_GEOM_COLUMNS": "NO",
    "AUTODETECT_TYPE": "YES",
}
_ESRI_GEOMETRY = {
    "Point": ("esriGeometryPoint", "Point"),
    "MultiPoint": ("esriGeometryMultipoint", "MultiPoint"),
    "LineString": ("esriGeometryPolyline", "MultiLineString"),
    "MultiLineString": ("esriGeometryPolyline", "MultiLineString"),
    "Polygon": ("esriGeometryPolygon", "MultiPolygon"),
    "MultiPolygon": ("esriGeometryPolygon", "MultiPolygon"),
}
_INT32 = (-(2**31), 2**31 - 1)
SPATIAL_ORDER_MIN = 10_000
"""Layers with at least this many features are stored in spatial order (see ``spatial_order``)."""


def find_datasets(root: Path) -> list[Path]:
    """The datasets GDAL can open in a file or an extracted archive."""
    if root.is_file():
        return [root]
    found: list[Path] = []
    for path in sorted(root.rglob("*")):
        if any(part.lower().endswith(".gdb") for part in path.relative_to(root).parts[:-1]):
            continue  # inside a file geodatabase: the .gdb directory is the dataset
        suffix = path.suffix.lower()
        if (path.is_dir() and suffix == ".gdb") or (
            path.is_file() and suffix in (".shp", ".geojson", ".json", ".gpkg", ".csv")
        ):
            found.append(path)
    if not found:
        raise InvalidParameter(
            "No data found to publish.",
            details=["Upload a zipped shapefile, GeoJSON, GeoPackage, CSV or file geodatabase."],
        )
    return found


def spatial_reference(crs: CRS | None) -> dict[str, Any]:
    """Esri JSON spatial reference of a CRS (``wkid``/``latestWkid``, or ``wkt``).

    EPSG and ESRI codes both count (a shapefile in ESRI:102003 is published as wkid 102003);
    a CRS that is neither geographic nor projected cannot be queried, so it is refused.
    """
    if crs is None:
        return {"wkid": 4326, "latestWkid": 4326}
    try:
        return from_crs(crs).to_json()
    except InvalidParameter:
        raise InvalidParameter(
            "The data's coordinate system is neither geographic nor projected.",
            details=[str(crs.name)[:200]],
        ) from None


def _field_name(name: str, taken: set[str]) -> str:
    cleaned = _IDENTIFIER.sub("_", name.strip()) or "field"
    if cleaned[0].isdigit():
        cleaned = "F_" + cleaned
    candidate, n = cleaned[:60], 1
    while candidate.lower() in taken:
        candidate = f"{cleaned[:56]}_{n}"
        n += 1
    taken.add(candidate.lower())
    return candidate


def _convert_field(name: str, values: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    kind = values.dtype.kind
    field: dict[str, Any] = {"name": name, "alias": name, "nullable": True}
    if kind == "b":
        return values.astype("int16"), {**field, "type": "esriFieldTypeSmallInteger"}
    if kind in "iu":
        if values.dtype.itemsize <= 2 and kind == "i":
            return values, {**field, "type": "esriFieldTypeSmallInteger"}
        if values.size == 0 or (values.min() >= _INT32[0] and values.max() <= _INT32[1]):
            return values.astype("int32"), {**field, "type": "esriFieldTypeInteger"}
        return values.astype("float64"), {**field, "type": "esriFieldTypeDouble"}
    if kind == "f":
        esri = "esriFieldTypeSingle" if values.dtype.itemsize == 4 else "esriFieldTypeDouble"
        return values, {**field, "type": esri}
    if kind == "M":
        return values, {**field, "type": "esriFieldTypeDate", "length": 8}
    texts = [v for v in values if v is not None]
    if any(not isinstance(v, str) for v in texts):
        raise InvalidParameter(f"Field '{name}' has values of a type that cannot be published.")
    longest = max((len(v) for v in texts), default=1)
    return values, {**field, "type": "esriFieldTypeString", "length": max(255, longest)}


_GUID = re.compile(r"^\{?[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}\}?$")


def _global_id(values: np.ndarray, field: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
    """A ``GlobalID`` text field of GUIDs becomes the layer's esriFieldTypeGlobalID field.

    Its values are written ArcGIS's way (in capitals, in braces); a missing one gets a
    new GUID (a GlobalID is never null).
    """
    if field["name"].lower() != "globalid" or field["type"] != "esriFieldTypeString":
        return values, field
    texts = [v for v in values if v is not None]
    if not all(isinstance(v, str) and _GUID.match(v) for v in texts):
        return values, field
    ids = [
        "{" + (v.strip("{}") if v is not None else str(uuid.uuid4())).upper() + "}" for v in values
    ]
    return np.array(ids, dtype=object), {
        **field,
        "type": "esriFieldTypeGlobalID",
        "length": 38,
        "nullable": False,
    }


def _gpkg_domains(dataset: Path, layer: str) -> dict[str, dict[str, Any]]:
    """Field domains of a GeoPackage layer (the schema extension, as GDAL writes a file
    geodatabase's coded-value and range domains): column name (lower case) -> domain."""
    found: dict[str, dict[str, Any]] = {}
    try:
        with contextlib.closing(sqlite3.connect(f"file:{dataset}?mode=ro", uri=True)) as conn:
            columns = conn.execute(
                "SELECT column_name, constraint_name FROM gpkg_data_columns "
                "WHERE lower(table_name) = lower(?) AND constraint_name IS NOT NULL",
                (layer,),
            ).fetchall()
            for column, constraint in columns:
                rows = conn.execute(
                    "SELECT constraint_type, value, min, max, description "
                    "FROM gpkg_data_column_constraints WHERE constraint_name = ?",
                    (constraint,),
                ).fetchall()
                codes = [(r[1], r[4]) for r in rows if r[0] == "enum" and r[1] is not None]
                ranges = [(r[2], r[3]) for r in rows if r[0] == "range"]
                if codes:
                    found[str(column).lower()] = {
                        "type": "codedValue",
                        "name": str(constraint),
                        "codedValues": [{"name": d or v, "code": v} for v, d in codes],
                    }
                elif ranges and None not in ranges[0]:
                    found[str(column).lower()] = {
                        "type": "range",
                        "name": str(constraint),
                        "range": [ranges[0][0], ranges[0][1]],
                    }
    except sqlite3.Error:
        return {}  # no schema extension: no domains
    return found


def unreadable(exc: Exception) -> InvalidParameter:
    """The answer to data GDAL could not read: its words without server paths or SQL (all of
    them go to the log, as the error's private detail)."""
    text = str(exc)
    if "SHAPE_RESTORE_SHX" in text or ".shx" in text.lower():
        why: str | None = (
            "The shapefile's .shx file is missing: zip the .shp, .shx, .dbf and .prj together."
        )
    else:
        why = redact(text.split("\n")[0][:300])
    return InvalidParameter(
        "The data could not be read.", details=[why] if why else [], private=[text]
    )


def _typed_domain(domain: dict[str, Any], field_type: str) -> dict[str, Any] | None:
    """The domain with its codes as the field's type (the extension stores them as text)."""
    cast: Any = {
        "esriFieldTypeSmallInteger": int,
        "esriFieldTypeInteger": int,
        "esriFieldTypeDouble": float,
        "esriFieldTypeSingle": float,
        "esriFieldTypeString": str,
    }.get(field_type)
    if cast is None:
        return None
    try:
        if domain["type"] == "codedValue":
            values = [{**c, "code": cast(c["code"])} for c in domain["codedValues"]]
            return {**domain, "codedValues": values}
        return {**domain, "range": [float(v) for v in domain["range"]]}
    except (TypeError, ValueError):
        return None


def _geometry_type(declared: str | None, geometry: np.ndarray) -> tuple[str, str]:
    name = (declared or "Unknown").replace(" Z", "").replace(" M", "").replace("2.5D ", "")
    if name not in _ESRI_GEOMETRY:
        if len(geometry) == 0:
            raise InvalidParameter("A layer is empty and declares no geometry type.")
        kinds = {shapely.get_type_id(g) for g in shapely.from_wkb(geometry) if g is not None}
        families = {
            0: "Point",
            4: "MultiPoint",
            1: "LineString",
            5: "MultiLineString",
            3: "Polygon",
            6: "MultiPolygon",
        }
        names = {families.get(k, "Other") for k in kinds}
        if names <= {"Polygon", "MultiPolygon"} and names:
            name = "MultiPolygon"
        elif names <= {"LineString", "MultiLineString"} and names:
            name = "MultiLineString"
        elif len(names) == 1 and "Other" not in names:
            name = names.pop()
        else:
            raise InvalidParameter("A layer mixes geometry types; publish one type per layer.")
    return _ESRI_GEOMETRY[name]


def _spread_bits(values: np.ndarray) -> np.ndarray:
    """Each of the 16 low bits of ``values`` moved to an even position (0, 2, 4, ...)."""
    v = values.astype(np.uint64) & np.uint64(0xFFFF)
    for shift, mask in ((8, 0x00FF00FF), (4, 0x0F0F0F0F), (2, 0x33333333), (1, 0x55555555)):
        v = (v | (v << np.uint64(shift))) & np.uint64(mask)
    return v


def spatial_order(shapes: np.ndarray) -> np.ndarray:
    """Row order along a Z-order (Morton) curve through the centres of the shapes' boxes.

    Stored in this order, features that are near each other share database pages, so an
    area query reads a few pages instead of one page per feature (ArcGIS Pro's Sort tool
    offers the same for the same reason). Missing and empty geometries go last; ties keep
    the source order.
    """
    bounds = shapely.bounds(shapes)
    x = (bounds[:, 0] + bounds[:, 2]) / 2
    y = (bounds[:, 1] + bounds[:, 3]) / 2
    present = np.isfinite(x) & np.isfinite(y)
    if not present.any():
        return np.arange(len(shapes))
    grid = []
    for axis in (x, y):
        low, high = float(axis[present].min()), float(axis[present].max())
        scaled = (axis - low) / ((high - low) or 1.0) * 65535.0
        grid.append(np.where(present, scaled, 0).astype(np.uint64))
    key = _spread_bits(grid[0]) | (_spread_bits(grid[1]) << np.uint64(1))
    key = np.where(present, key, np.uint64(2**32))
    return np.argsort(key, kind="stable")


def _read(path: Path, layer: str) -> tuple[dict[str, Any], np.ndarray, list[np.ndarray]]:
    options = _CSV_OPTIONS if path.suffix.lower() == ".csv" else {}
    meta, _fids, geometry, fields = pyogrio.raw.read(path, layer=layer, **options)
    if geometry is None:
        raise InvalidParameter(f"Layer '{layer}' has no geometry; tables are not supported yet.")
    return meta, geometry, fields


def import_dataset(source: Path, target: Path) -> list[dict[str, Any]]:
    """Import every layer under ``source`` into the GeoPackage ``target``; returns the layers.

    Each returned dict holds ``id``, ``name``, ``table``, ``geometryType``, ``fields`` (Esri
    field JSON, ``OBJECTID`` first), ``spatialReference``, ``extent`` and ``count``.
    """
    layers: list[dict[str, Any]] = []
    tables: set[str] = set()
    try:
        for dataset in find_datasets(source):
            for layer_name, _kind in pyogrio.list_layers(dataset):
                layers.append(_import_layer(dataset, str(layer_name), target, len(layers), tables))
    except (DataSourceError, DataLayerError, FieldError, GeometryError, CRSError) as exc:
        raise unreadable(exc) from None
    if layers:
        # Edits commit to a write-ahead log: readers of other processes never wait for them.
        with contextlib.closing(sqlite3.connect(target)) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
    return layers


def _import_layer(
    dataset: Path, layer_name: str, target: Path, layer_id: int, tables: set[str]
) -> dict[str, Any]:
    meta, geometry, columns = _read(dataset, layer_name)
    esri_type, gpkg_type = _geometry_type(meta.get("geometry_type"), geometry)
    crs = CRS.from_user_input(meta["crs"]) if meta.get("crs") else CRS.from_epsg(4326)
    taken = {OBJECTID.lower(), SHAPE.lower()}
    converted, fields = [], []
    domains = _gpkg_domains(dataset, layer_name) if dataset.suffix.lower() == ".gpkg" else {}
    for name, values in zip(meta["fields"], columns, strict=True):
        data, field = _convert_field(_field_name(str(name), taken), values)
        data, field = _global_id(data, field)
        domain = domains.get(str(name).lower())
        if domain is not None:
            field["domain"] = _typed_domain(domain, field["type"])
        converted.append(data)
        fields.append(field)
    table = _field_name(Path(layer_name).stem or "layer", tables)
    shapes = shapely.from_wkb(geometry)
    if len(geometry) >= SPATIAL_ORDER_MIN:
        order = spatial_order(shapes)
        geometry, shapes = geometry[order], shapes[order]
        converted = [values[order] for values in converted]
    pyogrio.raw.write(
        target,
        geometry,
        converted,
        [f["name"] for f in fields],
        layer=table,
        driver="GPKG",
        geometry_type=gpkg_type,
        crs=crs.to_wkt(),
        promote_to_multi=gpkg_type.startswith("Multi"),
        append=target.exists(),
        layer_options={"FID": OBJECTID, "GEOMETRY_NAME": SHAPE, "SPATIAL_INDEX": "YES"},
    )
    bounds = shapely.total_bounds(shapes)
    srs = spatial_reference(crs)
    oid = {"name": OBJECTID, "type": "esriFieldTypeOID", "alias": OBJECTID, "nullable": False}
    return {
        "id": layer_id,
        "name": Path(layer_name).stem or table,
        "table": table,
        "geometryType": esri_type,
        "fields": [oid, *fields],
        "spatialReference": srs,
        "extent": {
            "xmin": float(bounds[0]),
            "ymin": float(bounds[1]),
            "xmax": float(bounds[2]),
            "ymax": float(bounds[3]),
            "spatialReference": srs,
        },
        "count": len(geometry),
    }
