"""``/arcgis/admin/services/[{folder}/]{service}.{type}``: one service, and permissions.

Every row exists twice, for a service in the root folder and for one in a named folder;
``_rows`` builds both from one list. Permissions of the root folder and of named folders are
here too, since they share the handlers.
"""

from __future__ import annotations

from typing import Any

import orjson

from geosite.core import ownership, permissions, service_admin
from geosite.core.models import Privilege, Service, service_resource
from geosite.core.service_admin import STARTED, STOPPED
from geosite.core.services import find_service
from geosite.errors import BadRequest, InvalidParameter
from geosite.http.admin import map_cache
from geosite.http.admin.services import existing_folder
from geosite.http.data_files import release_service
from geosite.http.routing import OPERATION, Call, Endpoint, Field, Handler, Reply

_ITEM_INFO_KEYS = ("title", "summary", "description", "tags", "snippet", "accessInformation")


def _store(call: Call) -> Any:
    return call.state.require_site().site.store


def _service(call: Call) -> Service:
    return find_service(
        _store(call), call.args.get("folder", ""), call.args["service"], call.args["type"]
    )


def _key(call: Call) -> tuple[str, str, str]:
    return call.args.get("folder", ""), call.args["service"], call.args["type"]


def owned(handler: Handler) -> Handler:
    """``handler`` for the service's owner (a publisher) and administrators only."""

    def checked(call: Call) -> dict[str, Any] | Reply:
        ownership.check_manage(call.principal, _service(call).owner)
        return handler(call)

    checked.__doc__ = handler.__doc__
    checked.__name__ = handler.__name__
    return checked


def resource(call: Call) -> dict[str, Any]:
    """The service JSON."""
    service = _service(call)
    private = permissions.is_private(_store(call).list_permissions(service.resource))
    return service_admin.service_json(service, private)


def status(call: Call) -> dict[str, Any]:
    """``status``: configured and real-time state (the same: a state change is immediate)."""
    service = _service(call)
    return {"configuredState": service.configured_state, "realTimeState": service.configured_state}


def start(call: Call) -> dict[str, Any]:
    """``start``."""
    service_admin.set_state(_store(call), *_key(call), STARTED)
    return {"status": "success"}


def stop(call: Call) -> dict[str, Any]:
    """``stop``: REST requests to it are refused until it is started; its data stays."""
    release_service(service_admin.set_state(_store(call), *_key(call), STOPPED))
    return {"status": "success"}


def edit(call: Call) -> dict[str, Any]:
    """``edit`` with ``service`` (the complete service JSON)."""
    new = call.params.json("service")
    if new is None:
        raise BadRequest("Missing parameter 'service'.")
    service_admin.edit_service(_store(call), *_key(call), new)
    return {"status": "success"}


def delete(call: Call) -> dict[str, Any]:
    """``delete``: the service and the data the site holds for it."""
    release_service(service_admin.delete_service(_store(call), *_key(call)))
    return {"status": "success"}


def _edit_values(call: Call) -> dict[str, str]:
    return {"service": orjson.dumps(resource(call), option=orjson.OPT_INDENT_2).decode()}


def item_info(call: Call) -> dict[str, Any]:
    """``iteminfo``: the description of the service's item (title, summary, tags, ...)."""
    service = _service(call)
    stored = service.definition.get("_itemInfo") or {}
    return {
        "title": stored.get("title", service.name),
        "summary": stored.get("summary", ""),
        "description": stored.get("description", service.definition.get("description", "")),
        "tags": stored.get("tags", []),
        "snippet": stored.get("snippet", ""),
        "accessInformation": stored.get("accessInformation", ""),
        "licenseInfo": stored.get("licenseInfo", ""),
        "typeKeywords": [],
        "type": {"FeatureServer": "Feature Service"}.get(service.type, service.type),
        "name": service.name,
        "guid": None,
        "culture": "en-us",
    }


def edit_item_info(call: Call) -> dict[str, Any]:
    """``iteminfo/edit`` with ``serviceItemInfo`` (JSON) and perhaps a ``thumbnail`` (ignored)."""
    raw = call.params.json("serviceItemInfo")
    if not isinstance(raw, dict):
        raise InvalidParameter("'serviceItemInfo' must be a JSON object.")
    info: dict[str, Any] = {}
    for key in (*_ITEM_INFO_KEYS, "licenseInfo"):
        if key not in raw:
            continue
        value = raw[key]
        if key == "tags":
            tags = value.split(",") if isinstance(value, str) else value
            if not isinstance(tags, list) or len(tags) > 128:
                raise InvalidParameter("'tags' must be a list of strings.")
            info[key] = [str(t).strip()[:256] for t in tags if str(t).strip()]
        else:
            info[key] = str(value or "")[:32_000]

    def change(service: Service) -> dict[str, Any]:
        merged = {**(service.definition.get("_itemInfo") or {}), **info}
        return {**service.definition, "_itemInfo": merged}

    service_admin.change_definition(_store(call), *_key(call), change)
    return {"status": "success"}


