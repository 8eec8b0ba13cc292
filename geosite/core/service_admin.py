"""Administering published services: their JSON, edits, start and stop, renames, deletes.

A service's stored definition is its service JSON (the keys ``createService`` and ``edit``
accept) plus geosite's own ``_geosite`` entry (where its data lives, its layers), which is
never shown. ``service_json`` fills in the instance settings ArcGIS clients expect to read;
geosite's workers serve every service, so those settings are kept and shown, not enforced
(documented in docs/admin-guide.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from geosite.core import map_output, map_service, ownership, utilities
from geosite.core.clock import Clock
from geosite.core.data_locations import remove_data
from geosite.core.models import Folder, Principal, Service
from geosite.core.services import (
    ANONYMOUS_EDITS,
    DEFAULT_MAX_RECORD_COUNT,
    MAP_SERVER,
    SYSTEM_FOLDER,
    add_folder,
    anonymous_edits,
    capabilities,
    data_lock,
    extensions,
    find_service,
    geometry_limits,
    json_scalars,
    max_record_count,
    normalise_folder,
    valid_service_name,
)
from geosite.errors import Conflict, InvalidParameter, NotFound
from geosite.storage.base import SiteStore

STARTED, STOPPED = "STARTED", "STOPPED"

#: Instance settings of ArcGIS's service JSON: (default, minimum, maximum).
_INTEGER_SETTINGS: dict[str, tuple[int, int, int]] = {
    "minInstancesPerNode": (1, 0, 1024),
    "maxInstancesPerNode": (2, 1, 1024),
    "instancesPerContainer": (1, 1, 1024),
    "maxWaitTime": (60, 0, 86_400),
    "maxStartupTime": (300, 0, 86_400),
    "maxIdleTime": (1800, 0, 86_400 * 7),
    "maxUsageTime": (600, 0, 86_400),
    "recycleInterval": (24, 0, 24 * 365),
    "keepAliveInterval": (1800, 0, 86_400),
    "maxUploadFileSize": (0, 0, 2**31 - 1),
}
_CHOICES: dict[str, tuple[str, ...]] = {
    "loadBalancing": ("ROUND_ROBIN", "FAIL_OVER"),
    "isolationLevel": ("HIGH", "LOW"),
}
_TEXT_SETTINGS = {"clusterName": "default", "allowedUploadFileTypes": ""}
_RECYCLE_START = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
#: Keys of the service JSON that ``edit`` changes.
EDITABLE_KEYS = frozenset(
    {
        "serviceName",
        "type",
        "description",
        "capabilities",
        *_INTEGER_SETTINGS,
        *_CHOICES,
        *_TEXT_SETTINGS,
        "recycleStartTime",
        "maxRecordCount",
        "properties",
        "extensions",
        "frameworkProperties",
        map_service.DRAWING_KEY,
    }
)
#: Keys the service JSON shows that ``edit`` takes back unchanged (the site sets them).
READ_ONLY_KEYS = frozenset(
    {
        "provider",
        "configuredState",
        "private",
        "isDefault",
        "datasets",
        "portalProperties",
        "folderName",
    }
)
KNOWN_KEYS = EDITABLE_KEYS | READ_ONLY_KEYS
#: Keys published clients put in the service JSON that ArcGIS Server ignores, and ``edit`` too:
#: python-ags 0.3.2 sends ``"f": "json"`` and ``"enabled": true`` with every edit. A key whose
#: value is ``null`` changes nothing either (ArcREST 3.5.9 sends ``"interceptor": null``). Any
#: other unknown key is still refused: a typo must not pass for a change.
IGNORED_KEYS = frozenset({"f", "enabled"})
_MAX_DESCRIPTION = 32_000
_MAX_JSON_ITEMS = 200


def service_json(service: Service, private: bool = False) -> dict[str, Any]:
    """The service JSON the Administrator API answers (and ``edit`` accepts back)."""
    d = service.definition
    out: dict[str, Any] = {
        "serviceName": service.name,
        "type": service.type,
        "description": d.get("description", ""),
        "capabilities": d.get("capabilities", "Query"),
        "provider": "geosite",
        "clusterName": d.get("clusterName", "default"),
    }
    for key, (default, _low, _high) in _INTEGER_SETTINGS.items():
        out[key] = d.get(key, default)
    out["loadBalancing"] = d.get("loadBalancing", "ROUND_ROBIN")
    out["isolationLevel"] = d.get("isolationLevel", "HIGH")
    out["configuredState"] = service.configured_state
    out["recycleStartTime"] = d.get("recycleStartTime", "00:00")
    out["private"] = private
    out["isDefault"] = False
    out["allowedUploadFileTypes"] = d.get("allowedUploadFileTypes", "")
    properties = dict(d.get("properties") or {})
    if service.type not in utilities.DATALESS_TYPES:  # feature services: their records and edits
        properties["maxRecordCount"] = str(d.get("maxRecordCount", DEFAULT_MAX_RECORD_COUNT))
        properties.setdefault(ANONYMOUS_EDITS, "false")  # services published before it existed
    out["properties"] = properties
    out["extensions"] = list(d.get("extensions") or [])
    out["frameworkProperties"] = dict(d.get("frameworkProperties") or {})
    out["datasets"] = []
    out["portalProperties"] = {"isHosted": False}
    if service.type == MAP_SERVER:
        out[map_service.DRAWING_KEY] = map_service.drawing_json(service)
    return out


def _integer(key: str, value: Any) -> int:
    _default, low, high = _INTEGER_SETTINGS[key]
    try:
        number = int(str(value).strip()) if not isinstance(value, bool) else None
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise InvalidParameter(f"'{key}' must be an integer from {low} to {high}.")
    return number


def edited_definition(service: Service, new: Any) -> dict[str, Any]:
    """The stored definition after ``edit`` with the service JSON ``new`` (validated).

    ``serviceName`` and ``type`` may be left out; when given they must be the service's own
    (renaming is ``renameService``). Settings left out keep their current values.
    """
    if not isinstance(new, dict):
        raise InvalidParameter("'service' must be a JSON object.")
    unknown = sorted(
        str(key)[:64]
        for key, value in new.items()
        if key not in KNOWN_KEYS | IGNORED_KEYS and value is not None
    )
    if unknown:
        listed = "', '".join(unknown[:10])
        raise InvalidParameter(
            f"Unknown service propert{'y' if len(unknown) == 1 else 'ies'} '{listed}'.",
            details=[f"Known properties: {', '.join(sorted(KNOWN_KEYS))}."],
        )
    name, kind = new.get("serviceName"), new.get("type")
    if name not in (None, "") and str(name).lower() != service.name.lower():
        raise InvalidParameter("The service name cannot be changed by edit; use renameService.")
    if kind not in (None, "") and str(kind).lower() != service.type.lower():
        raise InvalidParameter(f"The service type cannot be changed (it is {service.type}).")
    current = service.definition
    out = dict(current)
    if "description" in new:
        description = str(new["description"] or "")
        if len(description) > _MAX_DESCRIPTION:
            raise InvalidParameter("The description is too long.")
        out["description"] = description
    if "capabilities" in new:
        out["capabilities"] = capabilities(new["capabilities"], service.type)
    for key in _INTEGER_SETTINGS:
        if key in new:
            out[key] = _integer(key, new[key])
    low = out.get("minInstancesPerNode", _INTEGER_SETTINGS["minInstancesPerNode"][0])
    high = out.get("maxInstancesPerNode", _INTEGER_SETTINGS["maxInstancesPerNode"][0])
    if low > high:
        raise InvalidParameter("minInstancesPerNode cannot exceed maxInstancesPerNode.")
    for key, choices in _CHOICES.items():
        if key in new:
            value = str(new[key]).upper()
            if value not in choices:
                raise InvalidParameter(f"'{key}' must be one of {', '.join(choices)}.")
            out[key] = value
    for key in _TEXT_SETTINGS:
        if key in new:
            out[key] = str(new[key] or "")[:256]
    if "recycleStartTime" in new:
        start = str(new["recycleStartTime"])
        if not _RECYCLE_START.match(start):
            raise InvalidParameter("'recycleStartTime' must be HH:MM.")
        out["recycleStartTime"] = start
    if "properties" in new:
        properties = json_scalars("properties", new["properties"])
        properties.pop("maxRecordCount", None)
        out["properties"] = {k: v for k, v in properties.items() if k != "itemID"}
        if map_service.CACHED_KEY in properties:
            if service.type != MAP_SERVER:
                raise InvalidParameter(f"'{map_service.CACHED_KEY}' is a property of map services.")
            cached = map_service.cached_property(properties[map_service.CACHED_KEY])
            out["properties"][map_service.CACHED_KEY] = cached
    if "extensions" in new:
        out["extensions"] = extensions(new["extensions"])
    if new.get(map_service.DRAWING_KEY) is not None:
        out[map_service.DRAWING_KEY] = map_service.edited_drawing(
            service, new[map_service.DRAWING_KEY]
        )
    if "frameworkProperties" in new:
        out["frameworkProperties"] = json_scalars("frameworkProperties", new["frameworkProperties"])
    if "maxRecordCount" in new or "maxRecordCount" in (new.get("properties") or {}):
        out["maxRecordCount"] = max_record_count(new)
    out["properties"] = {
        **dict(out.get("properties") or {}),
        "maxRecordCount": str(out.get("maxRecordCount", DEFAULT_MAX_RECORD_COUNT)),
    }
    geometry_limits(out)  # maxVerticesPerFeature and the others: refused when out of range
    out["properties"][ANONYMOUS_EDITS] = "true" if anonymous_edits(out) else "false"
    return out


_ATTEMPTS = 20


def change_definition(
    store: SiteStore,
    folder: str,
    name: str,
    kind: str,
    change: Callable[[Service], dict[str, Any]],
) -> Service:
    """Read a service, change its definition, and write it back unless someone else wrote
    first (then read again): concurrent edits never undo each other."""
    for _ in range(_ATTEMPTS):
        service = find_service(store, folder, name, kind)
        updated = store.update_service(
            service.folder,
            service.name,
            service.type,
            definition=change(service),
            expected=service.definition,
        )
        if updated is not None:
            return updated
    raise Conflict(_busy(folder, name))


def _busy(folder: str, name: str) -> str:
    """ArcGIS's words when administrative operations on one service collide."""
    return (
        f"Service '{name}' in folder '{folder or '/'}' is currently being configured by "
        "another administrative operation. Please try again later."
    )


