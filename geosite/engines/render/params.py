"""``export`` parameters as a frozen, validated ``ExportSpec`` (services-api §5.2).

Everything is checked before anything is drawn: an image larger than ``MAX_IMAGE_SIZE`` on
either side, or of no pixels, is refused before a byte is allocated; the box must be four
finite numbers spanning an area; layers and layer definitions must name the service's layers
(definitions go through the whitelist grammar of ``where``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from geosite.core.models import LayerDescription
from geosite.data.source import Box
from geosite.data.spatial_reference import SpatialReference, resolve, transformer
from geosite.engines.query.layer_defs import parse_layer_defs
from geosite.engines.query.where import Node, parse_where
from geosite.engines.render.draw import ENCODINGS
from geosite.engines.render.style import MAX_DPI
from geosite.errors import InvalidParameter, invalid_parameter
from geosite.integers import whole

Getter = Callable[[str], str | None]
#: The largest width and height of an image (``maxImageWidth``, ``maxImageHeight``).
MAX_IMAGE_SIZE = 4096
DEFAULT_SIZE = (400, 400)
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")


@dataclass(frozen=True)
class ExportSpec:
    """A validated ``export``: the box in ``image_sr``, the image, which layers, their
    definitions (parsed ``where`` trees by layer id)."""

    bbox: Box
    image_sr: SpatialReference
    width: int
    height: int
    dpi: float
    format: str
    transparent: bool
    layer_ids: tuple[int, ...]
    layer_defs: dict[int, Node]


def parse_bool(get: Getter, name: str, default: bool) -> bool:
    """A boolean parameter (``true``/``false``, any case)."""
    raw = get(name)
    if raw is None:
        return default
    text = raw.strip().lower()
    if not text:
        return default
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise invalid_parameter(name, "Expected true or false.")


def _numbers(raw: str, name: str, count: int) -> list[float]:
    parts = raw.split(",")
    if len(parts) != count:
        raise invalid_parameter(name, f"Expected {count} comma-separated numbers.")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise invalid_parameter(name, f"Expected {count} comma-separated numbers.") from None
    if not all(math.isfinite(v) for v in values):
        raise invalid_parameter(name, "The numbers must be finite.")
    return values


def parse_box(raw: str | None, name: str) -> Box:
    """``xmin,ymin,xmax,ymax`` or an envelope's JSON, spanning an area."""
    if raw is None or not raw.strip():
        raise invalid_parameter(name, f"'{name}' is required.")
    text = raw.strip()
    if text.startswith("{"):
        try:
            value: Any = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise invalid_parameter(name, "Expected an envelope.") from None
        if not isinstance(value, dict):
            raise invalid_parameter(name, "Expected an envelope.")
        picked = [value.get(k) for k in ("xmin", "ymin", "xmax", "ymax")]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in picked):
            raise invalid_parameter(name, "Expected an envelope with xmin, ymin, xmax, ymax.")
        numbers = [float(v) for v in picked if isinstance(v, int | float)]
        if not all(math.isfinite(v) for v in numbers):
            raise invalid_parameter(name, "The numbers must be finite.")
    else:
        numbers = _numbers(text, name, 4)
    xmin, ymin, xmax, ymax = numbers
    if xmin > xmax:
        xmin, xmax = xmax, xmin
    if ymin > ymax:
        ymin, ymax = ymax, ymin
    if xmax - xmin <= 0 or ymax - ymin <= 0:
        raise invalid_parameter(name, "The box must span an area.")
    return (xmin, ymin, xmax, ymax)


def parse_size(raw: str | None, name: str = "size") -> tuple[int, int]:
    """``width,height`` in pixels, each from 1 to ``MAX_IMAGE_SIZE``."""
    if raw is None or not raw.strip():
        return DEFAULT_SIZE
    parts = raw.split(",")
    sizes = [whole(p.strip()) for p in parts] if len(parts) == 2 else [None]
    if any(v is None for v in sizes):
        raise invalid_parameter(name, "Expected width,height in pixels.")
    width, height = (int(v) for v in sizes if v is not None)
    if not (1 <= width <= MAX_IMAGE_SIZE and 1 <= height <= MAX_IMAGE_SIZE):
        raise invalid_parameter(
            name, f"Width and height must be from 1 to {MAX_IMAGE_SIZE} pixels."
        )
    return width, height


def parse_dpi(raw: str | None, name: str = "dpi") -> float:
    """Dots per inch: more than 0, at most ``MAX_DPI``; 96 when absent."""
    if raw is None or not raw.strip():
        return 96.0
    try:
        dpi = float(raw)
    except ValueError:
        raise invalid_parameter(name, "Expected a number.") from None
    if not (math.isfinite(dpi) and 0 < dpi <= MAX_DPI):
        raise invalid_parameter(name, f"The dpi must be more than 0 and at most {MAX_DPI:g}.")
    return dpi


def parse_layer_ids(listed: str, layer_ids: Sequence[int], name: str = "layers") -> list[int]:
    """Comma-separated layer ids, each one of ``layer_ids`` (empty items are skipped)."""
    ids = []
    for part in listed.split(","):
        if not part.strip():
            continue
        found = whole(part.strip())
        if found is None or found not in layer_ids:
            raise invalid_parameter(name, f"Layer '{part.strip()[:32]}' does not exist.")
        ids.append(found)
    return ids


