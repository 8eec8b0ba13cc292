"""``/arcgis/admin/services``: folders, publishing, and operations on many services at once."""

from __future__ import annotations

from typing import Any

from geosite.core import jobs, ownership, service_admin, services, utilities
from geosite.core.models import Folder, Privilege, Service
from geosite.core.permissions import EVERYONE
from geosite.core.service_admin import STARTED, STOPPED
from geosite.core.services import SYSTEM_FOLDER, find_service, normalise_folder
from geosite.core.uploads import ArchiveLimits
from geosite.data.isolated import import_isolated
from geosite.errors import BadRequest, NotFound
from geosite.http import feature_data
from geosite.http.data_files import release_service
from geosite.http.routing import OPERATION, Call, Endpoint, Field

SYSTEM_DETAIL = {
    "folderName": SYSTEM_FOLDER,
    "description": "Services that the server manages.",
    "webEncrypted": False,
    "isDefault": True,
}
FOLDER_CHILDREN = ("report", "permissions")
ROOT_CHILDREN = ("types", "report", "permissions")


def entry(service: Service) -> dict[str, Any]:
    """A service as folder listings show it."""
    return {
        "folderName": service.folder or "/",
        "serviceName": service.name,
        "type": service.type,
        "description": service.definition.get("description", ""),
        "isDefault": False,  # scripts read it on every item; only ArcGIS's own services are
    }


def _detail(folder: Folder) -> dict[str, Any]:
    return {
        "folderName": folder.name,
        "description": folder.description,
        "webEncrypted": False,
        "isDefault": utilities.is_utilities(folder.name),
    }


def _folders(call: Call) -> list[Folder]:
    """The stored folders, the default Utilities first (as ArcGIS lists its defaults)."""
    found = call.state.require_site().site.store.list_folders()
    return sorted(found, key=lambda f: not utilities.is_utilities(f.name))


def _listing(call: Call, folder: str) -> list[Any]:
    store = call.state.require_site().site.store
    found = store.list_services(folder)
    if call.params.boolean("detail"):
        public = {
            p.resource.lower()
            for p in store.list_permissions()
            if p.is_allowed and p.principal.lower() == EVERYONE.lower()
        }
        # Scripts index folderName on every item of a listing, detailed or not.
        return [
            {
                "folderName": s.folder or "/",
                **service_admin.service_json(s, s.resource.lower() not in public),
            }
            for s in found
        ]
    return [entry(s) for s in found]


def root(call: Call) -> dict[str, Any]:
    """``GET /admin/services``: the root folder, its folders (System first) and its services."""
    folders = _folders(call)
    return {
        "folderName": "/",
        "description": "Root folder",
        "webEncrypted": False,
        "isDefault": True,
        "folders": [SYSTEM_FOLDER, *(f.name for f in folders)],
        "foldersDetail": [SYSTEM_DETAIL, *(_detail(f) for f in folders)],
        "services": _listing(call, ""),
    }


def existing_folder(call: Call) -> str:
    """The stored spelling of the URL's folder ("" for the root), or ArcGIS's 404."""
    name = call.args.get("folder", "")
    if not name:
        return ""
    found = call.state.require_site().site.store.get_folder(normalise_folder(name))
    if found is None:
        raise NotFound(f"Could not find resource or operation '{name[:128]}' on the system.")
    return found.name


def folder(call: Call) -> dict[str, Any]:
    """``GET /admin/services/{folder}`` (folder names ignore case)."""
    if call.args["folder"].lower() == SYSTEM_FOLDER.lower():
        return {**SYSTEM_DETAIL, "services": []}
    name = existing_folder(call)
    found = call.state.require_site().site.store.get_folder(name)
    if found is None:  # deleted since existing_folder read it
        raise NotFound(f"Could not find resource or operation '{name[:128]}' on the system.")
    return {**_detail(found), "services": _listing(call, name)}


def _root_children(call: Call, payload: dict[str, Any]) -> list[str]:
    services = [f"{s['serviceName']}.{s['type']}" for s in payload.get("services", [])]
    return [*payload.get("folders", []), *services, *ROOT_CHILDREN]


def _folder_children(call: Call, payload: dict[str, Any]) -> list[str]:
    services = [f"{s['serviceName']}.{s['type']}" for s in payload.get("services", [])]
    return [*services, *FOLDER_CHILDREN]


def _published(service: Service) -> dict[str, Any]:
    return {
        "status": "success",
        "serviceName": service.name,
        "type": service.type,
        "folderName": service.folder or "/",
    }