def edit_service(store: SiteStore, folder: str, name: str, kind: str, new: Any) -> Service:
    """Apply ``edit``; takes effect on the next request of every worker."""
    return change_definition(
        store, folder, name, kind, lambda service: edited_definition(service, new)
    )


def set_state(store: SiteStore, folder: str, name: str, kind: str, state: str) -> Service:
    """Start or stop a service (the configured state every worker reads per request)."""
    service = find_service(store, folder, name, kind)
    updated = store.update_service(
        service.folder, service.name, service.type, configured_state=state
    )
    if updated is None:
        raise NotFound(f"Service '{service.qualified_name}' does not exist.")
    return updated


def rename_service(store: SiteStore, folder: str, name: str, kind: str, new_name: str) -> Service:
    """``renameService``: a new name in the same folder (refused when taken)."""
    valid_service_name(new_name)
    for _ in range(_ATTEMPTS):
        service = find_service(store, folder, name, kind)
        utilities.refuse_change(service, "renamed")
        if new_name == service.name:
            raise InvalidParameter(f"The service is already named '{new_name}'.")
        definition = {**service.definition, "serviceName": new_name}
        renamed = store.rename_service(
            service.folder,
            service.name,
            service.type,
            new_name,
            definition,
            expected=service.definition,
        )
        if renamed is not None:
            map_output.remove_cache(store, service)
            return renamed
    raise Conflict(_busy(folder, name))


