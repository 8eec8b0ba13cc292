"""Features as ArcGIS clients read them: Esri JSON geometries and attribute values.

Polygons come out with ArcGIS ring orientation (outer rings clockwise, holes
counter-clockwise) whatever the source had; dates are epoch milliseconds.
"""

from __future__ import annotations

import datetime
import math
from typing import Any

import numpy as np
import shapely

from geosite.core.models import LayerDescription

_TYPE_POINT, _TYPE_LINE, _TYPE_POLYGON = 0, 1, 3
_TYPE_MULTIPOINT, _TYPE_MULTILINE, _TYPE_MULTIPOLYGON = 4, 5, 6


def _coords(coords: Any, precision: int | None) -> list[list[float]]:
    if precision is None:
        return [[float(x), float(y)] for x, y, *_ in coords]
    return [[round(float(x), precision), round(float(y), precision)] for x, y, *_ in coords]


def finite_shapes(shapes: list[Any]) -> list[Any]:
    """``shapes`` with None for each geometry that has a coordinate that is not a finite
    number (stored so by an older geosite or another program, or beyond the reach of the
    projection to ``outSR``): it is answered as a feature without geometry, never with
    ``NaN`` or ``Infinity`` (which JSON cannot carry)."""
    where = [i for i, shape in enumerate(shapes) if shape is not None]
    if not where:
        return shapes
    coords, index = shapely.get_coordinates([shapes[i] for i in where], return_index=True)
    bad = ~np.isfinite(coords).all(axis=1)
    if not bad.any():
        return shapes
    out = list(shapes)
    for k in np.unique(index[bad]).tolist():
        out[where[k]] = None
    return out


def finite_points(coords: np.ndarray) -> list[list[float] | None]:
    """Rows of an n by 2 array of points as [x, y], None where one is not finite."""
    keep = np.isfinite(coords).all(axis=1).tolist()
    return [xy if ok else None for xy, ok in zip(coords.tolist(), keep, strict=True)]


def esri_geometry(geometry: Any, precision: int | None = None) -> dict[str, Any] | None:
    """Esri JSON for a shapely geometry (None for a missing or empty one, or one with a
    coordinate that is not finite: ``finite_shapes``)."""
    if geometry is None or shapely.is_empty(geometry):
        return None
    if not np.isfinite(shapely.get_coordinates(geometry)).all():
        return None
    kind = shapely.get_type_id(geometry)
    if kind == _TYPE_POINT:
        x, y = _coords([geometry.coords[0]], precision)[0]
        return {"x": x, "y": y}
    if kind == _TYPE_MULTIPOINT:
        return {"points": [_coords(p.coords, precision)[0] for p in geometry.geoms]}
    if kind in (_TYPE_LINE, _TYPE_MULTILINE):
        lines = [geometry] if kind == _TYPE_LINE else list(geometry.geoms)
        return {"paths": [_coords(line.coords, precision) for line in lines]}
    if kind in (_TYPE_POLYGON, _TYPE_MULTIPOLYGON):
        oriented = shapely.orient_polygons(geometry, exterior_cw=True)
        polygons = [oriented] if kind == _TYPE_POLYGON else list(oriented.geoms)
        rings: list[list[list[float]]] = []
        for polygon in polygons:
            rings.append(_coords(polygon.exterior.coords, precision))
            rings.extend(_coords(hole.coords, precision) for hole in polygon.interiors)
        return {"rings": rings}
    return None


def _date_ms(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return int(value)
    text = str(value).replace("Z", "+00:00")
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return int(moment.timestamp() * 1000)


def esri_value(field_type: str, value: Any) -> Any:
    """A stored value as the Esri JSON of its field type (dates in ms, no NaN)."""
    if value is None:
        return None
    if field_type == "esriFieldTypeDate":
        return _date_ms(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bytes):
        return None
    return value


def display_field(layer: LayerDescription) -> str:
    """The field that names a feature: ``name`` in any case, else the first text field, else
    the object id."""
    names = [str(f["name"]) for f in layer.fields if f["type"] == "esriFieldTypeString"]
    for name in names:
        if name.lower() == "name":
            return name
    return names[0] if names else layer.object_id_field


def esri_attributes(fields: list[dict[str, Any]], values: dict[str, Any]) -> dict[str, Any]:
    """Attributes converted field by field (``fields`` is the layer's Esri field list)."""
    types = {f["name"]: f["type"] for f in fields}
    return {name: esri_value(types.get(name, ""), value) for name, value in values.items()}


def esri_geometries(shapes: list[Any], precision: int | None = None) -> list[dict[str, Any] | None]:
    """Esri JSON for many geometries; points are converted in one vectorized pass."""
    if not shapes:
        return []
    shapes = finite_shapes(shapes)
    array = np.array(shapes, dtype=object)
    present = ~shapely.is_missing(array)
    points = present.copy()
    points[present] = (shapely.get_type_id(array[present]) == _TYPE_POINT) & ~shapely.is_empty(
        array[present]
    )
    out: list[dict[str, Any] | None] = [None] * len(shapes)
    if points.any():
        coords = shapely.get_coordinates(array[points])
        if precision is not None:
            coords = np.round(coords, precision)
        for index, (x, y) in zip(np.flatnonzero(points).tolist(), coords.tolist(), strict=True):
            out[index] = {"x": x, "y": y}
    for index in np.flatnonzero(present & ~points).tolist():
        out[index] = esri_geometry(shapes[index], precision)
    return out


def attribute_rows(
    fields: list[dict[str, Any]], names: list[str], rows: list[tuple[Any, ...]]
) -> list[dict[str, Any]]:
    """Attributes of many rows read from SQLite (which never returns NaN); dates become ms."""
    types = {f["name"]: f["type"] for f in fields}
    dates = [i for i, name in enumerate(names) if types.get(name) == "esriFieldTypeDate"]
    width = len(names)
    if not dates:
        # Rows may carry more columns (the geometry, a hidden id) after the named ones;
        # zip stops at the end of ``names``.
        return [dict(zip(names, row)) for row in rows]  # noqa: B905
    out = []
    for row in rows:
        values = list(row[:width])
        for i in dates:
            values[i] = _date_ms(values[i])
        out.append(dict(zip(names, values, strict=True)))
    return out
