"""The other top-level resources: system, clusters and mode (a site has no clusters)."""

from __future__ import annotations

from typing import Any

import orjson

from geosite.core import directories as server_directories
from geosite.core import licenses as license_info
from geosite.core import system_properties
from geosite.core.models import Privilege, ServerDirectory
from geosite.errors import InvalidParameter
from geosite.http.routing import OPERATION, Call, Endpoint, Field


def _site(call: Call) -> Any:
    return call.state.require_site().site


def system(call: Call) -> dict[str, Any]:
    """``GET /admin/system``."""
    _site(call)
    return {
        "resources": [
            "properties",
            "directories",
            "configstore",
            "handlers",
            "licenses",
            "webadaptors",
            "quarantine",
        ]
    }


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
    found: ServerDirectory = server_directories.find(_site(call).store, call.args["name"])
    return found.public()


def _change(call: Call) -> server_directories.DirectoryChange:
    params = call.params
    return server_directories.DirectoryChange(
        physical_path=params.get("physicalPath"),
        cleanup_mode=params.get("cleanupMode"),
        max_file_age=params.integer("maxFileAge", None, minimum=0, maximum=2**31 - 1),
        description=params.get("description"),
    )


def register_directory(call: Call) -> dict[str, Any]:
    """``POST /admin/system/directories/register``."""
    site = _site(call)
    name, kind = call.params.get("name"), call.params.get("directoryType")
    server_directories.register(site.store, site.data_dir, name, kind, _change(call))
    return {"status": "success"}


def edit_directory(call: Call) -> dict[str, Any]:
    """``POST /admin/system/directories/{name}/edit``."""
    site = _site(call)
    server_directories.edit(site.store, site.data_dir, call.args["name"], _change(call))
    return {"status": "success"}


def clean_directory(call: Call) -> dict[str, Any]:
    """``POST /admin/system/directories/{name}/clean``."""
    site = _site(call)
    server_directories.clean(site.store, site.clock, call.args["name"])
    return {"status": "success"}


def unregister_directory(call: Call) -> dict[str, Any]:
    """``POST /admin/system/directories/{name}/unregister``."""
    server_directories.unregister(_site(call).store, call.args["name"])
    return {"status": "success"}


_CLEANUP = ("", *server_directories.CLEANUP_MODES)


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
        operations=["register"],
    ),
    Endpoint(
        "/system/directories/register",
        register_directory,
        kind=OPERATION,
        title="Register Directory",
        fields=[
            Field("name", "Name", required=True),
            Field("physicalPath", "Physical path", required=True),
            Field("directoryType", "Type", kind="select", options=server_directories.TYPES),
            Field("cleanupMode", "Cleanup mode", kind="select", options=_CLEANUP),
            Field("maxFileAge", "Maximum file age (minutes)", kind="number"),
            Field("description"),
        ],
        description="The folder is made if missing and must belong to the server's user; it "
        "may not hold the site's own files. A site has one SYSTEM directory.",
    ),
    Endpoint(
        "/system/directories/{name}",
        directory,
        title="Server Directory",
        operations=["edit", "clean", "unregister"],
    ),
    Endpoint(
        "/system/directories/{name}/edit",
        edit_directory,
        kind=OPERATION,
        title="Edit Directory",
        fields=[
            Field("physicalPath", "Physical path"),
            Field("cleanupMode", "Cleanup mode", kind="select", options=_CLEANUP),
            Field("maxFileAge", "Maximum file age (minutes)", kind="number"),
            Field("description"),
        ],
        description="What is not sent stays as it is. The SYSTEM directory cannot be moved.",
    ),
    Endpoint(
        "/system/directories/{name}/clean",
        clean_directory,
        kind=OPERATION,
        title="Clean Directory",
        description="Deletes the files not modified for maxFileAge minutes when the cleanup "
        "mode is TIME_ELAPSED_SINCE_LAST_MODIFIED (nothing with NONE).",
    ),
    Endpoint(
        "/system/directories/{name}/unregister",
        unregister_directory,
        kind=OPERATION,
        title="Unregister Directory",
        description="The site forgets the directory; its files stay. The SYSTEM directory "
        "cannot be unregistered.",
    ),
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
