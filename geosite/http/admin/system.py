"""The other top-level resources: system, clusters and mode (a site has no clusters)."""

from __future__ import annotations

from typing import Any

import orjson

from geosite.core import licenses as license_info
from geosite.core import system_properties
from geosite.core.models import Privilege, ServerDirectory
from geosite.errors import InvalidParameter, NotFound
from geosite.http.routing import OPERATION, Call, Endpoint, Field


def _site(call: Call) -> Any:
    return call.state.require_site().site


def system(call: Call) -> dict[str, Any]:
    """``GET /admin/system``."""
    _site(call)
    return {"resources": ["properties", "directories", "handlers", "licenses", "quarantine"]}


def properties(call: Call) -> dict[str, Any]:
    """``GET /admin/system/properties``: the site's properties (``{}`` when none are set)."""
    return dict(call.state.require_site().system_properties().values)


def update_properties(call: Call) -> dict[str, Any]:
    """``POST /admin/system/properties/update``: replace the site's properties."""
    runtime = call.state.require_site()
    runtime.set_system_properties(system_properties.parse(call.params.get("properties")))
    return {"status": "success"}


def _property_values(call: Call) -> dict[str, str]:
    values = call.state.require_site().system_properties().values
    return {"properties": orjson.dumps(values).decode()}


def directories(call: Call) -> dict[str, Any]:
    """``GET /admin/system/directories``: the server directories of the site."""
    return {"directories": [d.public() for d in _site(call).store.list_directories()]}


def directory(call: Call) -> dict[str, Any]:
    """``GET /admin/system/directories/{name}``: one server directory (names ignore case)."""
    name = call.args["name"]
    listed: list[ServerDirectory] = _site(call).store.list_directories()
    for found in listed:
        if found.name.lower() == name.lower():
            return found.public()
    raise NotFound(f"Could not find resource or operation '{name[:128]}' on the system.")


def _directory_names(call: Call, payload: dict[str, Any]) -> list[str]:
    return [d["name"] for d in payload.get("directories", [])]


def handlers(call: Call) -> dict[str, Any]:
    """``GET /admin/system/handlers``: the web handlers (geosite's is the REST one)."""
    _site(call)
    return {"resources": ["rest"]}


def rest_handler(call: Call) -> dict[str, Any]:
    """``GET /admin/system/handlers/rest``."""
    _site(call)
    return {"resources": ["cache"]}


def rest_cache(call: Call) -> dict[str, Any]:
    """``GET /admin/system/handlers/rest/cache`` (the reference: "for future use only")."""
    _site(call)
    return {}


def clear_rest_cache(call: Call) -> dict[str, Any]:
    """``POST /admin/system/handlers/rest/cache/clear``: geosite's REST answers read the
    catalog as it is now and keep no cache of it, so there is nothing to clear; the
    parameters are checked as ArcGIS documents them."""
    _site(call)
    if call.params.get("serviceName") and not call.params.get("type"):
        raise InvalidParameter(
            "When serviceName is given, type must be given too (e.g. type=FeatureServer)."
        )
    return {"status": "success"}


def licenses(call: Call) -> dict[str, Any]:
    """``GET /admin/system/licenses``: the edition, level, extensions and features."""
    _site(call)
    return license_info.licenses()


def clusters(call: Call) -> dict[str, Any]:
    """``GET /admin/clusters`` (clusters are deprecated in ArcGIS; a site has none)."""
    _site(call)
    return {"clusters": []}


def mode(call: Call) -> dict[str, Any]:
    """``GET /admin/mode``: the site is editable."""
    site = _site(call).store.get_setting("site") or {}
    return {"siteMode": "EDITABLE", "lastModified": site.get("createdMs", 0)}


def _children(call: Call, payload: dict[str, Any]) -> list[str]:
    return list(payload.get("resources", []))


ENDPOINTS = [
    Endpoint("/system", system, title="System", children=_children),
    Endpoint(
        "/system/licenses",
        licenses,
        title="Licenses",
        privilege=Privilege.PUBLISH,
        description="geosite is open source (Apache-2.0): nothing here expires. The features "
        "are the service types this site publishes.",
    ),
    Endpoint(
        "/system/properties",
        properties,
        title="System Properties",
        operations=["update"],
        description="Properties of the site. WebContextURL is the URL clients reach the site "
        "at through a reverse proxy or web adaptor: every URL the site writes starts with it.",
    ),
    Endpoint(
        "/system/properties/update",
        update_properties,
        kind=OPERATION,
        title="Update System Properties",
        fields=[Field("properties", "Properties (JSON)", kind="textarea", required=True)],
        form_values=_property_values,
        description="Replaces all the properties: send the ones to keep too.",
    ),
    Endpoint(
        "/system/directories",
        directories,
        title="Server Directories",
        children=_directory_names,
    ),
    Endpoint("/system/directories/{name}", directory, title="Server Directory"),
    Endpoint("/system/handlers", handlers, title="Handlers", children=_children),
    Endpoint("/system/handlers/rest", rest_handler, title="REST Handler", children=_children),
    Endpoint("/system/handlers/rest/cache", rest_cache, title="REST Cache", operations=["clear"]),
    Endpoint(
        "/system/handlers/rest/cache/clear",
        clear_rest_cache,
        kind=OPERATION,
        title="Clear REST Cache",
        allow_get=True,
        fields=[
            Field("folderName", "Folder name"),
            Field("serviceName", "Service name"),
            Field("type", "Service type"),
        ],
        description="geosite keeps no REST cache: every answer reads the current catalog, so "
        "this succeeds with nothing to clear (scripts written for ArcGIS Server call it after "
        "changes).",
    ),
    Endpoint("/clusters", clusters, title="Clusters"),
    Endpoint("/mode", mode, title="Mode"),
]
