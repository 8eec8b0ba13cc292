"""``/arcgis/rest/services/[{folder}/]{service}/FeatureServer``: service, layers, features."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from geosite import ARCGIS_CURRENT_VERSION, integers
from geosite.core import machines, permissions
from geosite.core.drawing import default_symbol
from geosite.core.models import LayerDescription, Service
from geosite.core.service_admin import STARTED
from geosite.core.services import advertised_capabilities, edit_capabilities, served_service
from geosite.data.source import FeatureData, FeatureSource
from geosite.data.spatial_reference import units_of
from geosite.engines.editing import editor_fields, global_id_field
from geosite.engines.features import display_field, esri_attributes, esri_geometry
from geosite.engines.query.execute import LayerQuery
from geosite.engines.query.layer_defs import parse_layer_defs
from geosite.engines.query.params import narrowed, parse_query
from geosite.engines.query.where import Node
from geosite.errors import InvalidParameter, MachineStopped, NotFound, ServiceNotStarted
from geosite.http import feature_data
from geosite.http.rest.query_page import query_page
from geosite.http.routing import Call, Endpoint, Reply

FEATURE_SERVER = "FeatureServer"
SUPPORTED_QUERY_FORMATS = "JSON, geoJSON"
SPATIAL_RELATIONSHIPS = [
    "esriSpatialRelIntersects",
    "esriSpatialRelContains",
    "esriSpatialRelCrosses",
    "esriSpatialRelEnvelopeIntersects",
    "esriSpatialRelIndexIntersects",
    "esriSpatialRelOverlaps",
    "esriSpatialRelTouches",
    "esriSpatialRelWithin",
]
_DRAWING_TOOLS = {
    "esriGeometryPoint": "esriFeatureEditToolPoint",
    "esriGeometryMultipoint": "esriFeatureEditToolPoint",
    "esriGeometryPolyline": "esriFeatureEditToolLine",
    "esriGeometryPolygon": "esriFeatureEditToolPolygon",
}
_SQL_TYPES = {
    "esriFieldTypeOID": "sqlTypeInteger",
    "esriFieldTypeInteger": "sqlTypeInteger",
    "esriFieldTypeSmallInteger": "sqlTypeSmallInt",
    "esriFieldTypeDouble": "sqlTypeFloat",
    "esriFieldTypeSingle": "sqlTypeReal",
    "esriFieldTypeString": "sqlTypeNVarchar",
    "esriFieldTypeDate": "sqlTypeTimestamp2",
    "esriFieldTypeGlobalID": "sqlTypeGUID",
}


def started_service(call: Call, kind: str = FEATURE_SERVER) -> Service:
    """The URL's service of type ``kind``, when the caller may use it and it is started (else
    ArcGIS's error)."""
    runtime = call.state.require_site()
    state = runtime.machine_state()
    if state != machines.STARTED:
        raise MachineStopped(runtime.site.machine_name, state == machines.UNREGISTERED)
    store = runtime.site.store
    folder, name = call.args.get("folder", ""), call.args["service"]
    stored, service = served_service(store, folder, name, kind)
    call.service_key = stored.resource
    permissions.check_access(store, stored, call.principal, call.token_error)
    if stored.configured_state != STARTED:
        raise ServiceNotStarted(stored.qualified_name, stored.type)
    return service


def layers_of(service: Service) -> list[LayerDescription]:
    """The service's layer descriptions."""
    return list(service.data.layers)


def layer_of(service: Service, raw_id: str) -> LayerDescription:
    """The layer with id ``raw_id`` (as in the URL), or NotFound."""
    for layer in layers_of(service):
        if str(layer.id) == raw_id:
            return layer
    raise NotFound(f"Layer '{raw_id[:32]}' does not exist in this service.")


def data_of(call: Call, service: Service) -> FeatureData:
    """The feature data the service serves."""
    store = call.state.require_site().site.store
    return feature_data.open_service_data(call.state.settings, store, service)


def source_of(call: Call, service: Service, layer: LayerDescription) -> FeatureSource:
    """The feature source of one of the service's layers."""
    return data_of(call, service).source(layer)


