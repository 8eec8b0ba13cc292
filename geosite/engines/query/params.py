"""ArcGIS query parameters, validated into a ``QuerySpec``.

The HTTP layer hands in a getter for the request's merged parameters; everything here is
checked against the layer's fields and the grammar, so the executor only sees safe values.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from geosite.data.spatial_reference import SpatialReference, resolve
from geosite.engines.query.geometry import SPATIAL_RELS, QueryGeometry, parse_query_geometry
from geosite.engines.query.statistics import Aggregation, parse_aggregation, parse_distinct
from geosite.engines.query.where import Logical, Node, parse_where
from geosite.errors import invalid_parameter
from geosite.integers import INT32_MAX, whole

Getter = Callable[[str], str | None]
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")


@dataclass(frozen=True)
class QuerySpec:
    """A validated query against one layer."""

    where: Node | None
    object_ids: tuple[int, ...] | None
    out_fields: tuple[str, ...]
    return_geometry: bool
    order_by: tuple[tuple[str, str], ...]
    offset: int
    limit: int
    record_count: int | None
    geometry: QueryGeometry | None
    in_sr: SpatialReference | None
    spatial_rel: str
    out_sr: SpatialReference | None
    precision: int | None
    count_only: bool
    ids_only: bool
    extent_only: bool
    max_allowable_offset: float | None = None
    aggregation: Aggregation | None = None
    distinct: bool = False


def _bool(get: Getter, name: str, default: bool) -> bool:
    value = get(name)
    if value is None:
        return default
    folded = value.strip().lower()
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    raise invalid_parameter(name, "Expected true or false.")


def _int(get: Getter, name: str, minimum: int = 0) -> int | None:
    """Offsets, counts and precisions: whole numbers up to 2**31 - 1 (none needs more)."""
    value = get(name)
    if value is None:
        return None
    number = whole(value)
    if number is None:
        raise invalid_parameter(name, "Expected an integer.")
    if not minimum <= number <= INT32_MAX:
        raise invalid_parameter(name, f"Expected an integer from {minimum} to {INT32_MAX}.")
    return number


def _field_map(fields: Sequence[dict[str, Any]]) -> dict[str, str]:
    return {str(f["name"]).lower(): str(f["name"]) for f in fields}


def object_id_field(fields: Sequence[dict[str, Any]]) -> str:
    """The name of the layer's object id field (``OBJECTID`` in what geosite publishes; a
    table published by reference keeps its own key's name)."""
    for spec in fields:
        if spec.get("type") == "esriFieldTypeOID":
            return str(spec["name"])
    return "OBJECTID"


def _out_fields(get: Getter, fields: Sequence[dict[str, Any]]) -> tuple[str, ...]:
    raw = get("outFields")
    names = _field_map(fields)
    if raw is None:
        return (object_id_field(fields),)
    wanted = [p.strip() for p in raw.split(",") if p.strip()]
    if "*" in wanted:
        return tuple(str(f["name"]) for f in fields)
    out: list[str] = []
    for name in wanted:
        found = names.get(name.lower())
        if found is None:
            raise invalid_parameter("outFields", f"Unknown field '{name[:64]}'.")
        if found not in out:
            out.append(found)
    return tuple(out) or (object_id_field(fields),)


def _order_by(get: Getter, fields: Sequence[dict[str, Any]]) -> tuple[tuple[str, str], ...]:
    raw = get("orderByFields")
    names = _field_map(fields)
    order: list[tuple[str, str]] = []
    for part in (raw or "").split(","):
        words = part.split()
        if not words:
            continue
        if len(words) > 2:
            raise invalid_parameter("orderByFields", f"Cannot order by '{part.strip()[:64]}'.")
        found = names.get(words[0].lower())
        if found is None:
            raise invalid_parameter("orderByFields", f"Unknown field '{words[0][:64]}'.")
        direction = words[1].upper() if len(words) == 2 else "ASC"
        if direction not in ("ASC", "DESC"):
            raise invalid_parameter("orderByFields", f"Unknown direction '{words[1][:16]}'.")
        order.append((found, direction))
    oid = object_id_field(fields)
    if not any(name == oid for name, _ in order):
        order.append((oid, "ASC"))  # a stable order makes offset paging exact
    return tuple(order)


