"""``/arcgis/admin/services``: folders, the services in them, and publishing."""

from __future__ import annotations

from typing import Any

from geosite.core import services
from geosite.core.models import Service
from geosite.core.uploads import ArchiveLimits
from geosite.data.isolated import import_isolated
from geosite.errors import BadRequest, NotFound
from geosite.http.routing import OPERATION, Call, Endpoint, Field

SYSTEM = "System"
SYSTEM_FOLDER = {
    "folderName": SYSTEM,
    "description": "Services that the server manages.",
    "webEncrypted": False,
    "isDefault": True,
}


def _entry(service: Service) -> dict[str, Any]:
    return {
        "folderName": service.folder or "/",
        "serviceName": service.name,
        "type": service.type,
        "description": service.definition.get("description", ""),
    }


def root(call: Call) -> dict[str, Any]:
    """``GET /admin/services``: the root folder, its folders and its services."""
    store = call.state.require_site().site.store
    folders = [f for f in store.list_folders() if f.name.lower() != SYSTEM.lower()]
    return {
        "folderName": "/",
        "description": "Root folder",
        "webEncrypted": False,
        "isDefault": True,
        "folders": [SYSTEM, *(f.name for f in folders)],
        "foldersDetail": [
            SYSTEM_FOLDER,
            *(
                {
                    "folderName": f.name,
                    "description": f.description,
                    "webEncrypted": False,
                    "isDefault": False,
                }
                for f in folders
            ),
        ],
        "services": [_entry(s) for s in store.list_services("")],
    }


def folder(call: Call) -> dict[str, Any]:
    """``GET /admin/services/{folder}`` (folder names ignore case)."""
    store = call.state.require_site().site.store
    name = call.args["folder"]
    if name.lower() == SYSTEM.lower():
        return {**SYSTEM_FOLDER, "services": []}
    found = store.get_folder(name)
    if found is None:
        raise NotFound(f"Could not find resource or operation '{name[:128]}' on the system.")
    return {
        "folderName": found.name,
        "description": found.description,
        "webEncrypted": False,
        "isDefault": False,
        "services": [_entry(s) for s in store.list_services(found.name)],
    }


def _folders(call: Call, payload: dict[str, Any]) -> list[str]:
    return list(payload.get("folders", []))


def create_service(call: Call) -> dict[str, Any]:
    """``POST /admin/services[/{folder}]/createService`` with ``service`` (the service JSON)."""
    runtime = call.state.require_site()
    definition = call.params.json("service")
    if definition is None:
        raise BadRequest("Missing parameter 'service'.")
    if isinstance(definition, dict) and "folder" in call.args:
        definition = {**definition, "folderName": call.args["folder"]}
    # GDAL and the import's arrays live in a child process: the worker stays small.
    service = services.create_service(
        runtime.site.store, call.state.clock, definition, import_isolated, ArchiveLimits()
    )
    return {
        "status": "success",
        "serviceName": service.name,
        "type": service.type,
        "folderName": service.folder or "/",
    }


SERVICE_FIELDS = (
    Field(
        "service",
        "Service (JSON)",
        kind="textarea",
        required=True,
        default='{"serviceName": "", "type": "FeatureServer", "folderName": "", '
        '"capabilities": "Query", "properties": {"itemID": "", '
        '"maxRecordCount": 2000}}',
    ),
)

ENDPOINTS = [
    Endpoint(
        "/services", root, title="Root Folder", children=_folders, operations=("createService",)
    ),
    Endpoint(
        "/services/createService",
        create_service,
        kind=OPERATION,
        title="Create Service",
        fields=SERVICE_FIELDS,
        description="Publishes an uploaded item (properties.itemID) as a service.",
    ),
    Endpoint("/services/{folder}", folder, operations=("createService",)),
    Endpoint(
        "/services/{folder}/createService",
        create_service,
        kind=OPERATION,
        title="Create Service",
        fields=SERVICE_FIELDS,
    ),
]