def create_service(call: Call) -> dict[str, Any]:
    """``POST /admin/services[/{folder}]/createService`` with ``service`` (the service JSON).

    ``overwrite=true`` replaces a service of that name once the new data is imported.
    ``runAsync=true`` answers at once with a job (``{"status": "submitted", "jobId": ...}``)
    after checking the request; ``/admin/system/jobs/<jobId>`` reports the import.
    """
    runtime = call.state.require_site()
    definition = call.params.json("service")
    if definition is None:
        raise BadRequest("Missing parameter 'service'.")
    if isinstance(definition, dict) and "folder" in call.args:
        definition = {**definition, "folderName": call.args["folder"]}
    store, clock, caller = runtime.site.store, call.state.clock, call.principal
    publication = services.prepare(
        store, definition, caller, overwrite=call.params.boolean("overwrite")
    )
    settings = call.state.settings
    referenced = feature_data.referenced(
        settings, store, publication.definition, publication.capabilities
    )
    placement = (
        None
        if referenced is not None
        else feature_data.placement(settings, store, publication.definition)
    )

    def publish(progress: services.Progress | None = None) -> dict[str, Any]:
        # GDAL and the import's arrays live in a child process: the worker stays small.
        return _published(
            services.complete(
                store,
                clock,
                publication,
                import_isolated,
                ArchiveLimits(),
                caller,
                progress,
                placement,
                referenced,
            )
        )

    if not call.params.boolean("runAsync"):
        return publish()
    job = jobs.submit(store, clock, "createService", caller, publish)
    # ArcGIS's asynchronous edit answers "jobid"; its jobs resource says "jobId": both.
    return {"status": "submitted", "jobId": job["jobId"], "jobid": job["jobId"]}


def create_folder(call: Call) -> dict[str, Any]:
    """``POST /admin/services/createFolder`` (``folderName``, ``description``)."""
    store = call.state.require_site().site.store
    service_admin.create_folder(
        store, call.state.clock, call.params.get("folderName"), call.params.get("description")
    )
    return {"status": "success"}


def delete_folder(call: Call) -> dict[str, Any]:
    """``POST /admin/services/{folder}/deleteFolder``: the folder and all services in it."""
    for service in service_admin.delete_folder(
        call.state.require_site().site.store, call.args["folder"]
    ):
        release_service(service)
    return {"status": "success"}


def edit_folder(call: Call) -> dict[str, Any]:
    """``POST /admin/services/{folder}/editFolder`` (``description``)."""
    store = call.state.require_site().site.store
    service_admin.edit_folder(store, call.args["folder"], call.params.get("description"))
    return {"status": "success"}


def exists(call: Call) -> dict[str, Any]:
    """``POST /admin/services/exists``: a folder (``folderName``) or a service in it."""
    store = call.state.require_site().site.store
    folder_name = normalise_folder(call.params.get("folderName"))
    name, kind = call.params.get("serviceName"), call.params.get("type")
    if not name:
        if not folder_name:
            return {"exists": True}  # the root
        found = folder_name.lower() == SYSTEM_FOLDER.lower() or store.get_folder(folder_name)
        return {"exists": bool(found)}
    try:
        find_service(store, folder_name, name, kind or "FeatureServer")
    except NotFound:
        return {"exists": False}
    return {"exists": True}


def rename_service(call: Call) -> dict[str, Any]:
    """``POST /admin/services[/{folder}]/renameService``."""
    store = call.state.require_site().site.store
    folder_name = existing_folder(call)
    name, kind = call.params.require("serviceName"), call.params.require("serviceType")
    ownership.check_manage(call.principal, find_service(store, folder_name, name, kind).owner)
    renamed = service_admin.rename_service(
        store, folder_name, name, kind, call.params.require("serviceNewName")
    )
    release_service(renamed)
    return {"status": "success"}


def _batch(call: Call, state: str) -> dict[str, Any]:
    payload = call.params.json("services")
    if payload is None:
        raise BadRequest("Missing parameter 'services'.")
    store = call.state.require_site().site.store
    changed = service_admin.set_states(store, payload, state, call.principal)
    if state == STOPPED:
        for service in changed:
            release_service(service)
    return {"status": "success", "services": [entry(s) for s in changed]}


def start_services(call: Call) -> dict[str, Any]:
    """``POST /admin/services/startServices`` (``{"services": [...]}`` or a bare array)."""
    return _batch(call, STARTED)


def stop_services(call: Call) -> dict[str, Any]:
    """``POST /admin/services/stopServices`` (``{"services": [...]}`` or a bare array)."""
    return _batch(call, STOPPED)


def delete_services(call: Call) -> dict[str, Any]:
    """``POST /admin/services/deleteServices`` (the same ``services`` list as startServices)."""
    payload = call.params.json("services")
    if payload is None:
        raise BadRequest("Missing parameter 'services'.")
    store = call.state.require_site().site.store
    deleted = service_admin.delete_services(store, payload, call.principal, release_service)
    return {"status": "success", "services": [entry(s) for s in deleted]}


def types(call: Call) -> dict[str, Any]:
    """``GET /admin/services/types``: the service types this server can host."""
    return {"types": services.service_types()}