def delete_service(store: SiteStore, folder: str, name: str, kind: str) -> Service:
    """Delete a service and the data the site owns for it (its GeoPackage, WAL and lock)."""
    service = find_service(store, folder, name, kind)
    utilities.refuse_change(service, "deleted")
    with data_lock(store):
        deleted = store.delete_service(service.folder, service.name, service.type)
        if deleted is None:
            raise NotFound(f"Service '{service.qualified_name}' does not exist.")
        remove_data(deleted.definition, store)
    map_output.remove_cache(store, deleted)
    return deleted


def service_references(payload: Any) -> list[tuple[str, str, str]]:
    """(folder, name, type) of each service in a ``startServices``/``stopServices`` list.

    Clients send ``{"services": [...]}`` (the ArcGIS API for Python) or a bare array (the
    documentation's example); both are accepted. A root folder is "", "/" or absent.
    """
    items = payload.get("services") if isinstance(payload, dict) else payload
    if not isinstance(items, list) or not items:
        raise InvalidParameter("'services' must list the services, as {\"services\": [...]}.")
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise InvalidParameter("Each service is an object with serviceName and type.")
        name, kind = item.get("serviceName"), item.get("type")
        if not isinstance(name, str) or not isinstance(kind, str) or not name or not kind:
            raise InvalidParameter("Each service needs a serviceName and a type.")
        folder = item.get("folderName")
        out.append((normalise_folder(folder if isinstance(folder, str) else ""), name, kind))
    return out


