"""The HTML query form of a layer, with its results as a table (Services Directory style)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from geosite.core.models import LayerDescription
from geosite.engines.query.geometry import SPATIAL_RELS
from geosite.errors import GeositeError
from geosite.http.errors import public_texts
from geosite.http.routing import Call, Reply

INPUTS = (
    ("where", "Where"),
    ("objectIds", "Object IDs"),
    ("geometry", "Input geometry"),
    ("geometryType", "Geometry type"),
    ("inSR", "Input spatial reference"),
    ("outFields", "Out fields"),
    ("orderByFields", "Order by fields"),
    ("resultOffset", "Result offset"),
    ("resultRecordCount", "Result record count"),
    ("outSR", "Output spatial reference"),
    ("geometryPrecision", "Geometry precision"),
)
FLAGS = (
    ("returnGeometry", "Return geometry"),
    ("returnCountOnly", "Return count only"),
    ("returnIdsOnly", "Return IDs only"),
    ("returnExtentOnly", "Return extent only"),
)
_SUBMITTED = (
    "where",
    "objectIds",
    "geometry",
    "outFields",
    "returnCountOnly",
    "returnIdsOnly",
    "returnExtentOnly",
)


def query_page(call: Call, layer: LayerDescription, run: Callable[[], dict[str, Any]]) -> Reply:
    """The form, and the answer of ``run`` when the form was submitted."""
    names = [name for name, _ in INPUTS] + [name for name, _ in FLAGS] + ["spatialRel"]
    values = {name: call.params.get(name) or "" for name in names}
    values.setdefault("returnGeometry", "true")
    if not values["returnGeometry"]:
        values["returnGeometry"] = "true"
    result: dict[str, Any] | None = None
    error: list[str] = []
    if any(call.params.get(name) is not None for name in _SUBMITTED):
        try:
            result = run()
        except GeositeError as exc:
            shown, details = public_texts(exc, call.request_id)
            error = shown + details
    given = {k: v for k, v in values.items() if v}
    return Reply(
        template="query.html",
        context={
            "title": f"Query: {layer.name}",
            "layer_name": layer.name,
            "layer_id": layer.id,
            "inputs": INPUTS,
            "flags": FLAGS,
            "spatial_rels": SPATIAL_RELS,
            "values": values,
            "result": result,
            "error": error,
            "show_geometry": values["returnGeometry"] == "true",
            "json_query": urlencode({**given, "f": "pjson"}),
            "geojson_query": urlencode({**given, "f": "geojson"}),
        },
    )
