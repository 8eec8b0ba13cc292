"""FeatureServer editing: addFeatures, updateFeatures, deleteFeatures, applyEdits (layer and
service). POST only; a token whose user may use the service; the service's capabilities
(``Create``, ``Update``, ``Delete``, or ``Editing`` for all three) decide what is allowed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from geosite.core import map_output, map_service
from geosite.core.models import LayerDescription, Service
from geosite.core.services import (
    MAP_SERVER,
    anonymous_edits,
    edit_capabilities,
    geometry_limits,
)
from geosite.data.source import Box, FeatureData
from geosite.engines.edit_geometry import GeometryLimits
from geosite.engines.editing import (
    Editor,
    LayerEdits,
    apply_edits,
    parse_features,
    parse_ids,
)
from geosite.engines.query.execute import LayerQuery
from geosite.engines.query.params import parse_query
from geosite.engines.render import tiles
from geosite.errors import BadRequest, GeositeError, InvalidParameter, TokenRequired
from geosite.http.rest.feature_server import (
    data_of,
    layer_of,
    layers_of,
    source_of,
    started_service,
)
from geosite.http.routing import OPERATION, Call, Endpoint, Field, Reply


class NotSupported(GeositeError):
    """The service's capabilities do not include the edit: ArcGIS's words."""

    code = 400
    default_message = "Requested operation is not supported by this service."

    def __init__(self) -> None:
        super().__init__(details=["The requested capability is not supported."])


def _editable(call: Call, needed: set[str]) -> Service:
    """The service, when the caller may edit it as ``needed`` (Create/Update/Delete)."""
    service = started_service(call)  # a private service was refused to a stranger here
    if call.principal is None and not anonymous_edits(service.definition):
        raise call.token_error if call.token_error is not None else TokenRequired()
    if not needed <= edit_capabilities(service.definition.get("capabilities")):
        raise NotSupported()
    return service


_WORLD: Box = (-tiles.ORIGIN, -tiles.ORIGIN, tiles.ORIGIN, tiles.ORIGIN)


def _rollback(call: Call) -> bool:
    return call.params.boolean("rollbackOnFailure", True)


def _use_global_ids(call: Call) -> bool:
    return call.params.boolean("useGlobalIds")


def _deletes_of(call: Call, raw: Any) -> Sequence[int | str]:
    """``deletes``: object ids, or GlobalIDs with ``useGlobalIds``."""
    if not _use_global_ids(call):
        return parse_ids(raw, "deletes")
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = raw.strip().strip("[]").split(",") if raw.strip() else []
    if not isinstance(raw, list):
        raise InvalidParameter("'deletes' must list GlobalIDs.")
    return [str(item).strip().strip('"') for item in raw]


def _editor(call: Call) -> Editor:
    user = call.principal.username if call.principal else ""
    return Editor(user, call.state.clock.now_ms())


def _moment(call: Call, answer: dict[str, Any]) -> dict[str, Any]:
    if call.params.boolean("returnEditMoment"):
        answer["editMoment"] = call.state.clock.now_ms()
    return answer


def _data(call: Call, service: Service) -> FeatureData:
    return data_of(call, service)


def _limits(service: Service) -> GeometryLimits:
    """The service's limits on edited geometries (its properties, docs/security.md)."""
    limits = geometry_limits(service.definition)
    return GeometryLimits(
        vertices_per_feature=int(limits["maxVerticesPerFeature"]),
        parts_per_feature=int(limits["maxPartsPerFeature"]),
        vertices_per_request=int(limits["maxVerticesPerRequest"]),
        repair_seconds=float(limits["maxGeometryRepairSeconds"]),
    )


def _apply(call: Call, service: Service, edits: list[LayerEdits]) -> list[dict[str, Any]]:
    """Apply ``edits`` to the service's data with the request's options and the service's
    geometry limits; one result per layer. The map tiles they change are deleted."""
    cache = _tiles(call, service)
    data = _data(call, service)
    before = _old_boxes(data, edits) if cache is not None else []
    results = apply_edits(
        data, edits, _rollback(call), _editor(call), _use_global_ids(call), _limits(service)
    )
    if cache is not None:
        after = [
            box
            for edit, done in zip(edits, results, strict=True)
            for box in tiles.touched_boxes(data.source(edit.layer), _written(done))
        ]
        cache.delete(before + after)
    return results


