"""A map service's JSON resources (services-api §5.1): its root and its layers.

Built from the service's definition, its layers' drawings and their live extents; the HTTP
layer only adds nothing and answers them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from geosite import ARCGIS_CURRENT_VERSION
from geosite.core.drawing import LayerDrawing
from geosite.core.models import LayerDescription
from geosite.data.spatial_reference import resolve, units_of
from geosite.engines.features import display_field
from geosite.engines.render.params import MAX_IMAGE_SIZE, in_sr
from geosite.engines.render.tiles import LEVELS, ORIGIN, SCALE_0, WEB_MERCATOR, tile_info
from geosite.errors import InvalidParameter

MAP_CAPABILITIES = "Map,Query,Data"
#: QGIS takes the first format it can decode: PNG32 stays first.
IMAGE_FORMATS = "PNG32,PNG24,PNG,PNG8,JPG"
SUPPORTED_QUERY_FORMATS = "JSON, geoJSON"


def _union(extents: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The extent covering every layer's (those in the first layer's spatial reference)."""
    first = extents[0]
    same = [e for e in extents if e.get("spatialReference") == first.get("spatialReference")]
    out = dict(first)
    for key, pick in (("xmin", min), ("ymin", min), ("xmax", max), ("ymax", max)):
        values = [e[key] for e in same if isinstance(e.get(key), int | float)]
        if values:
            out[key] = pick(values)
    return out


def _in_web_mercator(extent: dict[str, Any]) -> dict[str, Any]:
    """An extent as the tiles' Web Mercator shows it (clipped to its area)."""
    source = resolve(extent.get("spatialReference") or {"wkid": 4326}, "extent")
    target = resolve(WEB_MERCATOR, "extent")
    box = (extent["xmin"], extent["ymin"], extent["xmax"], extent["ymax"])
    try:
        xmin, ymin, xmax, ymax = in_sr(box, source, target, "extent")
    except InvalidParameter:
        xmin, ymin, xmax, ymax = -ORIGIN, -ORIGIN, ORIGIN, ORIGIN
    return {
        "xmin": xmin,
        "ymin": ymin,
        "xmax": xmax,
        "ymax": ymax,
        "spatialReference": target.to_json(),
    }


def root(
    definition: Mapping[str, Any],
    layers: Sequence[LayerDescription],
    drawings: Mapping[int, LayerDrawing],
    extents: Sequence[Mapping[str, Any]],
    *,
    cached: bool = False,
) -> dict[str, Any]:
    """``GET .../MapServer``; a cached service is in Web Mercator, with its ``tileInfo``."""
    srs = dict(layers[0].spatial_reference)
    extent = _union(extents)
    if cached:
        extent = _in_web_mercator(extent)
        srs = dict(extent["spatialReference"])
    description = str(definition.get("description", ""))
    return {
        "currentVersion": ARCGIS_CURRENT_VERSION,
        "serviceDescription": description,
        "mapName": "Layers",
        "description": description,
        "copyrightText": "",
        "supportsDynamicLayers": False,
        "layers": [
            {
                "id": layer.id,
                "name": layer.name,
                "parentLayerId": -1,
                "defaultVisibility": True,
                "subLayerIds": None,
                "minScale": drawings[layer.id].min_scale,
                "maxScale": drawings[layer.id].max_scale,
                "type": "Feature Layer",
                "geometryType": layer.geometry_type,
                "supportsDynamicLegends": True,
            }
            for layer in layers
        ],
        "tables": [],
        "spatialReference": srs,
        "singleFusedMapCache": cached,
        **({"tileInfo": tile_info(), "minLOD": 0, "maxLOD": LEVELS - 1} if cached else {}),
        "initialExtent": extent,
        "fullExtent": dict(extent),
        "minScale": SCALE_0 if cached else 0,
        "maxScale": SCALE_0 / 2 ** (LEVELS - 1) if cached else 0,
        "units": units_of(srs),
        "supportedImageFormatTypes": IMAGE_FORMATS,
        "documentInfo": {
            "Title": str(definition.get("serviceName", "")),
            "Author": "",
            "Comments": "",
            "Subject": "",
            "Category": "",
            "AntialiasingMode": "Normal",
            "TextAntialiasingMode": "Force",
            "Keywords": "",
        },
        "capabilities": str(definition.get("capabilities") or MAP_CAPABILITIES),
        "supportedQueryFormats": SUPPORTED_QUERY_FORMATS,
        "exportTilesAllowed": False,
        "supportsDatumTransformation": False,
        "maxRecordCount": int(definition.get("maxRecordCount", 2000)),
        "maxImageHeight": MAX_IMAGE_SIZE,
        "maxImageWidth": MAX_IMAGE_SIZE,
        "supportedExtensions": "",
    }


def layer(
    feature_layer: dict[str, Any], info: LayerDescription, drawing: LayerDrawing
) -> dict[str, Any]:
    """A map layer's JSON: the feature layer's (fields, extent, query support) as a map
    service shows it, with its drawing."""
    out = {
        **feature_layer,
        "type": "Feature Layer",
        "parentLayer": None,
        "subLayers": [],
        "minScale": drawing.min_scale,
        "maxScale": drawing.max_scale,
        "drawingInfo": {
            "renderer": drawing.renderer.to_json(),
            "transparency": drawing.transparency,
            "labelingInfo": [label.to_json() for label in drawing.labels] or None,
        },
        "hasLabels": bool(drawing.labels),
        "canModifyLayer": False,
        "canScaleSymbols": False,
        "supportsDynamicLegends": True,
        "displayField": display_field(info),
        "capabilities": MAP_CAPABILITIES,
        "allowGeometryUpdates": False,
        "hasStaticData": False,
    }
    for key in ("editFieldsInfo", "templates", "types", "globalIdField"):
        out.pop(key, None)
    out["supportsApplyEditsWithGlobalIds"] = False
    return out