def create_folder(store: SiteStore, clock: Clock, name: Any, description: Any) -> Folder:
    """``createFolder``: a new, empty folder with the root's permissions."""
    folder = normalise_folder(name if isinstance(name, str) else "")
    if not folder:
        raise InvalidParameter("Missing parameter 'folderName'.")
    text = str(description or "")
    if len(text) > _MAX_DESCRIPTION:
        raise InvalidParameter("The description is too long.")
    if store.get_folder(folder) is not None or not add_folder(store, clock, folder, text):
        raise Conflict(f"Folder '{folder}' already exists.")
    found = store.get_folder(folder)
    if found is None:
        raise Conflict(f"Folder '{folder}' was deleted while it was being created.")
    return found


def delete_folder(store: SiteStore, name: str) -> list[Service]:
    """``deleteFolder``: the folder and every service in it, as ArcGIS does; their
    permissions in the same transaction, then their data. Returns the services deleted."""
    folder = normalise_folder(name)
    if folder.lower() == SYSTEM_FOLDER.lower() or utilities.is_utilities(folder):
        shown = SYSTEM_FOLDER if folder.lower() == SYSTEM_FOLDER.lower() else "Utilities"
        raise InvalidParameter(f"The {shown} folder is a default folder and cannot be deleted.")
    if not folder:
        raise InvalidParameter("The root folder cannot be deleted.")
    with data_lock(store):
        deleted = store.delete_folder(folder)
        if deleted is None:
            raise NotFound(f"Folder '{folder[:128]}' does not exist.")
        for service in deleted:
            remove_data(service.definition, store)
    return deleted


def edit_folder(store: SiteStore, name: str, description: Any) -> None:
    """``editFolder``: a new description."""
    folder = normalise_folder(name)
    text = str(description or "")
    if len(text) > _MAX_DESCRIPTION:
        raise InvalidParameter("The description is too long.")
    found = store.get_folder(folder) if folder else None
    if found is None or not store.update_folder(found.name, text):
        raise NotFound(f"Folder '{folder[:128]}' does not exist.")


def set_states(
    store: SiteStore, payload: Any, state: str, caller: Principal | None = None
) -> list[Service]:
    """``startServices``/``stopServices``: every listed service must exist, and be the
    caller's to manage when a ``caller`` is given; then all change."""
    found = [find_service(store, *ref) for ref in service_references(payload)]
    if caller is not None:
        for service in found:
            ownership.check_manage(caller, service.owner)
    changed = []
    for service in found:
        updated = store.update_service(
            service.folder, service.name, service.type, configured_state=state
        )
        if updated is not None:
            changed.append(updated)
    return changed


def delete_services(
    store: SiteStore,
    payload: Any,
    caller: Principal | None = None,
    deleted: Callable[[Service], None] = lambda service: None,
) -> list[Service]:
    """``deleteServices``: every listed service must exist, be deletable (not a default
    service) and be the caller's to manage; then each is deleted with its data, and
    ``deleted`` is told of it at once (so that a failure halfway leaves none held open)."""
    found = [find_service(store, *ref) for ref in service_references(payload)]
    for service in found:
        utilities.refuse_change(service, "deleted")
        if caller is not None:
            ownership.check_manage(caller, service.owner)
    done = []
    for key in dict.fromkeys((s.folder, s.name, s.type) for s in found):  # each once, in order
        service = delete_service(store, *key)
        deleted(service)
        done.append(service)
    return done
