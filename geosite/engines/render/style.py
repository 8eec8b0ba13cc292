"""A layer's drawing (``geosite.core.drawing``) as Mapnik styles, built as XML elements.

Everything that comes from a renderer reaches Mapnik through ``xml.etree`` (which escapes
attribute values and text) and, inside filters, through ``_literal``: values of unique value
classes are Mapnik string literals with quotes and backslashes escaped, numbers are written
from floats, and field names are the layer's own (checked when the drawing was parsed).

Sizes: ArcGIS symbols are in points (1/72 inch); Mapnik draws in pixels at 96 dpi scaled by
the render's ``scale_factor`` (``dpi / 96``), so a size in points is ``size * 96 / 72`` px.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from xml.etree.ElementTree import Element, SubElement

from geosite.core.drawing import (
    NUMERIC_TYPES,
    BreakClass,
    LabelClass,
    LayerDrawing,
    Renderer,
    Symbol,
)

PX_PER_PT = 96 / 72
#: The largest dots per inch an image is drawn at.
MAX_DPI = 1200.0
_DASHES = {
    "esriSLSDash": "4,3",
    "esriSLSDot": "1,3",
    "esriSLSDashDot": "4,3,1,3",
    "esriSLSDashDotDot": "4,3,1,3,1,3",
}
#: Mapnik's built-in marker shapes, and the rotation that makes the other ArcGIS shapes.
_SHAPES = {
    "esriSMSCircle": ("ellipse", 0),
    "esriSMSSquare": ("shape://square", 0),
    "esriSMSDiamond": ("shape://square", 45),
    "esriSMSCross": ("shape://cross", 0),
    "esriSMSX": ("shape://cross", 45),
    "esriSMSTriangle": ("shape://triangle", 0),
}
_HATCHES = {
    "esriSFSHorizontal": (0,),
    "esriSFSVertical": (90,),
    "esriSFSForwardDiagonal": (45,),
    "esriSFSBackwardDiagonal": (-45,),
    "esriSFSCross": (0, 90),
    "esriSFSDiagonalCross": (45, -45),
}


def _rgb(color: tuple[int, int, int, int]) -> str:
    return f"rgb({color[0]},{color[1]},{color[2]})"


def _alpha(color: tuple[int, int, int, int]) -> str:
    return _num(color[3] / 255)


def _num(value: float) -> str:
    return format(float(value), ".6g")


def _px(points: float) -> str:
    return _num(points * PX_PER_PT)


def _literal(value: str | float, numeric: bool) -> str:
    """A value in a Mapnik filter: a number, or a quoted string."""
    if numeric:
        number = float(value)
        if not math.isfinite(number):
            return "null"
        return repr(number)
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def _line(rule: Element, symbol: Symbol) -> None:
    """A line symbol (a line, or an outline) as a ``LineSymbolizer``."""
    if symbol.style == "esriSLSNull" or symbol.color is None or symbol.width <= 0:
        return
    line = SubElement(rule, "LineSymbolizer")
    line.set("stroke", _rgb(symbol.color))
    line.set("stroke-opacity", _alpha(symbol.color))
    line.set("stroke-width", _px(symbol.width))
    line.set("stroke-linejoin", "round")
    if symbol.style in _DASHES:
        scale = max(symbol.width * PX_PER_PT, 1)
        widths = [float(v) * scale for v in _DASHES[symbol.style].split(",")]
        line.set("stroke-dasharray", ",".join(_num(v) for v in widths))


def _fill(rule: Element, symbol: Symbol) -> None:
    """A fill symbol: solid, hollow, or hatched with lines of its color, then its outline."""
    color = symbol.color
    if color is not None and symbol.style == "esriSFSSolid":
        fill = SubElement(rule, "PolygonSymbolizer")
        fill.set("fill", _rgb(color))
        fill.set("fill-opacity", _alpha(color))
        fill.set("gamma", "0.7")  # no hairline seams between neighbouring polygons
    elif color is not None and symbol.style in _HATCHES:
        for angle in _HATCHES[symbol.style]:
            hatch = SubElement(rule, "PolygonPatternSymbolizer")
            hatch.set("file", _hatch_file(angle, color))
    if symbol.outline is not None:
        _line(rule, symbol.outline)


_HATCH_PATHS = {
    0: "M0,4 L8,4",
    90: "M4,0 L4,8",
    45: "M0,8 L8,0 M-1,1 L1,-1 M7,9 L9,7",
    -45: "M0,0 L8,8 M-1,7 L1,9 M7,-1 L9,1",
}
_hatch_folder: list[Path] = []


def _hatch_file(angle: int, color: tuple[int, int, int, int]) -> str:
    """An 8-pixel SVG tile of one hatch line (written once per process and color)."""
    if not _hatch_folder:
        _hatch_folder.append(Path(tempfile.mkdtemp(prefix="geosite-hatch-")))
    name = f"hatch_{angle + 90}_{color[0]}_{color[1]}_{color[2]}_{color[3]}.svg"
    path = _hatch_folder[0] / name
    if not path.exists():
        svg = (
            '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8">'
            f'<path d="{_HATCH_PATHS[angle]}" stroke="{_rgb(color)}" '
            f'stroke-opacity="{_alpha(color)}" stroke-width="1"/></svg>'
        )
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(svg)
        os.replace(partial, path)
    return str(path)


def _marker(rule: Element, symbol: Symbol) -> None:
    shape, turn = _SHAPES[symbol.style]
    marker = SubElement(rule, "MarkersSymbolizer")
    if shape != "ellipse":
        marker.set("file", shape)
    size = _px(symbol.size)
    marker.set("width", size)
    marker.set("height", size)
    if symbol.color is not None:
        marker.set("fill", _rgb(symbol.color))
        marker.set("fill-opacity", _alpha(symbol.color))
    else:
        marker.set("fill-opacity", "0")
    outline = symbol.outline
    if outline is not None and outline.color is not None and outline.style != "esriSLSNull":
        marker.set("stroke", _rgb(outline.color))
        marker.set("stroke-opacity", _alpha(outline.color))
        marker.set("stroke-width", _px(outline.width))
    else:
        marker.set("stroke-width", "0")
    transforms = []
    if symbol.xoffset or symbol.yoffset:
        # ArcGIS's y offset points up; the image's y axis points down.
        transforms.append(f"translate({_px(symbol.xoffset)},{_px(-symbol.yoffset)})")
    angle = turn - symbol.angle  # ArcGIS turns counter-clockwise
    if angle:
        transforms.append(f"rotate({_num(angle)})")
    if transforms:
        marker.set("transform", " ".join(transforms))
    marker.set("allow-overlap", "true")
    marker.set("ignore-placement", "true")
    marker.set("placement", "point")


#: The image file of a marker drawn once (``geosite.engines.render.symbols.sprite``).
Sprites = Callable[[Symbol], str]


def symbolize(rule: Element, symbol: Symbol, sprites: Sprites | None = None) -> None:
    """Add the symbolizers that draw ``symbol`` to ``rule``; with ``sprites``, a marker is
    an image drawn once and copied onto each point (six times faster than drawing a
    thousand ellipses, and the same picture)."""
    if symbol.type == "esriSMS" and sprites is not None:
        point = SubElement(rule, "PointSymbolizer", file=sprites(symbol))
        point.set("allow-overlap", "true")
        point.set("ignore-placement", "true")
    elif symbol.type == "esriSMS":
        _marker(rule, symbol)
    elif symbol.type == "esriSLS":
        _line(rule, symbol)
    else:
        _fill(rule, symbol)


def _break_filter(field: str, low: float | None, cls: BreakClass, first: bool) -> str:
    top = f"[{field}] <= {_literal(cls.max_value, True)}"
    if low is None:
        return top
    above = ">=" if first else ">"
    return f"[{field}] {above} {_literal(low, True)} and {top}"


def _rules(
    style: Element, renderer: Renderer, field_types: Mapping[str, str], sprites: Sprites | None
) -> None:
    if renderer.type == "simple":
        assert renderer.symbol is not None
        symbolize(SubElement(style, "Rule"), renderer.symbol, sprites)
        return
    field = renderer.field
    numeric = field_types.get(field) in NUMERIC_TYPES
    if renderer.type == "uniqueValue":
        for value_class in renderer.values:
            rule = SubElement(style, "Rule")
            tests = [f"[{field}] = {_literal(v, numeric)}" for v in value_class.values]
            SubElement(rule, "Filter").text = " or ".join(tests)
            symbolize(rule, value_class.symbol, sprites)
    else:
        low = renderer.min_value
        for i, break_class in enumerate(renderer.breaks):
            rule = SubElement(style, "Rule")
            SubElement(rule, "Filter").text = _break_filter(field, low, break_class, i == 0)
            symbolize(rule, break_class.symbol, sprites)
            low = break_class.max_value
    if renderer.default_symbol is not None:
        rule = SubElement(style, "Rule")
        SubElement(rule, "ElseFilter")
        symbolize(rule, renderer.default_symbol, sprites)


def feature_style(
    name: str,
    drawing: LayerDrawing,
    field_types: Mapping[str, str],
    sprites: Sprites | None = None,
) -> Element:
    """The ``Style`` that draws a layer's features (markers as ``sprites`` when given)."""
    style = Element("Style", name=name)
    if drawing.transparency:
        style.set("opacity", _num(drawing.opacity))
    _rules(style, drawing.renderer, field_types, sprites)
    return style


