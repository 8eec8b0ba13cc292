"""``/arcgis/rest/services/[{folder}/]{service}/MapServer``: map images, identify, find,
legend, layers and their queries (services-api §5).

The answers are built by the render engine (``geosite.engines.render``); this module reads
the request, finds the service and its data, and hands back JSON or image bytes. An image
request that fails (``f=image``) is answered with the JSON error envelope, as clients expect.
"""

from __future__ import annotations

from typing import Any

from geosite.core import map_output, map_service
from geosite.core.drawing import LayerDrawing
from geosite.core.models import LayerDescription, Service
from geosite.core.services import MAP_SERVER
from geosite.data.source import RowFilter
from geosite.data.spatial_reference import SpatialReference, resolve
from geosite.engines.query.dialects import DIALECTS
from geosite.engines.query.sql import compile_where
from geosite.engines.render import identify as identify_engine
from geosite.engines.render import resources, symbols, tiles
from geosite.engines.render.draw import Frame, MapLayer, Picture, draw
from geosite.engines.render.params import (
    ExportSpec,
    parse_dpi,
    parse_export,
    parse_size,
)
from geosite.engines.render.tiles import WEB_MERCATOR
from geosite.errors import InvalidParameter, NotFound
from geosite.http.metrics import TILES
from geosite.http.rest import feature_server
from geosite.http.rest.feature_server import (
    data_of,
    layer_json,
    layer_of,
    layer_query,
    live_extent,
    started_service,
)
from geosite.http.routing import Call, Endpoint, Reply
from geosite.integers import whole

_CAPABILITY_REFUSED = "Requested operation is not supported by this service."


def _service(call: Call, capability: str | None = None) -> Service:
    service = started_service(call, MAP_SERVER)
    if capability is not None:
        granted = str(service.definition.get("capabilities") or "").split(",")
        if capability not in granted:
            raise InvalidParameter(
                _CAPABILITY_REFUSED,
                details=[f"The {capability} capability of this service is not enabled."],
            )
    return service


def _layers(service: Service) -> list[LayerDescription]:
    return list(service.data.layers)


def service_root(call: Call) -> dict[str, Any]:
    """``GET .../MapServer``."""
    service = _service(call)
    layers = _layers(service)
    extents = [live_extent(call, service, layer) for layer in layers]
    drawings = map_service.drawings(service)
    cached = map_service.is_cached(service)
    return resources.root(service.definition, layers, drawings, extents, cached=cached)


def _layer_resource(call: Call, service: Service, info: LayerDescription) -> dict[str, Any]:
    drawing = map_service.drawings(service)[info.id]
    return resources.layer(layer_json(call, service, info), info, drawing)


def layers(call: Call) -> dict[str, Any]:
    """``GET .../MapServer/layers``: every layer's full JSON."""
    return feature_server.layers(call, MAP_SERVER, _layer_resource)


def layer(call: Call) -> dict[str, Any]:
    """``GET .../MapServer/{layer}``."""
    return feature_server.layer(call, MAP_SERVER, _layer_resource)


def query(call: Call) -> dict[str, Any] | Reply:
    """``.../MapServer/{layer}/query``: the FeatureServer's query engine, and ``text`` (the
    display field holds it)."""
    text = call.params.get("text")
    return layer_query(call, MAP_SERVER, lambda info: identify_engine.text_condition(info, text))


def _map_layers(call: Call, service: Service, spec: ExportSpec) -> list[MapLayer]:
    data = data_of(call, service)
    drawings: dict[int, LayerDrawing] = map_service.drawings(service)
    out = []
    now_ms = call.state.clock.now_ms()
    for info in _layers(service):
        if info.id not in spec.layer_ids:
            continue
        source = data.source(info)
        rows = None
        if info.id in spec.layer_defs:
            compiled = compile_where(spec.layer_defs[info.id], now_ms, DIALECTS[source.dialect])
            rows = RowFilter(compiled.sql, tuple(compiled.params))
        out.append(MapLayer(info.id, source, drawings[info.id], rows))
    return out


def _map_sr(service: Service) -> SpatialReference:
    """The map's spatial reference: the first layer's, or Web Mercator when it has tiles."""
    if map_service.is_cached(service):
        return resolve(WEB_MERCATOR, "spatialReference")
    return resolve(_layers(service)[0].spatial_reference, "spatialReference")


def _picture(call: Call, service: Service) -> tuple[ExportSpec, Picture]:
    layers_ = _layers(service)
    map_sr = _map_sr(service)
    spec = parse_export(call.params.get, map_sr, layers_)
    frame = Frame(
        spec.bbox,
        spec.image_sr,
        spec.width,
        spec.height,
        spec.dpi,
        spec.format,
        spec.transparent,
    )
    return spec, draw(_map_layers(call, service, spec), frame)


def export(call: Call) -> dict[str, Any] | Reply:
    """``.../MapServer/export``: the image (``f=image``), or where to fetch it (``f=json``)."""
    service = _service(call, "Map")
    spec, picture = _picture(call, service)
    if call.fmt == "image":
        return Reply(body=picture.data, media_type=picture.content_type)
    runtime = call.state.require_site()
    ext = "jpg" if picture.content_type == "image/jpeg" else "png"
    name = map_output.write(runtime.site.store, call.state.clock, service, picture.data, ext)
    xmin, ymin, xmax, ymax = picture.extent
    return {
        "href": f"{call.site_url}/rest/directories/arcgisoutput/{name}",
        "width": spec.width,
        "height": spec.height,
        "extent": {
            "xmin": xmin,
            "ymin": ymin,
            "xmax": xmax,
            "ymax": ymax,
            "spatialReference": spec.image_sr.to_json(),
        },
        "scale": picture.scale,
    }


