"""How a layer is drawn: ArcGIS ``drawingInfo`` (renderer, transparency, labels, scale range)
as a validated, typed model.

A map service keeps one ``LayerDrawing`` per layer in its definition (``drawingInfo``, keyed
by layer id), editable with ``services/<name>.MapServer/edit``; a layer without one is drawn
with ``default_drawing`` for its geometry type, the same symbols the FeatureServer's layer
JSON shows. The render engine (``geosite.engines.render``) turns the model into a Mapnik
style, and the legend's swatches come from the same model, so the picture and its legend
cannot disagree. Everything here is checked on the way in: a renderer an administrator edits
is refused with the reason, never stored to fail at the next image.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from geosite.errors import InvalidParameter

POINT, MULTIPOINT = "esriGeometryPoint", "esriGeometryMultipoint"
POLYLINE, POLYGON = "esriGeometryPolyline", "esriGeometryPolygon"
MARKER_STYLES = (
    "esriSMSCircle",
    "esriSMSSquare",
    "esriSMSDiamond",
    "esriSMSCross",
    "esriSMSX",
    "esriSMSTriangle",
)
LINE_STYLES = (
    "esriSLSSolid",
    "esriSLSDash",
    "esriSLSDot",
    "esriSLSDashDot",
    "esriSLSDashDotDot",
    "esriSLSNull",
)
FILL_STYLES = (
    "esriSFSSolid",
    "esriSFSNull",
    "esriSFSHollow",
    "esriSFSHorizontal",
    "esriSFSVertical",
    "esriSFSForwardDiagonal",
    "esriSFSBackwardDiagonal",
    "esriSFSCross",
    "esriSFSDiagonalCross",
)
_SYMBOL_TYPES = {"esriSMS": MARKER_STYLES, "esriSLS": LINE_STYLES, "esriSFS": FILL_STYLES}
#: Which symbol type draws which geometry type.
SYMBOL_FOR = {POINT: "esriSMS", MULTIPOINT: "esriSMS", POLYLINE: "esriSLS", POLYGON: "esriSFS"}
MAX_SIZE = 256.0  # points: a marker size or a line width
MAX_CLASSES = 1000
MAX_LABEL_CLASSES = 16
MAX_TEXT = 1000
_LABEL_FIELD = re.compile(r"^\s*\[([^\[\]]{1,128})\]\s*$")
_ARCADE_FIELD = re.compile(r"^\s*\$feature\.([A-Za-z_][A-Za-z0-9_]{0,127})\s*$")
_ARCADE_BRACKET = re.compile(r"""^\s*\$feature\[\s*(["'])([^"'\[\]]{1,128})\1\s*\]\s*$""")

Color = tuple[int, int, int, int]


def _invalid(where: str, why: str) -> InvalidParameter:
    return InvalidParameter(f"Invalid drawingInfo: {where}: {why}")


def _number(raw: Any, where: str, low: float, high: float, default: float | None = None) -> float:
    if raw is None and default is not None:
        return default
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise _invalid(where, "must be a number.")
    value = float(raw)
    if not (math.isfinite(value) and low <= value <= high):
        raise _invalid(where, f"must be from {low:g} to {high:g}.")
    return value


def _color(raw: Any, where: str) -> Color | None:
    """``[r, g, b, a]`` (0..255; alpha 255 when left out); ``null`` is no color."""
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) not in (3, 4):
        raise _invalid(where, "a color is [r, g, b, a] with values from 0 to 255.")
    parts = [int(_number(v, where, 0, 255)) for v in raw]
    if len(parts) == 3:
        parts.append(255)
    return (parts[0], parts[1], parts[2], parts[3])


def _text(raw: Any, where: str, default: str = "") -> str:
    if raw is None:
        return default
    if not isinstance(raw, str) or len(raw) > MAX_TEXT:
        raise _invalid(where, f"must be text of at most {MAX_TEXT} characters.")
    return raw


@dataclass(frozen=True)
class Symbol:
    """A simple marker (``esriSMS``), line (``esriSLS``) or fill (``esriSFS``) symbol.

    ``size`` is a marker's size and ``width`` a line's width, in points (1/72 inch);
    ``outline`` is a marker's or a fill's outline (a line symbol).
    """

    type: str
    style: str
    color: Color | None
    size: float = 0.0
    width: float = 0.0
    angle: float = 0.0
    xoffset: float = 0.0
    yoffset: float = 0.0
    outline: Symbol | None = None

    @classmethod
    def parse(cls, raw: Any, where: str, expected: str | None = None) -> Symbol:
        """A symbol from its JSON; ``expected`` is the symbol type the layer needs."""
        if not isinstance(raw, dict):
            raise _invalid(where, "a symbol must be a JSON object.")
        kind = raw.get("type")
        if kind not in _SYMBOL_TYPES:
            raise _invalid(where, "the symbol type must be esriSMS, esriSLS or esriSFS.")
        if expected is not None and kind != expected:
            raise _invalid(where, f"this layer's features are drawn with {expected} symbols.")
        styles = _SYMBOL_TYPES[kind]
        style = raw.get("style", styles[0])
        if style not in styles:
            raise _invalid(where, f"the style of an {kind} is one of {', '.join(styles)}.")
        outline = None
        if kind != "esriSLS" and raw.get("outline") is not None:
            outline = cls.parse(raw["outline"], f"{where}.outline", "esriSLS")
        return cls(
            type=kind,
            style=style,
            color=_color(raw.get("color"), f"{where}.color"),
            size=_number(raw.get("size"), f"{where}.size", 0, MAX_SIZE, 8.0),
            width=_number(raw.get("width"), f"{where}.width", 0, MAX_SIZE, 1.0),
            angle=_number(raw.get("angle"), f"{where}.angle", -360, 360, 0.0),
            xoffset=_number(raw.get("xoffset"), f"{where}.xoffset", -MAX_SIZE, MAX_SIZE, 0.0),
            yoffset=_number(raw.get("yoffset"), f"{where}.yoffset", -MAX_SIZE, MAX_SIZE, 0.0),
            outline=outline,
        )

    def to_json(self) -> dict[str, Any]:
        """The symbol's JSON, as ArcGIS writes it."""
        out: dict[str, Any] = {
            "type": self.type,
            "style": self.style,
            "color": list(self.color) if self.color is not None else None,
        }
        if self.type == "esriSMS":
            out.update(size=self.size, angle=self.angle, xoffset=self.xoffset)
            out["yoffset"] = self.yoffset
        if self.type == "esriSLS":
            out["width"] = self.width
        if self.outline is not None:
            out["outline"] = self.outline.to_json()
        return out


@dataclass(frozen=True)
class ValueClass:
    """One class of a unique value renderer: the values it draws (as text) and how."""

    values: tuple[str, ...]
    label: str
    description: str
    symbol: Symbol


@dataclass(frozen=True)
class BreakClass:
    """One class of a class breaks renderer: values above the previous class's maximum (or
    the renderer's minimum) up to ``max_value``."""

    max_value: float
    label: str
    description: str
    symbol: Symbol


@dataclass(frozen=True)
class Renderer:
    """A ``simple``, ``uniqueValue`` or ``classBreaks`` renderer."""

    type: str
    symbol: Symbol | None = None
    label: str = ""
    description: str = ""
    field: str = ""
    default_symbol: Symbol | None = None
    default_label: str = ""
    values: tuple[ValueClass, ...] = ()
    min_value: float | None = None
    breaks: tuple[BreakClass, ...] = ()

    @property
    def symbols(self) -> list[tuple[str, Symbol]]:
        """(label, symbol) of each class, in legend order (the default symbol last)."""
        out: list[tuple[str, Symbol]] = []
        if self.symbol is not None:
            out.append((self.label, self.symbol))
        out.extend((c.label, c.symbol) for c in self.values)
        out.extend((c.label, c.symbol) for c in self.breaks)
        if self.default_symbol is not None:
            out.append((self.default_label or "<all other values>", self.default_symbol))
        return out

    def to_json(self) -> dict[str, Any]:
        """The renderer's JSON, as ArcGIS writes it."""
        if self.type == "simple":
            assert self.symbol is not None
            return {
                "type": "simple",
                "symbol": self.symbol.to_json(),
                "label": self.label,
                "description": self.description,
            }
        key = "field1" if self.type == "uniqueValue" else "field"
        out: dict[str, Any] = {"type": self.type, key: self.field}
        if self.type == "uniqueValue":
            out.update(field2=None, field3=None, fieldDelimiter=",")
            out["uniqueValueInfos"] = [
                {
                    "value": c.values[0] if len(c.values) == 1 else ",".join(c.values),
                    "label": c.label,
                    "description": c.description,
                    "symbol": c.symbol.to_json(),
                }
                for c in self.values
            ]
        else:
            out["minValue"] = self.min_value
            out["classBreakInfos"] = [
                {
                    "classMaxValue": c.max_value,
                    "label": c.label,
                    "description": c.description,
                    "symbol": c.symbol.to_json(),
                }
                for c in self.breaks
            ]
        out["defaultSymbol"] = self.default_symbol.to_json() if self.default_symbol else None
        out["defaultLabel"] = self.default_label or None
        return out


@dataclass(frozen=True)
class LabelClass:
    """Labels of one field: text color, size (points), halo, and a scale range."""

    field: str
    color: Color
    size: float
    halo_color: Color | None
    halo_size: float
    min_scale: float
    max_scale: float

    def to_json(self) -> dict[str, Any]:
        """The label class's JSON (``labelingInfo`` entry)."""
        symbol: dict[str, Any] = {
            "type": "esriTS",
            "color": list(self.color),
            "font": {"family": "DejaVu Sans", "size": self.size},
        }
        if self.halo_color is not None:
            symbol.update(haloColor=list(self.halo_color), haloSize=self.halo_size)
        return {
            "labelExpression": f"[{self.field}]",
            "labelPlacement": "esriServerPointLabelPlacementAboveRight",
            "useCodedValues": True,
            "symbol": symbol,
            "minScale": self.min_scale,
            "maxScale": self.max_scale,
        }


@dataclass(frozen=True)
class LayerDrawing:
    """How one layer is drawn: its renderer, ``transparency`` (0 opaque .. 100 invisible),
    labels, and the scale range it is drawn at (0: no limit)."""

    renderer: Renderer
    transparency: float = 0.0
    labels: tuple[LabelClass, ...] = ()
    min_scale: float = 0.0
    max_scale: float = 0.0

    @property
    def opacity(self) -> float:
        """1 minus the transparency, as a fraction."""
        return 1.0 - self.transparency / 100.0

    def visible_at(self, scale: float) -> bool:
        """Whether the layer is drawn at ``scale`` (``minScale`` is the smallest scale, the
        largest denominator, it is drawn at)."""
        if self.min_scale and scale > self.min_scale:
            return False
        return not (self.max_scale and scale < self.max_scale)

    def to_json(self) -> dict[str, Any]:
        """The stored and shown JSON: ArcGIS's ``drawingInfo`` plus the scale range."""
        return {
            "renderer": self.renderer.to_json(),
            "transparency": self.transparency,
            "labelingInfo": [label.to_json() for label in self.labels] or None,
            "minScale": self.min_scale,
            "maxScale": self.max_scale,
        }


def default_symbol(geometry_type: str) -> Symbol:
    """The symbol a layer of ``geometry_type`` is drawn with until someone chooses another."""
    grey_line = Symbol("esriSLS", "esriSLSSolid", (153, 153, 153, 255), width=0.75)
    if geometry_type == POLYLINE:
        return Symbol("esriSLS", "esriSLSSolid", (165, 83, 183, 255), width=1.5)
    if geometry_type == POLYGON:
        return Symbol("esriSFS", "esriSFSSolid", (252, 146, 31, 128), outline=grey_line)
    outline = Symbol("esriSLS", "esriSLSSolid", (190, 190, 190, 105), width=0.5)
    return Symbol("esriSMS", "esriSMSCircle", (247, 150, 70, 161), size=7.5, outline=outline)


def default_drawing(geometry_type: str) -> LayerDrawing:
    """A simple renderer with ``default_symbol``."""
    return LayerDrawing(Renderer("simple", symbol=default_symbol(geometry_type)))


def _field(raw: Any, where: str, fields: Mapping[str, str]) -> str:
    """A field of the layer, named exactly or in another case; its name as the layer has it."""
    if not isinstance(raw, str) or not raw:
        raise _invalid(where, "name one of the layer's fields.")
    for name in fields:
        if name.lower() == raw.lower():
            return name
    raise _invalid(where, f"the layer has no field '{raw[:64]}'.")


def _classes(raw: Any, where: str) -> list[Any]:
    if not isinstance(raw, list) or len(raw) > MAX_CLASSES:
        raise _invalid(where, f"must be a list of at most {MAX_CLASSES} classes.")
    return raw


def _renderer(raw: Any, geometry_type: str, fields: Mapping[str, str]) -> Renderer:
    if not isinstance(raw, dict):
        raise _invalid("renderer", "must be a JSON object.")
    kind = raw.get("type")
    expected = SYMBOL_FOR.get(geometry_type)

    def symbol(value: Any, where: str) -> Symbol:
        return Symbol.parse(value, where, expected)

    def default() -> Symbol | None:
        value = raw.get("defaultSymbol")
        return None if value is None else symbol(value, "renderer.defaultSymbol")

    if kind == "simple":
        return Renderer(
            "simple",
            symbol=symbol(raw.get("symbol"), "renderer.symbol"),
            label=_text(raw.get("label"), "renderer.label"),
            description=_text(raw.get("description"), "renderer.description"),
        )
    if kind == "uniqueValue":
        field = _field(raw.get("field1"), "renderer.field1", fields)
        classes = []
        for i, info in enumerate(_classes(raw.get("uniqueValueInfos"), "uniqueValueInfos")):
            where = f"renderer.uniqueValueInfos[{i}]"
            if not isinstance(info, dict):
                raise _invalid(where, "must be a JSON object.")
            value = info.get("value")
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise _invalid(f"{where}.value", "must be text or a number.")
            text = value if isinstance(value, str) else _number_text(value)
            if fields[field] in NUMERIC_TYPES and not _is_number(text):
                raise _invalid(f"{where}.value", f"'{field}' is a numeric field.")
            classes.append(
                ValueClass(
                    (_text(text, f"{where}.value"),),
                    _text(info.get("label"), f"{where}.label", text),
                    _text(info.get("description"), f"{where}.description"),
                    symbol(info.get("symbol"), f"{where}.symbol"),
                )
            )
        return Renderer(
            "uniqueValue",
            field=field,
            values=tuple(classes),
            default_symbol=default(),
            default_label=_text(raw.get("defaultLabel"), "renderer.defaultLabel"),
        )
    if kind == "classBreaks":
        field = _field(raw.get("field"), "renderer.field", fields)
        if fields[field] not in NUMERIC_TYPES:
            raise _invalid("renderer.field", f"'{field}' is not a numeric field.")
        low = raw.get("minValue")
        minimum = None if low is None else _number(low, "renderer.minValue", -1e308, 1e308)
        breaks = []
        previous = -math.inf if minimum is None else minimum
        for i, info in enumerate(_classes(raw.get("classBreakInfos"), "classBreakInfos")):
            where = f"renderer.classBreakInfos[{i}]"
            if not isinstance(info, dict):
                raise _invalid(where, "must be a JSON object.")
            top = _number(info.get("classMaxValue"), f"{where}.classMaxValue", -1e308, 1e308)
            if top < previous:
                raise _invalid(where, "class maximums must not decrease.")
            previous = top
            breaks.append(
                BreakClass(
                    top,
                    _text(info.get("label"), f"{where}.label", f"≤ {_number_text(top)}"),
                    _text(info.get("description"), f"{where}.description"),
                    symbol(info.get("symbol"), f"{where}.symbol"),
                )
            )
        return Renderer(
            "classBreaks",
            field=field,
            min_value=minimum,
            breaks=tuple(breaks),
            default_symbol=default(),
            default_label=_text(raw.get("defaultLabel"), "renderer.defaultLabel"),
        )
    raise _invalid("renderer.type", "must be simple, uniqueValue or classBreaks.")


NUMERIC_TYPES = frozenset(
    {
        "esriFieldTypeOID",
        "esriFieldTypeInteger",
        "esriFieldTypeSmallInteger",
        "esriFieldTypeBigInteger",
        "esriFieldTypeDouble",
        "esriFieldTypeSingle",
    }
)


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _label_field(info: dict[str, Any], where: str, fields: Mapping[str, str]) -> str:
    """The one field a label class shows: ``[NAME]``, or Arcade's ``$feature.NAME``."""
    expression = info.get("labelExpression")
    if isinstance(expression, str) and (match := _LABEL_FIELD.match(expression)):
        return _field(match.group(1), f"{where}.labelExpression", fields)
    arcade = info.get("labelExpressionInfo")
    text = arcade.get("expression") if isinstance(arcade, dict) else None
    if isinstance(text, str):
        match = _ARCADE_FIELD.match(text) or _ARCADE_BRACKET.match(text)
        if match:
            return _field(match.group(match.lastindex or 1), f"{where}.expression", fields)
    raise _invalid(
        where, "a label shows one field: labelExpression '[NAME]' or the Arcade $feature.NAME."
    )


def _labels(raw: Any, fields: Mapping[str, str]) -> tuple[LabelClass, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_LABEL_CLASSES:
        raise _invalid("labelingInfo", f"must list at most {MAX_LABEL_CLASSES} label classes.")
    out = []
    for i, info in enumerate(raw):
        where = f"labelingInfo[{i}]"
        if not isinstance(info, dict):
            raise _invalid(where, "must be a JSON object.")
        symbol = info.get("symbol") or {}
        if not isinstance(symbol, dict):
            raise _invalid(f"{where}.symbol", "must be a JSON object.")
        font = symbol.get("font") or {}
        if not isinstance(font, dict):
            raise _invalid(f"{where}.symbol.font", "must be a JSON object.")
        halo = _color(symbol.get("haloColor"), f"{where}.symbol.haloColor")
        out.append(
            LabelClass(
                field=_label_field(info, where, fields),
                color=_color(symbol.get("color"), f"{where}.symbol.color") or (0, 0, 0, 255),
                size=_number(font.get("size"), f"{where}.symbol.font.size", 1, 200, 8.0),
                halo_color=halo,
                halo_size=_number(symbol.get("haloSize"), f"{where}.haloSize", 0, 50, 1.0),
                min_scale=_number(info.get("minScale"), f"{where}.minScale", 0, 1e12, 0.0),
                max_scale=_number(info.get("maxScale"), f"{where}.maxScale", 0, 1e12, 0.0),
            )
        )
    return tuple(out)


def parse_drawing(raw: Any, geometry_type: str, fields: Mapping[str, str]) -> LayerDrawing:
    """A layer's drawing from its JSON (``drawingInfo`` with optional ``minScale`` and
    ``maxScale``); ``fields`` maps the layer's field names to their types."""
    if not isinstance(raw, dict):
        raise _invalid("drawingInfo", "must be a JSON object.")
    renderer = raw.get("renderer")
    return LayerDrawing(
        renderer=default_drawing(geometry_type).renderer
        if renderer is None
        else _renderer(renderer, geometry_type, fields),
        transparency=_number(raw.get("transparency"), "transparency", 0, 100, 0.0),
        labels=_labels(raw.get("labelingInfo"), fields),
        min_scale=_number(raw.get("minScale"), "minScale", 0, 1e12, 0.0),
        max_scale=_number(raw.get("maxScale"), "maxScale", 0, 1e12, 0.0),
    )


@dataclass(frozen=True)
class DrawnLayer:
    """What parsing needs of a layer: its id, geometry type and fields (name: type)."""

    id: int
    geometry_type: str
    fields: Mapping[str, str]


def parse_service_drawing(raw: Any, layers: Sequence[DrawnLayer]) -> dict[int, LayerDrawing]:
    """A map service's ``drawingInfo``: ``{"<layer id>": drawingInfo, ...}``, every key a
    layer of the service (layers left out keep the default)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidParameter("'drawingInfo' must map layer ids to drawing info.")
    by_id = {str(layer.id): layer for layer in layers}
    out = {}
    for key, value in raw.items():
        layer = by_id.get(str(key))
        if layer is None:
            raise InvalidParameter(f"Invalid drawingInfo: the service has no layer '{key!s:.32}'.")
        try:
            out[layer.id] = parse_drawing(value, layer.geometry_type, layer.fields)
        except InvalidParameter as error:
            raise InvalidParameter(f"Layer {layer.id}: {error.messages[0]}") from None
    return out