def _object_ids(get: Getter) -> tuple[int, ...] | None:
    raw = get("objectIds")
    if raw is None:
        return None
    parts = [p for p in raw.split(",") if p.strip()]
    if len(parts) > 100_000:
        raise invalid_parameter("objectIds", "Too many object ids.")
    ids = []
    for part in parts:
        number = whole(part)
        if number is None:
            raise invalid_parameter("objectIds", "Expected a comma-separated list of integers.")
        if abs(number) > INT32_MAX:
            raise invalid_parameter("objectIds", "Object ids are 32-bit integers.")
        ids.append(number)
    return tuple(ids)


def _offset(get: Getter) -> float | None:
    raw = get("maxAllowableOffset")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise invalid_parameter("maxAllowableOffset", "Expected a number.") from None
    if not value >= 0 or value == float("inf"):
        raise invalid_parameter("maxAllowableOffset", "Expected a positive number.")
    return value or None


def parse_query(get: Getter, fields: Sequence[dict[str, Any]], max_records: int) -> QuerySpec:
    """Validate the query parameters of one request against a layer."""
    if (get("sqlFormat") or "").lower() == "native":
        raise invalid_parameter(
            "sqlFormat", "Native SQL is not accepted; use standardized queries."
        )
    geometry = parse_query_geometry(get)
    geometry_sr = geometry.spatial_reference if geometry else None
    in_sr = get("inSR")
    spatial_rel = get("spatialRel") or "esriSpatialRelIntersects"
    if spatial_rel not in SPATIAL_RELS:
        raise invalid_parameter("spatialRel", f"'{spatial_rel[:40]}' is not supported yet.")
    out_sr = get("outSR")
    precision = _int(get, "geometryPrecision")
    requested = _int(get, "resultRecordCount", minimum=1)
    aggregation = parse_aggregation(get, fields)
    out_fields = _out_fields(get, fields)
    distinct = aggregation is None and parse_distinct(get, out_fields)
    if aggregation is not None:
        order_by = aggregation.order_by
    elif distinct:
        order_by = tuple(o for o in _order_by(get, fields) if o[0] in out_fields) or tuple(
            (name, "ASC") for name in out_fields
        )
    else:
        order_by = _order_by(get, fields)
    return QuerySpec(
        where=parse_where(get("where"), fields),
        object_ids=_object_ids(get),
        out_fields=out_fields,
        return_geometry=_bool(get, "returnGeometry", True),
        order_by=order_by,
        offset=_int(get, "resultOffset") or 0,
        limit=min(requested or max_records, max_records),
        record_count=requested,
        geometry=geometry,
        in_sr=(
            resolve(in_sr, "inSR")
            if in_sr
            else resolve(geometry_sr, "geometry")
            if geometry_sr
            else None
        ),
        spatial_rel=spatial_rel,
        out_sr=resolve(out_sr, "outSR") if out_sr else None,
        precision=min(precision, 17) if precision is not None else None,
        count_only=_bool(get, "returnCountOnly", False),
        ids_only=_bool(get, "returnIdsOnly", False),
        extent_only=_bool(get, "returnExtentOnly", False),
        max_allowable_offset=_offset(get),
        aggregation=aggregation,
        distinct=distinct,
    )


def narrowed(spec: QuerySpec, condition: Node) -> QuerySpec:
    """``spec`` with ``condition`` added to its ``where`` (both must hold)."""
    where = condition if spec.where is None else Logical("AND", spec.where, condition)
    return dataclasses.replace(spec, where=where)
