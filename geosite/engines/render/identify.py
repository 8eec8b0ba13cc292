"""A map service's ``identify`` and ``find`` (services-api §5.3, §5.4), run as layer queries.

Both are answered by the query engine (``LayerQuery``): identify asks each chosen layer for
what intersects the clicked geometry, grown by ``tolerance`` pixels of the map's display;
find asks each layer for rows whose search fields hold the text, with a ``where`` tree built
here (``UPPER(field) LIKE pattern``, or ``field = text`` for an exact match; the text a
bound parameter), then keeps only the rows
whose values really hold it (the pattern's ``%`` and ``_`` in a search text match more).

By default attribute keys are field aliases and values formatted text, as ArcGIS answers;
``returnFieldName`` and ``returnUnformattedValues`` ask for names and raw values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import shapely

from geosite.core.drawing import NUMERIC_TYPES
from geosite.core.models import LayerDescription
from geosite.data.source import FeatureSource
from geosite.engines.features import display_field
from geosite.engines.query.execute import LayerQuery
from geosite.engines.query.geometry import parse_query_geometry
from geosite.engines.query.params import narrowed, parse_query
from geosite.engines.query.where import Compare, Field, Function, Like, Literal, Logical, Node
from geosite.engines.render.params import (
    Getter,
    parse_bool,
    parse_box,
    parse_definitions,
    parse_layer_ids,
)
from geosite.errors import invalid_parameter
from geosite.integers import whole

Sources = Callable[[LayerDescription], FeatureSource]
#: ``identify`` or ``find``: (parameters, layers, their sources, maxRecordCount, now) -> JSON.
Operation = Callable[[Getter, Sequence[LayerDescription], Sources, int, int], dict[str, Any]]
_TEXT_TYPES = ("esriFieldTypeString", "esriFieldTypeGUID", "esriFieldTypeGlobalID")
#: The most characters of a search text.
MAX_SEARCH_TEXT = 1000


def _shown(field: dict[str, Any], value: Any) -> str:
    """A value as ArcGIS's identify and find show it by default."""
    if value is None:
        return "Null"
    if field["type"] == "esriFieldTypeDate" and isinstance(value, int | float):
        moment = datetime.fromtimestamp(value / 1000, UTC)
        return f"{moment.month}/{moment.day}/{moment.year} {moment.strftime('%I:%M:%S %p')}"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


@dataclass(frozen=True)
class Shaping:
    """How results show attributes: by name or alias, raw or formatted."""

    names: bool = False
    raw: bool = False

    @classmethod
    def of(cls, get: Getter) -> Shaping:
        """From ``returnFieldName`` and ``returnUnformattedValues``."""
        return cls(
            parse_bool(get, "returnFieldName", False),
            parse_bool(get, "returnUnformattedValues", False),
        )

    def attributes(self, layer: LayerDescription, values: dict[str, Any]) -> dict[str, Any]:
        """A feature's attributes as the result shows them."""
        out = {}
        for field in layer.fields:
            name = str(field["name"])
            if name not in values:
                continue
            key = name if self.names else str(field.get("alias") or name)
            out[key] = values[name] if self.raw else _shown(field, values[name])
        return out


def _result(
    layer: LayerDescription, feature: dict[str, Any], shaping: Shaping, sr: dict[str, Any]
) -> dict[str, Any]:
    shown = display_field(layer)
    values = feature.get("attributes") or {}
    display = layer.field(shown) or {"type": "esriFieldTypeString"}
    out = {
        "layerId": layer.id,
        "layerName": layer.name,
        "displayFieldName": shown,
        "value": _shown(display, values.get(shown)),
        "attributes": shaping.attributes(layer, values),
        "geometryType": layer.geometry_type,
    }
    if feature.get("geometry") is not None:
        out["geometry"] = {**feature["geometry"], "spatialReference": sr}
    return out


def _overriding(get: Getter, values: dict[str, str | None]) -> Getter:
    def getter(name: str) -> str | None:
        return values[name] if name in values else get(name)

    return getter


