"""``layerDefs`` of the service-level query: which layers, with which ``where`` and fields.

Three forms are accepted, as ArcGIS and its imitators document them: a JSON array
``[{"layerId": 0, "where": "...", "outFields": "..."}]``, a JSON object ``{"0": "where"}``,
and the legacy text ``0:AREA>10;5:POP>1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from geosite.errors import InvalidParameter, invalid_parameter
from geosite.integers import whole


@dataclass(frozen=True)
class LayerDef:
    """One layer of a service-level query."""

    layer_id: int
    where: str | None
    out_fields: str | None


def _invalid(why: str) -> InvalidParameter:
    return invalid_parameter("layerDefs", why)


def _layer_id(value: Any) -> int:
    found = whole(value)
    if found is None:
        raise _invalid(f"'{str(value)[:32]}' is not a layer id.")
    return found


def parse_layer_defs(raw: str | None, layer_ids: list[int]) -> list[LayerDef]:
    """The layers to query (every layer when ``raw`` is absent)."""
    if raw is None:
        return [LayerDef(i, None, None) for i in layer_ids]
    text = raw.strip()
    defs: list[LayerDef] = []
    if text.startswith(("[", "{")):
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise _invalid("Expected JSON.") from None
        if isinstance(value, dict):
            defs = [
                LayerDef(_layer_id(k), str(v) if v is not None else None, None)
                for k, v in value.items()
            ]
        elif isinstance(value, list):
            for item in value:
                if not isinstance(item, dict):
                    raise _invalid("Each layer definition must be an object.")
                where, fields = item.get("where"), item.get("outFields")
                defs.append(
                    LayerDef(
                        _layer_id(item.get("layerId")),
                        str(where) if where is not None else None,
                        str(fields) if fields is not None else None,
                    )
                )
    else:
        for part in text.split(";"):
            if part.strip():
                layer, _, where = part.partition(":")
                defs.append(LayerDef(_layer_id(layer.strip()), where or None, None))
    unknown = [d.layer_id for d in defs if d.layer_id not in layer_ids]
    if unknown:
        raise _invalid(f"Layer {unknown[0]} does not exist in this service.")
    if not defs:
        raise _invalid("No layer given.")
    return defs
