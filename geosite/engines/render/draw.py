"""Drawing a map image with Mapnik: layers, their styles, one extent, one size.

A layer is read by Mapnik itself through its input plugin when its source says how
(``FeatureSource.mapnik_datasource``: PostGIS's plugin for a table), so no Python runs per
feature. Otherwise, and for a layer narrowed by a definition (``layerDefs``), the rows in the
image's extent are read through the layer's ``FeatureSource`` (the where clause compiled from
the whitelist grammar into bound parameters: no SQL text is ever built from a request for
Mapnik) and handed to Mapnik as an in-memory datasource of WKB made in one vectorised call.
GeoPackages are always read this way: Mapnik's OGR and SQLite plugins carry their own copy of
SQLite, and two SQLite libraries in one process break each other's POSIX locks on the same
file (sqlite.org, "How To Corrupt An SQLite Database File", 2.2.1) while geosite writes it;
that was seen here as "disk I/O error" on the first edit after a map was drawn. Mapnik
reprojects every layer into the image's coordinate system (the projection strings come from
pyproj's resolution of each spatial reference).

A map is assembled as XML (``xml.etree`` escapes every value) and loaded per image; Mapnik
maps are not shared between threads.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from xml.etree.ElementTree import Element, SubElement, tostring

import mapnik
import shapely

from geosite.core.drawing import LayerDrawing
from geosite.data.source import Box, FeatureSource, RowFilter
from geosite.data.spatial_reference import SpatialReference, resolve, transformer
from geosite.engines.query.sql import quote
from geosite.engines.render import style, symbols
from geosite.errors import DataUnavailable, InvalidParameter

#: Meters in a degree at the equator, as ArcGIS counts a geographic map's scale.
METERS_PER_DEGREE = 111319.49079327357
INCHES_PER_METER = 1 / 0.0254
#: The most features of a layer narrowed by ``layerDefs`` that one image reads.
MAX_FED_FEATURES = 200_000
#: Mapnik's encoders. ``png`` and ``png8`` are palette images of up to 256 colors with
#: alpha, as ArcGIS's 8-bit PNG (Mapnik's octree quantizer: half the time of 32 bits);
#: ``png24`` and ``png32`` keep every color. zlib's fastest level: the images are small.
ENCODINGS = {
    "png": ("png8:m=o:z=1", "image/png"),
    "png8": ("png8:m=o:z=1", "image/png"),
    "png24": ("png32:z=1", "image/png"),
    "png32": ("png32:z=1", "image/png"),
    "jpg": ("jpeg85", "image/jpeg"),
}
_FONTS_REGISTERED: list[bool] = []
#: A password in a connection string a plugin's error may quote (never logged as it is).
_PASSWORD = re.compile(r"password\s*=\s*(?:'[^']*'|\S+)", re.IGNORECASE)


@dataclass(frozen=True)
class MapLayer:
    """One layer to draw: its source and drawing; ``rows`` narrows it (``layerDefs``)."""

    id: int
    source: FeatureSource
    drawing: LayerDrawing
    rows: RowFilter | None = None


@dataclass(frozen=True)
class Frame:
    """The image: its extent in ``sr``, its size in pixels, dpi and format."""

    extent: Box
    sr: SpatialReference
    width: int
    height: int
    dpi: float = 96.0
    format: str = "png"
    transparent: bool = False


@dataclass(frozen=True)
class Picture:
    """A drawn image, with the extent it shows (widened to square pixels) and its scale."""

    data: bytes
    content_type: str
    extent: Box
    scale: float


def mapnik_srs(sr: SpatialReference) -> str:
    """The projection of ``sr`` as Mapnik reads it: ``epsg:N`` (or another authority's code,
    ``esri:54009``), else its WKT (Mapnik hands both to PROJ)."""
    code = sr.crs.to_epsg(min_confidence=90)
    if code is not None:
        return f"epsg:{code}"
    if sr.authority:
        return sr.authority.lower()
    return str(sr.crs.to_wkt())


def central_meridian(sr: SpatialReference) -> float:
    """The longitude a projection is centred on (0 for longitudes and latitudes)."""
    operation = sr.crs.coordinate_operation
    for param in operation.params if operation is not None else ():
        name = param.name.lower()
        if name.startswith("longitude of") and "point" not in name:
            value = float(param.value)
            return value if math.isfinite(value) else 0.0
    return 0.0


def meters_per_unit(sr: SpatialReference) -> float:
    """Meters in one unit of ``sr``'s first axis (a degree counts at the equator)."""
    if sr.crs.is_geographic:
        return METERS_PER_DEGREE
    axis = sr.crs.axis_info[0] if sr.crs.axis_info else None
    return float(axis.unit_conversion_factor) if axis is not None else 1.0


def scale_of(extent: Box, sr: SpatialReference, width: int, dpi: float) -> float:
    """ArcGIS's map scale of ``extent`` drawn ``width`` pixels wide at ``dpi``."""
    ground = (extent[2] - extent[0]) * meters_per_unit(sr)
    return ground / (width / dpi / INCHES_PER_METER)