def _chosen_layers(raw: str | None, layers: Sequence[LayerDescription]) -> tuple[str, list[int]]:
    """(``top``/``visible``/``all``, the layer ids) of identify's ``layers``."""
    every = [layer.id for layer in layers]
    text = (raw or "top").strip()
    mode, _, listed = text.partition(":")
    mode = mode.strip().lower()
    if mode not in ("top", "visible", "all"):
        raise invalid_parameter("layers", "Expected top, visible or all, then :ids.")
    if not listed.strip():
        return mode, every
    ids = parse_layer_ids(listed, every)
    return mode, [i for i in every if i in ids]


def _tolerance(get: Getter) -> float:
    """Map units per pixel times ``tolerance`` (0 without a map extent and display)."""
    raw = get("tolerance")
    pixels = 0.0
    if raw is not None and raw.strip():
        try:
            pixels = float(raw)
        except ValueError:
            raise invalid_parameter("tolerance", "Expected a number of pixels.") from None
        if not (math.isfinite(pixels) and 0 <= pixels <= 1000):
            raise invalid_parameter("tolerance", "Expected 0 to 1000 pixels.")
    extent_text, display = get("mapExtent"), get("imageDisplay")
    if not pixels or extent_text is None or display is None:
        return 0.0
    xmin, _ymin, xmax, _ymax = parse_box(extent_text, "mapExtent")
    parts = display.split(",")
    width = whole(parts[0].strip()) if parts and parts[0].strip() else None
    if width is None or width <= 0 or len(parts) not in (2, 3):
        raise invalid_parameter("imageDisplay", "Expected width,height,dpi.")
    return pixels * (xmax - xmin) / width


def identify(
    get: Getter,
    layers: Sequence[LayerDescription],
    sources: Sources,
    max_records: int,
    now_ms: int,
) -> dict[str, Any]:
    """``identify``: features of the chosen layers at the given geometry."""
    if get("geometry") is None:
        raise invalid_parameter("geometry", "'geometry' is required.")
    found = parse_query_geometry(
        _overriding(get, {"geometryType": get("geometryType") or "esriGeometryPoint"})
    )
    assert found is not None
    mode, chosen = _chosen_layers(get("layers"), layers)
    definitions = parse_definitions(get("layerDefs"), layers)
    grow = _tolerance(get)
    own = found.spatial_reference
    sr_text = get("sr") or (orjson.dumps(own).decode() if isinstance(own, dict | int) else None)
    query: dict[str, str | None] = {
        "inSR": sr_text,
        "outSR": sr_text,
        "outFields": "*",
        "spatialRel": "esriSpatialRelIntersects",
        "returnGeometry": get("returnGeometry") or "true",
        "resultRecordCount": None,
        "resultOffset": None,
        "orderByFields": None,
        "objectIds": None,
        "distance": None,
    }
    if found.shape.geom_type in ("Point", "MultiPoint"):
        xmin, ymin, xmax, ymax = shapely.bounds(found.shape)
        query["geometry"] = f"{xmin - grow},{ymin - grow},{xmax + grow},{ymax + grow}"
        query["geometryType"] = "esriGeometryEnvelope"
    shaping = Shaping.of(get)
    results: list[dict[str, Any]] = []
    exceeded = False
    by_id = {layer.id: layer for layer in layers}
    for layer_id in chosen:
        layer = by_id[layer_id]
        where = definitions.get(layer_id)
        spec = parse_query(
            _overriding(get, {**query, "where": None}), list(layer.fields), max_records
        )
        if where is not None:
            spec = narrowed(spec, where)
        answer = LayerQuery(sources(layer), spec, now_ms).run("json")
        sr = answer.get("spatialReference") or layer.spatial_reference
        results.extend(_result(layer, f, shaping, sr) for f in answer.get("features", []))
        exceeded = exceeded or bool(answer.get("exceededTransferLimit"))
        if mode == "top" and results:
            break
    return {"results": results, "exceededTransferLimit": exceeded}


