"""A map service's drawing: each layer's ``LayerDrawing``, kept in the service's definition
under ``drawingInfo`` (by layer id) and edited with the service's ``edit`` operation.

Layers without a stored drawing are drawn with the default for their geometry type. The
stored JSON is always the canonical form ``LayerDrawing.to_json`` writes, checked when it was
edited, so reading it back cannot fail on a value an administrator typed.
"""

from __future__ import annotations

from typing import Any

from geosite.core.drawing import (
    DrawnLayer,
    LayerDrawing,
    default_drawing,
    parse_drawing,
    parse_service_drawing,
)
from geosite.core.models import Service
from geosite.core.services import MAP_SERVER
from geosite.errors import InvalidParameter

DRAWING_KEY = "drawingInfo"
#: The property that gives a map service a tile cache (``"true"``), as ArcGIS names it.
CACHED_KEY = "isCached"


def is_cached(service: Service) -> bool:
    """Whether the map service draws and keeps tiles (``properties.isCached``)."""
    properties = service.definition.get("properties") or {}
    value = properties.get(CACHED_KEY) if isinstance(properties, dict) else None
    return service.type == MAP_SERVER and str(value).strip().lower() == "true"


def cached_property(value: Any) -> str:
    """``isCached`` as kept: ``"true"`` or ``"false"`` (refused otherwise)."""
    text = str(value).strip().lower() if isinstance(value, str | bool) else ""
    if text not in ("true", "false"):
        raise InvalidParameter(f"{CACHED_KEY} must be true or false.")
    return text


def drawn_layers(service: Service) -> list[DrawnLayer]:
    """What checking a drawing needs of each of the service's layers."""
    return [
        DrawnLayer(layer.id, layer.geometry_type, layer.field_types)
        for layer in service.data.layers
    ]


def drawings(service: Service) -> dict[int, LayerDrawing]:
    """Every layer's drawing, by layer id (the default where none is stored)."""
    stored = service.definition.get(DRAWING_KEY) or {}
    out = {}
    for layer in service.data.layers:
        raw = stored.get(str(layer.id)) if isinstance(stored, dict) else None
        if raw is None:
            out[layer.id] = default_drawing(layer.geometry_type)
        else:
            out[layer.id] = parse_drawing(raw, layer.geometry_type, layer.field_types)
    return out


def drawing_json(service: Service) -> dict[str, Any]:
    """The service JSON's ``drawingInfo``: every layer's drawing, by layer id."""
    return {str(i): drawing.to_json() for i, drawing in drawings(service).items()}


def edited_drawing(service: Service, raw: Any) -> dict[str, Any]:
    """The stored ``drawingInfo`` after an ``edit`` that gives ``raw`` (checked; layers it
    leaves out keep their drawing)."""
    if service.type != MAP_SERVER:
        raise InvalidParameter("'drawingInfo' is a property of map services (MapServer).")
    changed = parse_service_drawing(raw, drawn_layers(service))
    current = service.definition.get(DRAWING_KEY) or {}
    out = dict(current) if isinstance(current, dict) else {}
    out.update({str(i): drawing.to_json() for i, drawing in changed.items()})
    return out