_EXISTS_FIELDS = (
    Field("folderName", "Folder name"),
    Field("serviceName", "Service name"),
    Field("type", "Type", default="FeatureServer"),
)
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
    Field("overwrite", "Overwrite an existing service", kind="select", options=("false", "true")),
    Field("runAsync", "Run as a job", kind="select", options=("false", "true")),
)
_SERVICES_FIELD = (
    Field(
        "services",
        "Services (JSON)",
        kind="textarea",
        required=True,
        default='{"services": [{"folderName": "", "serviceName": "", "type": "FeatureServer"}]}',
    ),
)
_RENAME_FIELDS = (
    Field("serviceName", "Service name", required=True),
    Field("serviceType", "Service type", default="FeatureServer", required=True),
    Field("serviceNewName", "New name", required=True),
)
_ROOT_OPERATIONS = (
    "createFolder",
    "createService",
    "renameService",
    "exists",
    "startServices",
    "stopServices",
    "deleteServices",
)
_FOLDER_OPERATIONS = ("createService", "renameService", "editFolder", "deleteFolder")

#: Publishers browse, publish, and manage their own services (checked per service).
_PUBLISH = Privilege.PUBLISH

ENDPOINTS = [
    Endpoint(
        "/services",
        root,
        privilege=_PUBLISH,
        title="Root Folder",
        children=_root_children,
        operations=_ROOT_OPERATIONS,
    ),
    Endpoint(
        "/services/createService",
        create_service,
        privilege=_PUBLISH,
        kind=OPERATION,
        title="Create Service",
        fields=SERVICE_FIELDS,
        description="Publishes an uploaded item (properties.itemID) as a service. "
        "overwrite=true replaces a service of that name once the new data is imported; "
        "runAsync=true answers with a job that /admin/system/jobs/<jobId> reports.",
    ),
    Endpoint(
        "/services/createFolder",
        create_folder,
        privilege=_PUBLISH,
        kind=OPERATION,
        title="Create Folder",
        fields=(Field("folderName", "Folder name", required=True), Field("description")),
    ),
    Endpoint(
        "/services/exists",
        exists,
        privilege=_PUBLISH,
        kind=OPERATION,
        title="Exists",
        fields=_EXISTS_FIELDS,
        description="Whether a folder, or a service in a folder, exists.",
    ),
    Endpoint(
        "/services/renameService",
        rename_service,
        privilege=_PUBLISH,
        kind=OPERATION,
        title="Rename Service",
        fields=_RENAME_FIELDS,
    ),
    Endpoint(
        "/services/startServices",
        start_services,
        privilege=_PUBLISH,
        kind=OPERATION,
        title="Start Services",
        fields=_SERVICES_FIELD,
    ),
    Endpoint(
        "/services/stopServices",
        stop_services,
        privilege=_PUBLISH,
        kind=OPERATION,
        title="Stop Services",
        fields=_SERVICES_FIELD,
    ),
    Endpoint(
        "/services/deleteServices",
        delete_services,
        privilege=_PUBLISH,
        kind=OPERATION,
        title="Delete Services",
        fields=_SERVICES_FIELD,
    ),
    Endpoint("/services/types", types, privilege=_PUBLISH, title="Service Types"),
    Endpoint(
        "/services/{folder}/createService",
        create_service,
        privilege=_PUBLISH,
        kind=OPERATION,
        title="Create Service",
        fields=SERVICE_FIELDS,
    ),
    # slap 3.3.1 asks ``services/exists/exists`` before every publish, against ArcGIS Server
    # 10.2 and later, which answers it as ``services/exists``: the folderName parameter says
    # where to look, the folder in the path is not read (not advertised as an operation).
    Endpoint(
        "/services/{folder}/exists",
        exists,
        privilege=_PUBLISH,
        kind=OPERATION,
        title="Exists",
        fields=_EXISTS_FIELDS,
    ),
    Endpoint(
        "/services/{folder}/renameService",
        rename_service,
        privilege=_PUBLISH,
        kind=OPERATION,
        title="Rename Service",
        fields=_RENAME_FIELDS,
    ),
    Endpoint(
        "/services/{folder}/deleteFolder",
        delete_folder,
        kind=OPERATION,
        title="Delete Folder",
        description="Deletes the folder and all services within it (their data and "
        "permissions too).",
    ),
    Endpoint(
        "/services/{folder}/editFolder",
        edit_folder,
        kind=OPERATION,
        title="Edit Folder",
        fields=(Field("description", "Description", kind="textarea"),),
    ),
]

#: After every other row of ``/services``: a folder matches any single segment.
FOLDER_ENDPOINT = Endpoint(
    "/services/{folder}",
    folder,
    privilege=_PUBLISH,
    children=_folder_children,
    operations=_FOLDER_OPERATIONS,
)