def _fonts() -> None:
    if not _FONTS_REGISTERED:
        from mapnik import paths  # the wheel's own fonts: labels never depend on the host's

        mapnik.register_fonts(paths.fontscollectionpath)
        _FONTS_REGISTERED.append(True)


def _datasource(layer: Element, parameters: dict[str, str]) -> None:
    source = SubElement(layer, "Datasource")
    for key, value in parameters.items():
        SubElement(source, "Parameter", name=key).text = value


def _layer_box(layer: MapLayer, frame: Frame) -> Box | None:
    """The frame's extent in the layer's coordinates (None: read the whole layer)."""
    layer_sr = resolve(layer.source.layer.spatial_reference, "layer")
    mover = transformer(frame.sr, layer_sr, "imageSR")
    if mover is None:
        return frame.extent
    try:
        box = mover.transform_bounds(*frame.extent, densify_pts=21)
    except Exception:  # pyproj's ProjError and friends: outside the projection's domain
        return None
    values = tuple(float(v) for v in box)
    return values if all(math.isfinite(v) for v in values) else None  # type: ignore[return-value]


def _fed(layer: MapLayer, frame: Frame) -> mapnik.Datasource:
    """The layer's rows in the frame, read through its source (narrowed by its definition),
    as an in-memory datasource: each feature's WKB and the fields its style reads."""
    where = layer.rows or RowFilter()
    source, fields = layer.source, style.referenced_fields(layer.drawing)
    rows = RowFilter(where.where_sql, where.params, bbox=_layer_box(layer, frame))
    found = source.select(
        rows, [quote(name) for name in fields], with_geometry=True, limit=MAX_FED_FEATURES + 1
    )
    if len(found) > MAX_FED_FEATURES:
        raise InvalidParameter(
            f"Layer {layer.id}: more than {MAX_FED_FEATURES} features to draw in this extent; "
            "draw a smaller extent or narrow the layer's definition."
        )
    values = [row[-1] for row in found]
    points = source.point_coordinates(values)
    shapes = shapely.points(points) if points is not None else source.geometries(values)
    cut = _seam(layer, frame)
    pieces = _split(shapes, cut) if cut is not None else [(i, s) for i, s in enumerate(shapes)]
    blobs = shapely.to_wkb([shape for _, shape in pieces])
    context = mapnik.Context()
    for name in fields:
        context.push(name)
    datasource = mapnik.MemoryDatasource()
    for n, ((i, _), blob) in enumerate(zip(pieces, blobs, strict=True)):
        if blob is None:
            continue
        feature = mapnik.Feature(context, n + 1)
        for name, value in zip(fields, found[i][:-1], strict=True):
            if value is not None:
                feature[name] = value if isinstance(value, int | float | str) else str(value)
        feature.geometry = mapnik.Geometry.from_wkb(blob)
        datasource.add_feature(feature)
    return datasource


#: How far either side of the image's antimeridian a cut geometry's pieces stop (degrees).
SEAM_GAP = 1e-7


def _seam(layer: MapLayer, frame: Frame) -> float | None:
    """The longitude where the image's projection wraps (its central meridian + 180), when
    the layer is in longitudes and that is not the ±180 its coordinates already stop at."""
    if not resolve(layer.source.layer.spatial_reference, "layer").crs.is_geographic:
        return None
    seam = (central_meridian(frame.sr) + 180.0 + 180.0) % 360.0 - 180.0
    return None if abs(abs(seam) - 180.0) < 1e-9 else seam


def _split(shapes: Sequence[object], seam: float) -> list[tuple[int, object]]:
    """(index of its feature, piece) of each shape, cut along the meridian ``seam``: a piece
    never crosses it, so a projection centred on its opposite meridian draws no smear from one
    edge of the image to the other."""
    out: list[tuple[int, object]] = []
    west = shapely.box(-540.0, -90.0, seam - SEAM_GAP, 90.0)
    east = shapely.box(seam + SEAM_GAP, -90.0, 540.0, 90.0)
    for i, shape in enumerate(shapes):
        if shape is None:
            continue
        xmin, _, xmax, _ = shapely.bounds(shape)
        if not xmin < seam < xmax:
            out.append((i, shape))
            continue
        for side in (west, east):
            piece = shapely.intersection(shape, side)
            if not shapely.is_empty(piece):
                out.append((i, piece))
    return out


