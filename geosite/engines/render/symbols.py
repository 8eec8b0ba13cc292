"""Symbols drawn on their own: legend swatches (services-api §5.5) and marker sprites, both
by Mapnik from the same styles as the map.

Each class of a layer's renderer is drawn once on a small transparent image: a marker at its
center, a line across it, or a square filled and outlined. ``url`` is the swatch's digest,
which ``.../MapServer/{layer}/images/{url}`` answers with the PNG. A marker's sprite is its
swatch, just large enough, written once per process to a private folder: maps drawn at 96 dpi
copy it onto each point instead of drawing each ellipse.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import math
import os
import tempfile
import threading
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

import mapnik

from geosite.core.drawing import LayerDrawing, Renderer, Symbol
from geosite.core.models import LayerDescription
from geosite.engines.render import style
from geosite.engines.render.style import MAX_DPI, PX_PER_PT

DEFAULT_SWATCH = 20
MAX_SWATCH = 200


def _sample(geometry_type: str, size: int) -> str:
    """A GeoJSON geometry filling a swatch of ``size`` pixels (in pixel coordinates)."""
    margin = max(size * 0.15, 1.0)
    low, high, middle = margin, size - margin, size / 2
    if geometry_type == "esriGeometryPolyline":
        return f'{{"type":"LineString","coordinates":[[{low},{low}],[{high},{high}]]}}'
    if geometry_type == "esriGeometryPolygon":
        ring = f"[[{low},{low}],[{high},{low}],[{high},{high}],[{low},{high}],[{low},{low}]]"
        return f'{{"type":"Polygon","coordinates":[{ring}]}}'
    return f'{{"type":"Point","coordinates":[{middle},{middle}]}}'


@functools.lru_cache(maxsize=4096)
def swatch(symbol: Symbol, geometry_type: str, width: int, height: int, dpi: float) -> bytes:
    """A PNG of ``symbol`` drawn on a transparent ``width`` x ``height`` image (kept: a
    legend of a thousand classes, or a request for an unknown swatch, draws nothing again)."""
    root = Element("Map", srs="+proj=eqc +units=m")  # any plane: pixel coordinates as metres
    root.set("background-color", "transparent")
    drawing = LayerDrawing(Renderer("simple", symbol=symbol))
    root.append(style.feature_style("s", drawing, {}))
    layer = SubElement(root, "Layer", name="l", srs="+proj=eqc +units=m")
    SubElement(layer, "StyleName").text = "s"
    canvas = mapnik.Map(width, height)
    mapnik.load_map_from_string(canvas, tostring(root, encoding="unicode"))
    size = min(width, height)
    document = f'{{"type":"Feature","properties":{{}},"geometry":{_sample(geometry_type, size)}}}'
    canvas.layers[0].datasource = mapnik.Datasource(type="geojson", inline=document)
    canvas.zoom_to_box(mapnik.Box2d(0, 0, width, height))
    image = mapnik.Image(width, height)
    mapnik.render(canvas, image, min(dpi, MAX_DPI) / 96.0)
    return bytes(image.to_string("png32"))


_sprite_folder: list[Path] = []
_sprite_lock = threading.Lock()


def sprite(symbol: Symbol) -> str:
    """The path of a PNG of the marker ``symbol`` at 96 dpi, centred on its image (made once
    per process and symbol)."""
    reach = symbol.size * PX_PER_PT * 1.5 + abs(symbol.xoffset) + abs(symbol.yoffset)
    if symbol.outline is not None:
        reach += symbol.outline.width * PX_PER_PT
    side = 2 * math.ceil(reach / 2 + 2) + 2
    key = hashlib.sha1(repr((symbol, side)).encode(), usedforsecurity=False).hexdigest()[:20]
    with _sprite_lock:
        if not _sprite_folder:
            _sprite_folder.append(Path(tempfile.mkdtemp(prefix="geosite-sprites-")))
    path = _sprite_folder[0] / f"marker_{key}.png"
    if not path.exists():
        partial = path.with_name(f".{path.name}.{threading.get_ident()}.part")
        partial.write_bytes(swatch(symbol, "esriGeometryPoint", side, side, 96.0))
        os.replace(partial, path)
    return str(path)


def digest(data: bytes) -> str:
    """The ``url`` of a swatch."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def legend_entries(
    layer: LayerDescription, drawing: LayerDrawing, width: int, height: int, dpi: float
) -> list[dict[str, Any]]:
    """One entry per class of the layer's renderer: label, swatch and its digest."""
    out = []
    renderer = drawing.renderer
    values = {c.label: list(c.values) for c in renderer.values}
    for label, symbol in renderer.symbols:
        data = swatch(symbol, layer.geometry_type, width, height, dpi)
        entry: dict[str, Any] = {
            "label": label,
            "url": digest(data),
            "imageData": base64.b64encode(data).decode(),
            "contentType": "image/png",
            "height": height,
            "width": width,
        }
        if label in values:
            entry["values"] = values[label]
        out.append(entry)
    return out


def legend_layer(
    layer: LayerDescription, drawing: LayerDrawing, width: int, height: int, dpi: float
) -> dict[str, Any]:
    """A layer of ``/legend``."""
    return {
        "layerId": layer.id,
        "layerName": layer.name,
        "layerType": "Feature Layer",
        "minScale": drawing.min_scale,
        "maxScale": drawing.max_scale,
        "legend": legend_entries(layer, drawing, width, height, dpi),
    }