def _tiles(call: Call, service: Service) -> tiles.TileCache | None:
    """The tile cache of the map service whose feature access this is (edits change its
    tiles), or None."""
    store = call.state.require_site().site.store
    host = store.get_service(service.folder, service.name, MAP_SERVER)
    if host is None or not map_service.is_cached(host):
        return None
    if host.data.location != service.data.location:
        return None
    return tiles.TileCache(map_output.cache_root(store, host))


def _old_boxes(data: FeatureData, edits: list[LayerEdits]) -> list[Box]:
    """Where the features an edit updates or deletes are now (before it); every tile when
    some are named by GlobalID only (where they were is not read then)."""
    out: list[Box] = []
    for edit in edits:
        ids = [d for d in edit.deletes if isinstance(d, int)]
        unknown = len(ids) < len(edit.deletes)
        for item in edit.updates:
            attributes = item.get("attributes") if isinstance(item, dict) else None
            value = attributes.get(edit.layer.object_id_field) if attributes else None
            if isinstance(value, int) and not isinstance(value, bool):
                ids.append(value)
            else:
                unknown = True
        if unknown:
            out.append(_WORLD)
        out.extend(tiles.touched_boxes(data.source(edit.layer), ids))
    return out


def _written(done: dict[str, list[dict[str, Any]]]) -> list[int]:
    """Object ids of the features an edit added or updated."""
    return [
        int(item["objectId"])
        for key in ("addResults", "updateResults")
        for item in done.get(key, [])
        if item.get("success") and isinstance(item.get("objectId"), int)
    ]


def add_features(call: Call) -> dict[str, Any]:
    """``{layer}/addFeatures`` (``features``)."""
    service = _editable(call, {"Create"})
    adds = parse_features(call.params.json("features"), "features")
    edits = [LayerEdits(layer_of(service, call.args["layer"]), adds=adds)]
    (done,) = _apply(call, service, edits)
    return _moment(call, {"addResults": done["addResults"]})


def update_features(call: Call) -> dict[str, Any]:
    """``{layer}/updateFeatures`` (``features``, each with its OBJECTID)."""
    service = _editable(call, {"Update"})
    updates = parse_features(call.params.json("features"), "features")
    edits = [LayerEdits(layer_of(service, call.args["layer"]), updates=updates)]
    (done,) = _apply(call, service, edits)
    return _moment(call, {"updateResults": done["updateResults"]})


#: Query parameters that shape a query's answer, not which features deleteFeatures deletes.
_NOT_FOR_DELETE = frozenset(
    (
        "outFields",
        "resultRecordCount",
        "resultOffset",
        "returnCountOnly",
        "returnExtentOnly",
        "returnDistinctValues",
        "outStatistics",
        "groupByFieldsForStatistics",
        "having",
    )
)


def _ids_to_delete(call: Call, service: Service, layer: LayerDescription) -> list[int]:
    ids = parse_ids(call.params.get("objectIds"), "objectIds")
    if call.params.get("where") is None and call.params.get("geometry") is None:
        if not ids:
            raise BadRequest("Give objectIds, where or geometry to choose what to delete.")
        return ids

    def get(name: str) -> str | None:
        # Which features, as query chooses them; the shape of the answer is delete's own.
        if name in _NOT_FOR_DELETE:
            return None
        return "true" if name == "returnIdsOnly" else call.params.get(name)

    spec = parse_query(get, list(layer.fields), int(service.definition["maxRecordCount"]))
    source = source_of(call, service, layer)
    found = LayerQuery(source, spec, call.state.clock.now_ms()).run("json")
    return [int(i) for i in found["objectIds"]]


def delete_features(call: Call) -> dict[str, Any]:
    """``{layer}/deleteFeatures`` (``objectIds``, or ``where`` / ``geometry`` as in query)."""
    service = _editable(call, {"Delete"})
    layer = layer_of(service, call.args["layer"])
    deletes = _ids_to_delete(call, service, layer)
    cache = _tiles(call, service)
    data = _data(call, service)
    edits = [LayerEdits(layer, deletes=deletes)]
    before = _old_boxes(data, edits) if cache is not None else []
    # deleteFeatures names features by object id or where, never by GlobalID
    (done,) = apply_edits(data, edits, _rollback(call), _editor(call))
    if cache is not None:
        cache.delete(before)
    return _moment(call, {"deleteResults": done["deleteResults"]})