def search_tree(fields: Sequence[dict[str, Any]], text: str, contains: bool) -> Node:
    """``UPPER(f1) LIKE p OR ...`` (a substring, any case), or ``f1 = t OR ...`` (an exact,
    case-sensitive match, as ArcGIS's ``contains=false``); the text is a literal, bound."""
    tests: list[Node] = []
    for f in fields:
        field = Field(str(f["name"]), str(f["type"]))
        if contains:
            upper = Function("UPPER", (field,))
            tests.append(Like(upper, Literal(f"%{text.upper()}%"), None, False))
        elif f["type"] in NUMERIC_TYPES:
            number = _number(text)
            if number is not None:  # a number field equals a text that is that number
                tests.append(Compare("=", field, Literal(number)))
        else:
            tests.append(Compare("=", field, Literal(text)))
    if not tests:
        return Compare("=", Literal(1), Literal(0))
    tree = tests[0]
    for test in tests[1:]:
        tree = Logical("OR", tree, test)
    return tree


def _number(text: str) -> int | float | None:
    """The number a search text is, if it is one (finite)."""
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    return int(value) if value.is_integer() and "." not in text else value


def _holds(value: Any, text: str, contains: bool) -> bool:
    if value is None:
        return False
    if contains:
        return text.upper() in str(value).upper()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value == _number(text)
    return str(value) == text


def find(
    get: Getter,
    layers: Sequence[LayerDescription],
    sources: Sources,
    max_records: int,
    now_ms: int,
) -> dict[str, Any]:
    """``find``: features of the listed layers whose search fields hold ``searchText``."""
    text = get("searchText")
    if text is None or not text.strip():
        raise invalid_parameter("searchText", "'searchText' is required.")
    if len(text) > MAX_SEARCH_TEXT:
        raise invalid_parameter("searchText", "The search text is too long.")
    contains = parse_bool(get, "contains", True)
    listed = get("layers")
    if listed is None or not listed.strip():
        raise invalid_parameter("layers", "'layers' is required (layer ids).")
    by_id = {layer.id: layer for layer in layers}
    chosen = parse_layer_ids(listed, list(by_id))
    if not chosen:
        raise invalid_parameter("layers", "'layers' is required (layer ids).")
    wanted = [s.strip().lower() for s in (get("searchFields") or "").split(",") if s.strip()]
    definitions = parse_definitions(get("layerDefs"), layers)
    shaping = Shaping.of(get)
    query: dict[str, str | None] = {
        "geometry": None,
        "outSR": get("sr"),
        "outFields": "*",
        "returnGeometry": get("returnGeometry") or "true",
        "where": None,
        "resultRecordCount": None,
        "resultOffset": None,
        "orderByFields": None,
        "objectIds": None,
    }
    results = []
    for layer_id in dict.fromkeys(chosen):
        layer = by_id[layer_id]
        fields = [
            f
            for f in layer.fields
            if (str(f["name"]).lower() in wanted if wanted else f["type"] in _TEXT_TYPES)
        ]
        if not fields:
            continue
        spec = parse_query(_overriding(get, query), list(layer.fields), max_records)
        spec = narrowed(spec, search_tree(fields, text, contains))
        if layer_id in definitions:
            spec = narrowed(spec, definitions[layer_id])
        answer = LayerQuery(sources(layer), spec, now_ms).run("json")
        sr = answer.get("spatialReference") or layer.spatial_reference
        for feature in answer.get("features", []):
            values = feature.get("attributes") or {}
            for field in fields:
                name = str(field["name"])
                if _holds(values.get(name), text, contains):
                    result = _result(layer, feature, shaping, sr)
                    result["foundFieldName"] = name
                    result["value"] = _shown(field, values.get(name))
                    results.append(result)
                    break
    return {"results": results}


def text_condition(layer: LayerDescription, text: str | None) -> Node | None:
    """A map layer query's ``text``: its display field holds the text (``LIKE '%text%'``,
    the text a bound literal); None without a text."""
    if text is None or text == "":
        return None
    if len(text) > MAX_SEARCH_TEXT:
        raise invalid_parameter("text", "The search text is too long.")
    name = display_field(layer)
    field = layer.field(name) or {"name": name, "type": "esriFieldTypeString"}
    return Like(Field(name, str(field["type"])), Literal(f"%{text}%"), None, False)