def parse_layers(raw: str | None, layer_ids: Sequence[int]) -> tuple[int, ...]:
    """``show:``, ``hide:``, ``include:`` or ``exclude:`` ids (every layer when absent)."""
    every = tuple(layer_ids)
    if raw is None or not raw.strip():
        return every
    op, sep, listed = raw.strip().partition(":")
    op = op.strip().lower()
    if not sep or op not in ("show", "hide", "include", "exclude"):
        raise invalid_parameter("layers", "Expected show:, hide:, include: or exclude: ids.")
    chosen = set(parse_layer_ids(listed, every))
    if op == "show":
        return tuple(i for i in every if i in chosen)
    if op in ("hide", "exclude"):
        return tuple(i for i in every if i not in chosen)
    return every  # include: every layer is visible by default already


def parse_definitions(raw: str | None, layers: Sequence[LayerDescription]) -> dict[int, Node]:
    """``layerDefs`` (JSON, or ``0:where;1:where``) as parsed ``where`` trees by layer id."""
    if raw is None or not raw.strip():
        return {}
    by_id = {layer.id: layer for layer in layers}
    out = {}
    for definition in parse_layer_defs(raw, list(by_id)):
        if definition.where is None or not definition.where.strip():
            continue
        node = parse_where(definition.where, list(by_id[definition.layer_id].fields))
        if node is not None:
            out[definition.layer_id] = node
    return out


def spatial_reference(raw: str | None, name: str, default: SpatialReference) -> SpatialReference:
    """A spatial reference parameter, or ``default`` when absent."""
    return default if raw is None or not raw.strip() else resolve(raw, name)


def in_sr(box: Box, source: SpatialReference, target: SpatialReference, name: str) -> Box:
    """``box`` (in ``source``) as the box that covers it in ``target``."""
    mover = transformer(source, target, name)
    if mover is None:
        return box
    area = target.crs.area_of_use
    if source.crs.is_geographic and area is not None:
        # Only the part the target can show (Web Mercator ends at about 85 degrees).
        box = (
            max(box[0], area.west) if area.west < area.east else box[0],
            max(box[1], area.south),
            min(box[2], area.east) if area.west < area.east else box[2],
            min(box[3], area.north),
        )
        if box[2] <= box[0] or box[3] <= box[1]:
            raise invalid_parameter(name, "The box lies outside this spatial reference's area.")
    try:
        moved = mover.transform_bounds(*box, densify_pts=21)
    except Exception:  # pyproj: outside the projection's domain
        raise invalid_parameter(
            name, "The box cannot be shown in this spatial reference."
        ) from None
    values = tuple(float(v) for v in moved)
    if not all(math.isfinite(v) for v in values) or values[2] <= values[0]:
        raise invalid_parameter(name, "The box cannot be shown in this spatial reference.")
    return (values[0], values[1], values[2], values[3])


#: How many times wider and taller than the coordinates a spatial reference accepts (its area
#: and a margin) a map's view may be: a web map zoomed out on a wide screen shows many copies
#: of the world (esri-leaflet at zoom 0 asks 2,560 px for about ten worlds of Web Mercator).
VIEW_WIDENING = 16.0


def view_problem(sr: SpatialReference, box: Box) -> str:
    """Why ``box`` cannot be a map's view in ``sr`` ("": it can): the spatial reference's
    coordinate bounds, widened ``VIEW_WIDENING`` times about their centre."""
    low_x, low_y, high_x, high_y = sr.coordinate_bounds
    centre_x, centre_y = (low_x + high_x) / 2, (low_y + high_y) / 2
    half_x = (high_x - low_x) / 2 * VIEW_WIDENING
    half_y = (high_y - low_y) / 2 * VIEW_WIDENING
    xmin, ymin, xmax, ymax = box
    if (
        centre_x - half_x <= xmin
        and xmax <= centre_x + half_x
        and centre_y - half_y <= ymin
        and ymax <= centre_y + half_y
    ):
        return ""  # NaN compares false: never here
    if not all(math.isfinite(v) for v in box):
        return "Coordinates must be finite numbers."
    return (
        f"The box lies far outside the area of spatial reference {sr.authority or ''}: x must "
        f"lie within [{centre_x - half_x:.10g}, {centre_x + half_x:.10g}] and y within "
        f"[{centre_y - half_y:.10g}, {centre_y + half_y:.10g}]."
    )


def parse_export(
    get: Getter, map_sr: SpatialReference, layers: Sequence[LayerDescription]
) -> ExportSpec:
    """An ``export`` request's parameters, checked (``map_sr``: the service's own)."""
    width, height = parse_size(get("size"))
    dpi = parse_dpi(get("dpi"))
    fmt = (get("format") or "png").strip().lower()
    if fmt not in ENCODINGS:
        raise InvalidParameter(
            f"Invalid format '{fmt[:16]}'.",
            details=[f"Supported image formats: {', '.join(ENCODINGS)}."],
        )
    image_sr = spatial_reference(get("imageSR"), "imageSR", map_sr)
    bbox_sr = spatial_reference(get("bboxSR"), "bboxSR", map_sr)
    box = parse_box(get("bbox"), "bbox")
    # A view of many worlds only where the image is drawn in the box's own spatial reference:
    # moved to another, the box would be cut to that one's area and the picture misplaced.
    same = bbox_sr.same_as(image_sr)
    problem = view_problem(bbox_sr, box) if same else bbox_sr.coordinates_problem(*box)
    if problem:
        raise invalid_parameter("bbox", problem)
    return ExportSpec(
        bbox=in_sr(box, bbox_sr, image_sr, "imageSR"),
        image_sr=image_sr,
        width=width,
        height=height,
        dpi=dpi,
        format=fmt,
        transparent=parse_bool(get, "transparent", False),
        layer_ids=parse_layers(get("layers"), [layer.id for layer in layers]),
        layer_defs=parse_definitions(get("layerDefs"), layers),
    )