def label_style(name: str, labels: tuple[LabelClass, ...], geometry_type: str) -> Element:
    """The ``Style`` that writes a layer's labels (drawn above every layer's features)."""
    style = Element("Style", name=name)
    for label in labels:
        rule = SubElement(style, "Rule")
        text = SubElement(rule, "TextSymbolizer")
        text.text = f"[{label.field}]"
        text.set("face-name", "DejaVu Sans Book")
        text.set("size", _px(label.size))
        text.set("fill", _rgb(label.color))
        text.set("opacity", _alpha(label.color))
        if label.halo_color is not None and label.halo_size > 0:
            text.set("halo-fill", _rgb(label.halo_color))
            text.set("halo-radius", _px(label.halo_size))
        if geometry_type == "esriGeometryPolyline":
            text.set("placement", "line")
        elif geometry_type == "esriGeometryPolygon":
            text.set("placement", "interior")
        else:
            text.set("placement", "point")
            text.set("dx", _px(3))
            text.set("dy", _px(-3))
        text.set("wrap-width", "96")
    return style


def referenced_fields(drawing: LayerDrawing) -> list[str]:
    """The fields a layer's style reads (its renderer's field and its labels' fields)."""
    names = [drawing.renderer.field] if drawing.renderer.field else []
    names.extend(label.field for label in drawing.labels)
    return list(dict.fromkeys(names))