def _needs(adds: list[Any], updates: list[Any], deletes: Sequence[int | str]) -> set[str]:
    return {
        name
        for name, items in (("Create", adds), ("Update", updates), ("Delete", deletes))
        if items
    }


def apply_layer_edits(call: Call) -> dict[str, Any]:
    """``{layer}/applyEdits`` (``adds``, ``updates``, ``deletes``)."""
    adds = parse_features(call.params.json("adds"), "adds")
    updates = parse_features(call.params.json("updates"), "updates")
    deletes = _deletes_of(call, _deletes(call))
    service = _editable(call, _needs(adds, updates, deletes))
    layer = layer_of(service, call.args["layer"])
    (done,) = _apply(call, service, [LayerEdits(layer, adds, updates, deletes)])
    return _moment(call, dict(done))


def _deletes(call: Call) -> Any:
    raw = call.params.get("deletes")
    if raw is not None and raw.strip().startswith("["):
        return call.params.json("deletes")
    return raw


def apply_service_edits(call: Call) -> dict[str, Any] | Reply:
    """``FeatureServer/applyEdits`` (``edits``: per layer ``{id, adds, updates, deletes}``)."""
    _editable(call, set())  # who may edit comes first: a stranger learns nothing from its input
    raw = call.params.json("edits")
    if not isinstance(raw, list) or not all(isinstance(e, dict) for e in raw):
        raise InvalidParameter("'edits' must be a JSON array of {id, adds, updates, deletes}.")
    service = started_service(call)
    known = {str(layer.id) for layer in layers_of(service)}
    edits, needed = [], set()
    for entry in raw:
        layer_id = str(entry.get("id"))
        if layer_id not in known:
            raise InvalidParameter(f"Layer '{layer_id[:16]}' does not exist in this service.")
        adds = parse_features(entry.get("adds"), "adds")
        updates = parse_features(entry.get("updates"), "updates")
        deletes = _deletes_of(call, entry.get("deletes"))
        needed |= _needs(adds, updates, deletes)
        edits.append(LayerEdits(layer_of(service, layer_id), adds, updates, deletes))
    service = _editable(call, needed)
    results = _apply(call, service, edits)
    answer = [{"id": edit.layer.id, **done} for edit, done in zip(edits, results, strict=True)]
    if call.params.boolean("returnEditMoment"):
        moment = call.state.clock.now_ms()
        answer = [{**item, "editMoment": moment} for item in answer]
    if call.fmt == "html":
        return {"results": answer}
    return Reply(payload=cast(dict[str, Any], answer))


_COMMON = (
    Field("rollbackOnFailure", "Roll back on failure", kind="select", options=("true", "false")),
    Field("returnEditMoment", "Return edit moment", kind="select", options=("false", "true")),
)


def _endpoints(prefix: str) -> list[Endpoint]:
    base = prefix + "/FeatureServer"
    features = Field("features", "Features (JSON)", kind="textarea", required=True)
    return [
        Endpoint(
            base + "/applyEdits",
            apply_service_edits,
            kind=OPERATION,
            privilege=None,
            title="Apply Edits",
            fields=(Field("edits", "Edits (JSON)", kind="textarea", required=True), *_COMMON),
        ),
        Endpoint(
            base + "/{layer}/addFeatures",
            add_features,
            kind=OPERATION,
            privilege=None,
            title="Add Features",
            fields=(features, *_COMMON),
        ),
        Endpoint(
            base + "/{layer}/updateFeatures",
            update_features,
            kind=OPERATION,
            privilege=None,
            title="Update Features",
            fields=(features, *_COMMON),
        ),
        Endpoint(
            base + "/{layer}/deleteFeatures",
            delete_features,
            kind=OPERATION,
            privilege=None,
            title="Delete Features",
            fields=(Field("objectIds", "Object IDs"), Field("where", "Where"), *_COMMON),
        ),
        Endpoint(
            base + "/{layer}/applyEdits",
            apply_layer_edits,
            kind=OPERATION,
            privilege=None,
            title="Apply Edits",
            fields=(
                Field("adds", "Adds (JSON)", kind="textarea"),
                Field("updates", "Updates (JSON)", kind="textarea"),
                Field("deletes", "Deletes (object IDs)"),
                *_COMMON,
            ),
        ),
    ]


ENDPOINTS = [*_endpoints("/services/{service}"), *_endpoints("/services/{folder}/{service}")]