def _map_xml(layers: Sequence[MapLayer], frame: Frame, plugins: list[dict[str, str] | None]) -> str:
    background = "transparent" if frame.transparent and frame.format != "jpg" else "white"
    root = Element("Map", srs=mapnik_srs(frame.sr))
    root.set("background-color", background)
    labelled = []
    for layer, parameters in zip(layers, plugins, strict=True):
        fields = layer.source.layer.field_types
        sprites = symbols.sprite if frame.dpi == 96.0 else None  # else drawn at the dpi's size
        root.append(style.feature_style(f"s{layer.id}", layer.drawing, fields, sprites))
        layer_sr = resolve(layer.source.layer.spatial_reference, "layer")
        element = SubElement(root, "Layer", name=f"l{layer.id}", srs=mapnik_srs(layer_sr))
        SubElement(element, "StyleName").text = f"s{layer.id}"
        if parameters is not None:
            _datasource(element, parameters)
        if layer.drawing.labels:
            labelled.append((layer, parameters, layer_sr))
    for layer, parameters, layer_sr in labelled:
        geometry_type = layer.source.layer.geometry_type
        root.append(style.label_style(f"t{layer.id}", layer.drawing.labels, geometry_type))
        element = SubElement(root, "Layer", name=f"t{layer.id}", srs=mapnik_srs(layer_sr))
        SubElement(element, "StyleName").text = f"t{layer.id}"
        if parameters is not None:
            _datasource(element, parameters)
    return tostring(root, encoding="unicode")


#: Maps loaded from their XML, kept per thread (Mapnik's maps are not shared between threads):
#: loading one costs more than a millisecond, and its PostGIS plugin keeps its connections.
_LOADED = threading.local()
MAPS_PER_THREAD = 32


def _canvas(xml: str, width: int, height: int) -> mapnik.Map:
    """A map of ``xml`` at this size, loaded once per thread and reused."""
    loaded: OrderedDict[tuple[str, int, int], mapnik.Map] | None = getattr(_LOADED, "maps", None)
    if loaded is None:
        loaded = _LOADED.maps = OrderedDict()
    key = (xml, width, height)
    canvas = loaded.get(key)
    if canvas is None:
        canvas = mapnik.Map(width, height)
        mapnik.load_map_from_string(canvas, xml)
        loaded[key] = canvas
        while len(loaded) > MAPS_PER_THREAD:
            loaded.popitem(last=False)
    else:
        loaded.move_to_end(key)
    return canvas


def fitted(extent: Box, width: int, height: int) -> Box:
    """``extent`` grown about its center so that its pixels are square (as ArcGIS answers)."""
    xmin, ymin, xmax, ymax = extent
    across, up = xmax - xmin, ymax - ymin
    if across <= 0 or up <= 0:
        return extent
    if across / up > width / height:
        grow = (across * height / width - up) / 2
        return (xmin, ymin - grow, xmax, ymax + grow)
    grow = (up * width / height - across) / 2
    return (xmin - grow, ymin, xmax + grow, ymax)


def _at_scale(layer: MapLayer, scale: float) -> MapLayer:
    """The layer with only the label classes shown at ``scale``."""
    labels = tuple(
        label
        for label in layer.drawing.labels
        if not (label.min_scale and scale > label.min_scale)
        and not (label.max_scale and scale < label.max_scale)
    )
    if labels == layer.drawing.labels:
        return layer
    return replace(layer, drawing=replace(layer.drawing, labels=labels))


def draw(layers: Sequence[MapLayer], frame: Frame) -> Picture:
    """Draw ``layers`` (the first on top) into one image of ``frame``; layers outside their
    scale range at this scale are left out."""
    _fonts()
    encoding, content_type = ENCODINGS[frame.format]
    extent = fitted(frame.extent, frame.width, frame.height)
    scale = scale_of(extent, frame.sr, frame.width, frame.dpi)
    frame = replace(frame, extent=extent)
    # ArcGIS draws layer 0 above the others.
    order = [
        _at_scale(layer, scale) for layer in reversed(layers) if layer.drawing.visible_at(scale)
    ]
    plugins = [
        None
        if layer.rows is not None or _seam(layer, frame) is not None
        else layer.source.mapnik_datasource()
        for layer in order
    ]
    fed = {
        i: _fed(layer, frame)
        for i, (layer, parameters) in enumerate(zip(order, plugins, strict=True))
        if parameters is None
    }
    canvas = None
    labelled = [i for i, layer in enumerate(order) if layer.drawing.labels]
    slots = [i for i in fed] + [len(order) + n for n, i in enumerate(labelled) if i in fed]
    try:
        canvas = _canvas(_map_xml(order, frame, plugins), frame.width, frame.height)
        for i, datasource in fed.items():
            canvas.layers[i].datasource = datasource
        for n, i in enumerate(labelled):
            if i in fed:
                canvas.layers[len(order) + n].datasource = fed[i]
        canvas.zoom_to_box(mapnik.Box2d(*extent))
        image = mapnik.Image(frame.width, frame.height)
        mapnik.render(canvas, image, frame.dpi / 96.0)
        data = image.to_string(encoding)
    except RuntimeError as error:  # Mapnik's failures: a plugin that cannot read its data
        raise DataUnavailable(
            "The map could not be drawn: a layer's data could not be read.",
            private=[_PASSWORD.sub("password=***", str(error))[:2000]],
        ) from None
    finally:
        if canvas is not None:  # the kept map does not keep the rows it was handed
            empty = mapnik.MemoryDatasource()
            for i in slots:
                canvas.layers[i].datasource = empty
    return Picture(data, content_type, extent, scale)