# -- permissions of the root, a folder or a service ------------------------------------------


def _permission_resource(call: Call) -> str:
    if "service" in call.args:
        service = _service(call)
        return service_resource(service.folder, service.name, service.type)
    return existing_folder(call)  # "" for the root


def permission_list(call: Call) -> dict[str, Any]:
    """``permissions``: what is set on this resource."""
    listed = _store(call).list_permissions(_permission_resource(call))
    return {"permissions": [p.public() for p in listed]}


def permission_add(call: Call) -> dict[str, Any]:
    """``permissions/add`` (``principal``, ``isAllowed``): applies to everything below too."""
    permissions.add(
        _store(call),
        _permission_resource(call),
        call.params.require("principal"),
        call.params.boolean("isAllowed", True),
    )
    return {"status": "success"}


def permission_remove(call: Call) -> dict[str, Any]:
    """``permissions/remove`` (``principal``)."""
    permissions.remove(_store(call), _permission_resource(call), call.params.require("principal"))
    return {"status": "success"}


_PRINCIPAL_FIELDS = (
    Field("principal", "Principal (role name, or esriEveryone)", required=True),
    Field("isAllowed", "Allowed", kind="select", options=("true", "false"), default="true"),
)


def permission_rows(prefix: str) -> list[Endpoint]:
    """``permissions``, ``permissions/add`` and ``permissions/remove`` under ``prefix``."""
    return [
        Endpoint(
            f"{prefix}/permissions",
            permission_list,
            title="Permissions",
            operations=("add", "remove"),
        ),
        Endpoint(
            f"{prefix}/permissions/add",
            permission_add,
            kind=OPERATION,
            title="Add Permission",
            fields=_PRINCIPAL_FIELDS,
            description="Allows or denies a role (or esriEveryone) here and on everything below.",
        ),
        Endpoint(
            f"{prefix}/permissions/remove",
            permission_remove,
            kind=OPERATION,
            title="Remove Permission",
            fields=_PRINCIPAL_FIELDS[:1],
        ),
    ]


#: A publisher manages the services it published; permissions stay with administrators.
_PUBLISH = Privilege.PUBLISH


def _rows(prefix: str) -> list[Endpoint]:
    base = f"{prefix}/{{service}}.{{type}}"
    return [
        Endpoint(
            base,
            owned(resource),
            privilege=_PUBLISH,
            children=("status", "statistics", "permissions", "iteminfo"),
            operations=("start", "stop", "edit", "delete"),
        ),
        Endpoint(f"{base}/status", owned(status), privilege=_PUBLISH, title="Status"),
        Endpoint(
            f"{base}/manageMapCacheTiles",
            map_cache.manage,  # authorized in geosite.core.map_cache
            kind=OPERATION,
            privilege=_PUBLISH,
            title="Manage Map Cache Tiles",
            fields=map_cache.FIELDS,
            description="Draws (seeds) or deletes a cached map service's tiles, as a job.",
        ),
        Endpoint(f"{base}/start", owned(start), kind=OPERATION, privilege=_PUBLISH, title="Start"),
        Endpoint(f"{base}/stop", owned(stop), kind=OPERATION, privilege=_PUBLISH, title="Stop"),
        Endpoint(
            f"{base}/edit",
            owned(edit),
            privilege=_PUBLISH,
            kind=OPERATION,
            title="Edit Service",
            fields=(Field("service", "Service (JSON)", kind="textarea", required=True),),
            form_values=_edit_values,
            description="Replaces the service's properties; takes effect at once.",
        ),
        Endpoint(
            f"{base}/delete",
            owned(delete),
            privilege=_PUBLISH,
            kind=OPERATION,
            title="Delete Service",
            description="Deletes the service and the data the site holds for it.",
        ),
        Endpoint(
            f"{base}/iteminfo",
            owned(item_info),
            privilege=_PUBLISH,
            title="Item Information",
            operations=("edit",),
        ),
        Endpoint(
            f"{base}/iteminfo/edit",
            owned(edit_item_info),
            privilege=_PUBLISH,
            kind=OPERATION,
            title="Edit Item Information",
            # ArcGIS takes a ``thumbnail`` file part here; python-ags 0.3.2 always sends one
            # (empty). It is read and not kept: geosite's items have no thumbnails.
            accepts_files=True,
            fields=(
                Field("serviceItemInfo", "Item information (JSON)", kind="textarea"),
                Field("thumbnail", "Thumbnail (not kept)", kind="file"),
            ),
        ),
        *permission_rows(base),
    ]


ENDPOINTS = [
    *_rows("/services"),
    *_rows("/services/{folder}"),
    *permission_rows("/services"),
    *permission_rows("/services/{folder}"),
]
