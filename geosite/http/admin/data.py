"""``/arcgis/admin/data``: registered data stores (folders on the server's disk, and
PostgreSQL databases, which registering and validating connect to)."""

from __future__ import annotations

from typing import Any

from geosite.core import datastores
from geosite.data.postgis_check import check_postgis
from geosite.errors import BadRequest, NotFound
from geosite.http.routing import OPERATION, Call, Endpoint, Field

_ITEM_EXAMPLE = (
    '{"path": "/fileShares/data", "type": "folder", '
    '"info": {"path": "/srv/gis/data", "dataStoreConnectionType": "shared"}}'
)


def _store(call: Call) -> Any:
    return call.state.require_site().site.store


def data(call: Call) -> dict[str, Any]:
    """``/admin/data``."""
    _store(call)
    return {"resources": ["items"]}


def items(call: Call) -> dict[str, Any]:
    """``/admin/data/items``: the root paths of data items."""
    _store(call)
    return {"rootItems": list(datastores.ROOT_ITEMS)}


def item(call: Call) -> dict[str, Any]:
    """``/admin/data/items/<root>`` (its items) or ``/admin/data/items/<root>/<name>``."""
    store = _store(call)
    path = f"/{call.args['root']}" + (f"/{call.args['name']}" if "name" in call.args else "")
    if "name" not in call.args:
        if path.lower() not in {root.lower() for root in datastores.ROOT_ITEMS}:
            raise NotFound(f"Could not find resource or operation '{path[1:65]}' on the system.")
        found = datastores.find(store, path, None, None)
        return {"items": [i.public() for i in found]}
    return datastores.get(store, path).public()


def _item_param(call: Call) -> Any:
    raw = call.params.json("item")
    if raw is None:
        raise BadRequest("Missing parameter 'item'.")
    return raw


def register_item(call: Call) -> dict[str, Any]:
    """``registerItem`` (``item``: the data item JSON)."""
    registered = datastores.register(
        _store(call), call.state.clock, _item_param(call), check_postgis
    )
    return {"status": "success", "path": registered.path}


def validate_item(call: Call) -> dict[str, Any]:
    """``validateDataItem`` (``item``): a folder ``registerItem`` would accept, or a database
    that answers, with PostGIS."""
    datastores.validate(_store(call), _item_param(call), check_postgis)
    return {"status": "success"}


def edit_item(call: Call) -> dict[str, Any]:
    """``items/<root>/<name>/edit`` (``item``): new connection details (a database's new
    password), checked as ``registerItem`` checks them."""
    path = f"/{call.args['root']}/{call.args['name']}"
    datastores.edit(_store(call), path, _item_param(call), check_postgis)
    return {"status": "success"}


def validate_all(call: Call) -> dict[str, Any]:
    """``validateAllDataItems``: every registered item still reachable."""
    datastores.validate_all(_store(call), check_postgis)
    return {"status": "success"}


def unregister_item(call: Call) -> dict[str, Any]:
    """``unregisterItem`` (``itempath``): refused while a service uses the item, ``force``
    or not (the service would break)."""
    datastores.unregister(_store(call), call.params.require("itempath"))
    return {"status": "success"}


def ref_count(call: Call) -> dict[str, Any]:
    """``computeTotalRefCount`` (``path``, or ``itemPath`` as the ArcGIS API for Python
    sends it): how many services use the item."""
    path = call.params.get("path") or call.params.require("itemPath")
    return {"totalRefCount": datastores.ref_count(_store(call), path)}


def find_items(call: Call) -> dict[str, Any]:
    """``findItems`` (``parentPath``, ``ancestorPath``, ``types``)."""
    found = datastores.find(
        _store(call),
        call.params.get("parentPath"),
        call.params.get("ancestorPath"),
        call.params.get("types"),
    )
    return {"items": [i.public() for i in found]}


_ITEM_FIELD = (Field("item", "Data item (JSON)", kind="textarea", default=_ITEM_EXAMPLE),)

ENDPOINTS = [
    Endpoint(
        "/data",
        data,
        title="Data",
        children=("items",),
        operations=(
            "registerItem",
            "unregisterItem",
            "findItems",
            "validateDataItem",
            "validateAllDataItems",
            "computeTotalRefCount",
        ),
    ),
    Endpoint(
        "/data/items", items, title="Data Items", children=("fileShares", "enterpriseDatabases")
    ),
    Endpoint(
        "/data/registerItem",
        register_item,
        kind=OPERATION,
        title="Register Item",
        fields=_ITEM_FIELD,
        description=(
            "Registers a folder on the server, to publish services from its files, or a "
            "PostgreSQL database with PostGIS (type egdb, at /enterpriseDatabases/<name>)."
        ),
    ),
    Endpoint(
        "/data/validateDataItem",
        validate_item,
        kind=OPERATION,
        title="Validate Data Item",
        fields=_ITEM_FIELD,
    ),
    Endpoint(
        "/data/validateAllDataItems",
        validate_all,
        kind=OPERATION,
        title="Validate All Data Items",
    ),
    Endpoint(
        "/data/computeTotalRefCount",
        ref_count,
        kind=OPERATION,
        title="Compute Total Reference Count",
        fields=(Field("path", "Item path"),),
    ),
    Endpoint(
        "/data/unregisterItem",
        unregister_item,
        kind=OPERATION,
        title="Unregister Item",
        fields=(Field("itempath", "Item path", required=True), Field("force", "Force")),
    ),
    Endpoint(
        "/data/findItems",
        find_items,
        kind=OPERATION,
        title="Find Items",
        allow_get=True,
        fields=(
            Field("parentPath", "Parent path", default="/fileShares"),
            Field("ancestorPath", "Ancestor path"),
            Field("types", "Types (comma-separated)"),
        ),
    ),
    Endpoint("/data/items/{root}", item, title="Data Items"),
    Endpoint("/data/items/{root}/{name}", item, title="Data Item", operations=("edit",)),
    Endpoint(
        "/data/items/{root}/{name}/edit",
        edit_item,
        kind=OPERATION,
        title="Edit Data Item",
        fields=_ITEM_FIELD,
        description="New connection details for the item (its path and type stay).",
    ),
]