def tile(call: Call) -> Reply:
    """``.../MapServer/tile/{level}/{row}/{col}``: a cached tile, drawn on first request."""
    service = _service(call, "Map")
    if not map_service.is_cached(service):
        raise NotFound("This map service has no tiles: it is not cached.")
    numbers = [whole(call.args[k]) for k in ("level", "row", "col")]
    level, row, col = (-1 if n is None else n for n in numbers)
    if not tiles.valid_tile(level, row, col):
        raise NotFound("Tile not found.")
    store = call.state.require_site().site.store
    cache = tiles.TileCache(map_output.cache_root(store, service))
    data, drawn = cache.fetch(level, row, col, tile_drawer(call, service))
    TILES.labels("drawn" if drawn else "cached").inc()
    return Reply(body=data, media_type="image/png")


def tile_drawer(call: Call, service: Service) -> tiles.Drawer:
    """Draws one tile of every layer (transparent PNG32, 256 pixels, 96 dpi); the layers are
    opened when the first tile is drawn (a cached tile needs none)."""
    layers_: list[MapLayer] = []

    def drawer(box: tuple[float, float, float, float]) -> bytes:
        mercator = resolve(WEB_MERCATOR, "spatialReference")
        if not layers_:
            ids = tuple(layer.id for layer in _layers(service))
            every = ExportSpec((0, 0, 1, 1), mercator, 256, 256, 96.0, "png32", True, ids, {})
            layers_.extend(_map_layers(call, service, every))
        size = tiles.TILE_SIZE
        return draw(layers_, Frame(box, mercator, size, size, 96.0, "png32", True)).data

    return drawer


def _search(call: Call, operation: identify_engine.Operation) -> dict[str, Any]:
    """Run identify or find on the service's layers (the Query capability)."""
    service = _service(call, "Query")
    data = data_of(call, service)
    max_records = int(service.definition.get("maxRecordCount", 2000))
    return operation(
        call.params.get, _layers(service), data.source, max_records, call.state.clock.now_ms()
    )


def identify(call: Call) -> dict[str, Any]:
    """``.../MapServer/identify``."""
    return _search(call, identify_engine.identify)


def find(call: Call) -> dict[str, Any]:
    """``.../MapServer/find``."""
    return _search(call, identify_engine.find)


def _legend_size(call: Call) -> tuple[int, int, float]:
    width, height = parse_size(call.params.get("size") or "20,20")
    if width > symbols.MAX_SWATCH or height > symbols.MAX_SWATCH:
        raise InvalidParameter(
            "Invalid legend size.",
            details=[f"Swatches are at most {symbols.MAX_SWATCH} pixels on a side."],
        )
    return width, height, parse_dpi(call.params.get("dpi"))


def legend(call: Call) -> dict[str, Any]:
    """``.../MapServer/legend``: every layer's swatches and labels."""
    service = _service(call)
    width, height, dpi = _legend_size(call)
    drawings = map_service.drawings(service)
    return {
        "layers": [
            symbols.legend_layer(info, drawings[info.id], width, height, dpi)
            for info in _layers(service)
        ]
    }


def legend_image(call: Call) -> Reply:
    """``.../MapServer/{layer}/images/{url}``: a swatch of the default legend."""
    service = _service(call)
    info = layer_of(service, call.args["layer"])
    drawing = map_service.drawings(service)[info.id]
    for label_symbol in drawing.renderer.symbols:
        data = symbols.swatch(label_symbol[1], info.geometry_type, 20, 20, 96)
        if symbols.digest(data) == call.args["image"]:
            return Reply(body=data, media_type="image/png")
    raise NotFound("The legend image does not exist.")


def output_file(call: Call) -> Reply:
    """``/rest/directories/arcgisoutput/{folder}/{file}``: an exported image."""
    store = call.state.require_site().site.store
    path = map_output.find(store, call.args["folder"], call.args["file"])
    if path is None:
        raise NotFound("The file does not exist or has expired.")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise NotFound("The file does not exist or has expired.") from None
    media_type = "image/jpeg" if path.suffix == ".jpg" else "image/png"
    return Reply(body=data, media_type=media_type)


def _children(call: Call, payload: dict[str, Any]) -> list[str]:
    ids = [str(item["id"]) for item in payload.get("layers", [])]
    return ["layers", "legend", "export", "identify", "find", *ids]


def _endpoints(prefix: str) -> list[Endpoint]:
    base = prefix + "/MapServer"
    return [
        Endpoint(base, service_root, privilege=None, children=_children, title="MapServer"),
        Endpoint(base + "/layers", layers, privilege=None, title="Layers"),
        Endpoint(base + "/legend", legend, privilege=None, title="Legend"),
        Endpoint(base + "/export", export, privilege=None, title="Export Map", formats=("image",)),
        Endpoint(base + "/identify", identify, privilege=None, title="Identify", serial=True),
        Endpoint(base + "/find", find, privilege=None, title="Find", serial=True),
        Endpoint(base + "/{layer}", layer, privilege=None, children=("query",)),
        Endpoint(
            base + "/{layer}/query",
            query,
            privilege=None,
            formats=("geojson",),
            title="Query",
            serial=True,
        ),
        Endpoint(base + "/{layer}/images/{image}", legend_image, privilege=None),
        Endpoint(base + "/tile/{level}/{row}/{col}", tile, privilege=None, formats=("image",)),
    ]


ENDPOINTS = [
    *_endpoints("/services/{service}"),
    *_endpoints("/services/{folder}/{service}"),
    Endpoint(
        "/directories/arcgisoutput/{folder}/{file}",
        output_file,
        privilege=None,
        formats=("image",),
    ),
]