def _fields(layer: LayerDescription) -> list[dict[str, Any]]:
    out = []
    for field in layer.fields:
        oid = field["type"] == "esriFieldTypeOID"
        out.append(
            {
                **field,
                "sqlType": _SQL_TYPES.get(field["type"], "sqlTypeOther"),
                "editable": not oid and field["type"] != "esriFieldTypeGlobalID",
                "domain": field.get("domain"),
                "defaultValue": None,
            }
        )
    return out


def live_extent(call: Call, service: Service, layer: LayerDescription) -> dict[str, Any]:
    """The layer's extent now: as published, widened by the edits since."""
    found = source_of(call, service, layer).extent()
    if found is None or not all(math.isfinite(v) for v in found):
        # Never Infinity or NaN (JSON has neither): data written by other programs may hold them.
        return dict(layer.extent)
    xmin, ymin, xmax, ymax = found
    sr = layer.extent.get("spatialReference", layer.spatial_reference)
    return {"xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax, "spatialReference": sr}


def layer_json(call: Call, service: Service, layer: LayerDescription) -> dict[str, Any]:
    """The full layer resource (services-api §3.2)."""
    definition = service.definition
    geometry_type = layer.geometry_type
    max_records = int(definition["maxRecordCount"])
    return {
        "currentVersion": ARCGIS_CURRENT_VERSION,
        "id": layer.id,
        "name": layer.name,
        "type": "Feature Layer",
        "description": "",
        "copyrightText": "",
        "defaultVisibility": True,
        "editFieldsInfo": editor_fields(layer) or None,
        "relationships": [],
        "isDataVersioned": False,
        "supportsRollbackOnFailureParameter": True,
        "supportsStatistics": True,
        "supportsAdvancedQueries": True,
        "supportsValidateSql": False,
        "supportsCoordinatesQuantization": False,
        "geometryType": geometry_type,
        "minScale": 0,
        "maxScale": 0,
        "extent": live_extent(call, service, layer),
        "drawingInfo": {
            "renderer": {
                "type": "simple",
                "symbol": default_symbol(geometry_type).to_json(),
                "label": "",
                "description": "",
            },
            "transparency": 0,
            "labelingInfo": None,
        },
        "hasM": False,
        "hasZ": False,
        "allowGeometryUpdates": "Update" in edit_capabilities(definition["capabilities"]),
        "hasAttachments": False,
        "htmlPopupType": "esriServerHTMLPopupTypeNone",
        "objectIdField": layer.object_id_field,
        "uniqueIdField": {"name": layer.object_id_field, "isSystemMaintained": True},
        "globalIdField": global_id_field(layer) or "",
        "supportsApplyEditsWithGlobalIds": global_id_field(layer) is not None,
        "displayField": display_field(layer),
        "typeIdField": "",
        "fields": _fields(layer),
        "geometryField": {
            "name": layer.geometry_field,
            "type": "esriFieldTypeGeometry",
            "alias": layer.geometry_field,
        },
        "indexes": [],
        "types": [],
        "templates": [
            {
                "name": layer.name,
                "description": "",
                "drawingTool": _DRAWING_TOOLS[geometry_type],
                "prototype": {"attributes": {}},
            }
        ],
        "maxRecordCount": max_records,
        "standardMaxRecordCount": max_records,
        "tileMaxRecordCount": max_records,
        "maxRecordCountFactor": 1,
        "supportedQueryFormats": SUPPORTED_QUERY_FORMATS,
        "capabilities": advertised_capabilities(definition["capabilities"]),
        "useStandardizedQueries": True,
        "supportedSpatialRelationships": SPATIAL_RELATIONSHIPS,
        "supportsPagination": True,
        "advancedQueryCapabilities": {
            "useStandardizedQueries": True,
            "supportsStatistics": True,
            "supportsHavingClause": True,
            "supportsOrderBy": True,
            "supportsDistinct": True,
            "supportsCountDistinct": False,
            "supportsPagination": True,
            "supportsPaginationOnAggregatedQueries": True,
            "supportsTrueCurve": False,
            "supportsReturningQueryExtent": True,
            "supportsQueryWithDistance": False,
            "supportsSqlExpression": True,
        },
        "dateFieldsTimeReference": {"timeZone": "UTC", "respectsDaylightSaving": False},
        "hasStaticData": not edit_capabilities(definition["capabilities"]),
    }


def service_root(call: Call) -> dict[str, Any]:
    """``GET .../FeatureServer``."""
    service = started_service(call)
    layers = layers_of(service)
    first = layers[0]
    srs = first.spatial_reference
    extent = live_extent(call, service, first)
    definition = service.definition
    return {
        "currentVersion": ARCGIS_CURRENT_VERSION,
        "serviceDescription": definition.get("description", ""),
        "hasVersionedData": False,
        "supportsDisconnectedEditing": False,
        "hasStaticData": not edit_capabilities(definition["capabilities"]),
        "maxRecordCount": int(definition["maxRecordCount"]),
        "supportedQueryFormats": SUPPORTED_QUERY_FORMATS,
        "capabilities": advertised_capabilities(definition["capabilities"]),
        "description": definition.get("description", ""),
        "copyrightText": "",
        "spatialReference": srs,
        "initialExtent": extent,
        "fullExtent": dict(extent),
        "allowGeometryUpdates": "Update" in edit_capabilities(definition["capabilities"]),
        "units": units_of(srs),
        "syncEnabled": False,
        "layers": [
            {
                "id": layer.id,
                "name": layer.name,
                "parentLayerId": -1,
                "defaultVisibility": True,
                "subLayerIds": None,
                "minScale": 0,
                "maxScale": 0,
                "geometryType": layer.geometry_type,
            }
            for layer in layers
        ],
        "tables": [],
        "relationships": [],
    }


def _layer_children(call: Call, payload: dict[str, Any]) -> list[str]:
    return [str(layer["id"]) for layer in payload.get("layers", [])]


#: A layer's full JSON in a service (the FeatureServer's ``layer_json``, or a map's).
LayerResource = Callable[[Call, Service, LayerDescription], dict[str, Any]]


def layers(
    call: Call, kind: str = FEATURE_SERVER, resource: LayerResource | None = None
) -> dict[str, Any]:
    """``GET .../FeatureServer/layers``: every layer's full JSON."""
    service = started_service(call, kind)
    build = resource or layer_json
    return {
        "layers": [build(call, service, layer) for layer in layers_of(service)],
        "tables": [],
    }


def layer(
    call: Call, kind: str = FEATURE_SERVER, resource: LayerResource | None = None
) -> dict[str, Any]:
    """``GET .../FeatureServer/{layer}``."""
    service = started_service(call, kind)
    return (resource or layer_json)(call, service, layer_of(service, call.args["layer"]))


#: Layer operations of the ArcGIS REST API that geosite does not offer (yet): asked for, they
#: answer that the operation is not supported rather than "invalid object id".
_OTHER_LAYER_OPERATIONS = frozenset(
    name.lower()
    for name in (
        "queryRelatedRecords",
        "queryAttachments",
        "addAttachment",
        "updateAttachment",
        "deleteAttachments",
        "attachments",
        "generateRenderer",
        "validateSQL",
        "calculate",
        "queryTopFeatures",
        "queryAnalytic",
        "queryBins",
        "queryDateBins",
        "append",
        "getEstimates",
        "uploads",
    )
)


def _not_an_operation_here(name: str) -> None:
    """Raise the answer for a word where an object id or an operation was expected."""
    if name.lower() in _OTHER_LAYER_OPERATIONS:
        raise InvalidParameter(
            "Requested operation is not supported by this service.",
            details=[f"The operation '{name}' is not supported by geosite's FeatureServer."],
        )
    raise InvalidParameter(
        f"Invalid object id '{name[:32]}'.",
        details=[f"'{name[:64]}' is neither an object id nor an operation of this layer."],
    )


def feature(call: Call) -> dict[str, Any]:
    """``GET .../FeatureServer/{layer}/{objectId}``: ``{"feature": {...}}``."""
    service = started_service(call)
    info = layer_of(service, call.args["layer"])
    name = call.args["oid"]
    number = integers.whole(name)
    if number is None:
        _not_an_operation_here(name)
    object_id = integers.in_range(number, integers.OBJECT_ID_MIN, integers.OBJECT_ID_MAX)
    if object_id is None:
        raise InvalidParameter(f"Invalid object id '{name[:32]}'.")
    source = source_of(call, service, info)
    found = source.feature(object_id, info.field_names, with_geometry=True)
    if found is None:
        raise NotFound(f"Feature {object_id} does not exist.")
    attributes, geometry = found
    result: dict[str, Any] = {"attributes": esri_attributes(list(info.fields), attributes)}
    shape = esri_geometry(geometry)
    if shape is not None:
        shape["spatialReference"] = info.spatial_reference
        result["geometry"] = shape
    return {"feature": result}


def query(call: Call) -> dict[str, Any] | Reply:
    """``GET|POST .../FeatureServer/{layer}/query`` (``f=html`` is the query form)."""
    return layer_query(call, FEATURE_SERVER)


def layer_query(
    call: Call, kind: str, narrow: Callable[[LayerDescription], Node | None] | None = None
) -> dict[str, Any] | Reply:
    """``.../{layer}/query`` of a service of type ``kind`` (a feature or a map service);
    ``narrow`` gives a condition the request adds to its ``where`` (a map's ``text``)."""
    service = started_service(call, kind)
    info = layer_of(service, call.args["layer"])
    if "Query" not in service.definition["capabilities"].split(","):
        raise InvalidParameter(
            "Requested operation is not supported by this service.",
            details=["The requested capability is not supported."],
        )

    def run() -> dict[str, Any]:
        max_records = int(service.definition["maxRecordCount"])
        spec = parse_query(call.params.get, list(info.fields), max_records)
        extra = narrow(info) if narrow is not None else None
        if extra is not None:
            spec = narrowed(spec, extra)
        fmt = "geojson" if call.fmt == "geojson" else "json"
        source = source_of(call, service, info)
        return LayerQuery(source, spec, call.state.clock.now_ms()).run(fmt)

    if call.fmt == "html":
        return query_page(call, info, run)
    return run()


def service_query(call: Call) -> dict[str, Any]:
    """``GET|POST .../FeatureServer/query``: several layers at once (``layerDefs``)."""
    service = started_service(call)
    if "Query" not in service.definition["capabilities"].split(","):
        raise InvalidParameter(
            "Requested operation is not supported by this service.",
            details=["The requested capability is not supported."],
        )
    layers = {layer.id: layer for layer in layers_of(service)}
    max_records = int(service.definition["maxRecordCount"])
    data = data_of(call, service)
    answers = []
    for definition in parse_layer_defs(call.params.get("layerDefs"), list(layers)):
        overrides = {"where": definition.where, "outFields": definition.out_fields}

        def get(name: str, overrides: dict[str, str | None] = overrides) -> str | None:
            value = overrides.get(name)
            return value if value is not None else call.params.get(name)

        info = layers[definition.layer_id]
        spec = parse_query(get, list(info.fields), max_records)
        answer = LayerQuery(data.source(info), spec, call.state.clock.now_ms()).run("json")
        answers.append({"id": definition.layer_id, **answer})
    return {"layers": answers}


def _endpoints(prefix: str) -> list[Endpoint]:
    base = prefix + "/FeatureServer"
    return [
        Endpoint(
            base, service_root, privilege=None, children=_layer_children, title="FeatureServer"
        ),
        Endpoint(base + "/layers", layers, privilege=None, title="Layers"),
        Endpoint(base + "/query", service_query, privilege=None, title="Query", serial=True),
        Endpoint(base + "/{layer}", layer, privilege=None, children=("query",)),
        Endpoint(
            base + "/{layer}/query",
            query,
            privilege=None,
            formats=("geojson",),
            title="Query",
            serial=True,
        ),
        Endpoint(base + "/{layer}/{oid}", feature, privilege=None),
    ]


ENDPOINTS = [*_endpoints("/services/{service}"), *_endpoints("/services/{folder}/{service}")]
