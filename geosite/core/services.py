"""Services: folders created on demand, and publishing an uploaded item as a FeatureServer.

The core does not read data itself: publishing is handed an ``Importer`` (the HTTP layer
passes ``geosite.data.importer.import_dataset``) that writes the site's own GeoPackage and
describes its layers. The service record keeps that description under ``_geosite``; it is
never shown as is to clients.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from geosite.core import datastores, map_output, ownership, uploads, utilities
from geosite.core.clock import Clock
from geosite.core.data_locations import (
    Placement,
    Referenced,
    data_store_of,
    is_database_path,
    remove_data,
)
from geosite.core.models import Folder, Principal, Service
from geosite.errors import Conflict, InvalidParameter, NotFound
from geosite.files import FILE_MODE, file_lock, private_dir
from geosite.storage.base import SiteStore

#: Writes the GeoPackage ``target`` from the file or directory ``source``; returns its layers.
Importer = Callable[[Path, Path], list[dict[str, Any]]]

FEATURE_SERVER, MAP_SERVER = "FeatureServer", "MapServer"
SUPPORTED_TYPES = (FEATURE_SERVER, MAP_SERVER)
DEFAULT_MAX_RECORD_COUNT = 2000
DEFAULT_CAPABILITIES = "Query"
ALLOWED_CAPABILITIES = ("Query", "Create", "Update", "Delete", "Editing", "Extract", "Sync")
#: A map service's capabilities: drawing (export, identify, find, legend), its layers'
#: queries, and ``Data`` (features with their geometry from identify and query).
MAP_CAPABILITIES = ("Map", "Query", "Data")
_NAME = re.compile(r"^[A-Za-z0-9_]{1,120}$")
_FOLDER = re.compile(r"^[A-Za-z0-9_]{1,120}$")
SYSTEM_FOLDER = "System"
#: Folder names that would hide a resource or operation of ``/admin/services`` (and System,
#: which ArcGIS keeps for its own services).
RESERVED_FOLDERS = frozenset(
    name.lower()
    for name in (
        SYSTEM_FOLDER,
        "Utilities",  # a default folder of the site's own (geosite.core.utilities)
        "types",
        "report",
        "permissions",
        "createFolder",
        "createService",
        "exists",
        "renameService",
        "startServices",
        "stopServices",
    )
)


def service_types() -> list[dict[str, Any]]:
    """The service types this server hosts, as ``/admin/services/types`` lists them."""
    feature = {
        "name": "FeatureServer",
        "description": "Feature access: query (and, with its capabilities, editing).",
        "capabilities": ",".join(ALLOWED_CAPABILITIES),
        "extensions": [],
        "providers": ["geosite"],
    }
    map_service = {
        "name": MAP_SERVER,
        "description": "Map images drawn from the data (export, tiles), identify, find, legend.",
        "capabilities": ",".join(MAP_CAPABILITIES),
        "extensions": [],
        "providers": ["geosite"],
    }
    return [feature, map_service, utilities.geometry_type()]


def valid_service_name(name: str) -> str:
    """The name, when it is one a service may have (letters, digits, underscores)."""
    if not _NAME.match(name):
        raise InvalidParameter(
            f"Invalid service name '{name[:64]}'. Use 1 to 120 letters, digits and underscores."
        )
    return name


def normalise_folder(name: Any) -> str:
    """The folder name as stored: "" for the root (given as absent, "" or "/")."""
    if name is not None and not isinstance(name, str):
        raise InvalidParameter("The folder name must be a string.")
    folder = (name or "").strip().strip("/")
    if folder and not _FOLDER.match(folder):
        raise InvalidParameter(
            f"Invalid folder name '{folder[:64]}'. Use letters, digits and underscores."
        )
    return folder


def add_folder(store: SiteStore, clock: Clock, folder: str, description: str) -> bool:
    """Create a folder with the root's permissions; False when it exists already."""
    if folder.lower() in RESERVED_FOLDERS:
        raise InvalidParameter(f"'{folder}' is reserved and cannot be used as a folder name.")
    try:
        store.add_folder(Folder(folder, description, clock.now_ms()), inherit=True)
    except Conflict:  # created meanwhile by another request
        return False
    return True


def data_directory(store: SiteStore) -> Path:
    """Where the site keeps the data of its services (inside the SYSTEM directory)."""
    return uploads.uploads_directory(store).parent / "services"


#: In the data directory: the lock of changes that add, replace or remove services' data
#: files, and the prefix of the folders of unfinished imports and restores.
ADMIN_LOCK = ".admin.lock"
WORK_LOCK = ".busy"
IMPORT_PREFIX = ".import-"
RESTORE_PREFIX = ".restore-"


@contextmanager
def data_lock(store: SiteStore) -> Iterator[Path]:
    """Hold the site-wide lock of the service data files; yields the data directory.

    Held around each change that puts a data file into place or takes one away together
    with the store change that references it or forgets it (publishing, overwriting,
    deleting, restoring a backup), and by the start-up sweep (``geosite.core.quarantine``)
    while it looks for files no service references: the sweep never sees a file between its
    move and its store row. It is a lock file, so every worker process and machine of the
    site that shares the directory takes part.
    """
    directory = private_dir(data_directory(store))
    with file_lock(directory / ADMIN_LOCK):
        yield directory


@contextmanager
def workspace(store: SiteStore, prefix: str = IMPORT_PREFIX) -> Iterator[Path]:
    """A private folder in the data directory for one import (or restore), removed after.

    It is locked while in use, so the start-up sweep leaves it alone; a process killed
    meanwhile leaves it unlocked, and the next start moves it into the quarantine.
    """
    with contextlib.ExitStack() as stack:
        with data_lock(store) as directory:  # made and locked before a sweep can see it
            work = Path(tempfile.mkdtemp(prefix=prefix, dir=directory))
            stack.enter_context(file_lock(work / WORK_LOCK))
        try:
            yield work
        finally:
            shutil.rmtree(work, ignore_errors=True)


def _source(
    store: SiteStore, definition: dict[str, Any], publisher: Principal | None
) -> tuple[Path, str]:
    """The file to publish: ``properties.dataPath`` in a registered folder, or an upload."""
    properties = definition.get("properties") or {}
    data_path = properties.get("dataPath") if isinstance(properties, dict) else None
    if isinstance(data_path, str) and data_path:
        if is_database_path(data_path):
            return Path(), data_path  # served by reference (see ``complete``)
        return datastores.resolve_data_path(store, data_path), data_path
    item = uploads.get_upload(store, _item_id(definition), publisher)
    return Path(item.path), item.item_name


def _item_id(definition: dict[str, Any]) -> str:
    properties = definition.get("properties") or {}
    source = properties.get("dataSource") if isinstance(properties, dict) else None
    for value in (
        properties.get("itemID") if isinstance(properties, dict) else None,
        source.get("itemID") if isinstance(source, dict) else None,
        definition.get("itemID"),
        definition.get("itemId"),
    ):
        if isinstance(value, str) and value:
            return value
    raise InvalidParameter(
        "The service has no data source.",
        details=[
            "Give the id of an uploaded item as properties.itemID, or a file in a registered "
            "folder as properties.dataPath (/fileShares/<name>/<path>)."
        ],
    )


def capabilities(value: Any, kind: str = FEATURE_SERVER) -> str:
    """Validated ``capabilities`` of a service of type ``kind`` (comma-separated names; Query,
    or a map service's three, when empty)."""
    allowed = MAP_CAPABILITIES if kind == MAP_SERVER else ALLOWED_CAPABILITIES
    if value in (None, ""):
        return ",".join(MAP_CAPABILITIES) if kind == MAP_SERVER else DEFAULT_CAPABILITIES
    names = [c.strip() for c in str(value).split(",") if c.strip()]
    bad = [c for c in names if c not in allowed]
    if bad:
        raise InvalidParameter(f"Unknown capability '{bad[0][:32]}'.")
    return ",".join(dict.fromkeys(names))


EDIT_CAPABILITIES = ("Create", "Update", "Delete")


def edit_capabilities(value: Any) -> set[str]:
    """The kinds of edit a capabilities string allows ("Editing" alone allows all three)."""
    granted = {c.strip() for c in str(value or "").split(",")}
    allowed = granted & set(EDIT_CAPABILITIES)
    if "Editing" in granted and not allowed:
        return set(EDIT_CAPABILITIES)
    return allowed


def advertised_capabilities(value: Any) -> str:
    """A capabilities string as a FeatureServer's REST JSON shows it: ``Editing`` added when
    edits are allowed, as ArcGIS Server writes it (``Create,Delete,Query,Update,Editing``).

    The ArcGIS Maps SDK for JavaScript reads edits as supported only when ``Editing`` is listed
    (``Query,Create,Update,Delete`` alone made every ``applyEdits`` fail in the browser with
    "Editing is disabled for layer")."""
    text = str(value or "")
    granted = [c.strip() for c in text.split(",") if c.strip()]
    if edit_capabilities(text) and "Editing" not in granted:
        granted.append("Editing")
    return ",".join(granted)


def max_record_count(definition: dict[str, Any]) -> int:
    """``properties.maxRecordCount`` (or top-level) of a service JSON, validated."""
    properties = definition.get("properties") or {}
    if not isinstance(properties, dict):
        raise InvalidParameter("'properties' must be a JSON object.")
    raw = properties.get("maxRecordCount", definition.get("maxRecordCount"))
    if raw in (None, ""):
        return DEFAULT_MAX_RECORD_COUNT
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise InvalidParameter("maxRecordCount must be an integer.")
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParameter("maxRecordCount must be an integer.") from None
    if not 1 <= value <= 100_000:
        raise InvalidParameter("maxRecordCount must be between 1 and 100000.")
    return value


#: Limits on edited geometries, kept in a service's ``properties`` (as ArcGIS keeps
#: ``maxRecordCount``): name -> (default, least, most). docs/security.md says what each
#: defends against and why the defaults are what they are.
GEOMETRY_LIMITS: dict[str, tuple[float, float, float]] = {
    "maxVerticesPerFeature": (250_000, 1, 10_000_000),
    "maxPartsPerFeature": (10_000, 1, 1_000_000),
    "maxVerticesPerRequest": (1_000_000, 1, 100_000_000),
    "maxGeometryRepairSeconds": (1.0, 0.1, 60),
}


def geometry_limits(definition: dict[str, Any]) -> dict[str, float]:
    """The geometry limits of a service JSON's ``properties``, validated (defaults filled in).

    The counts are integers; ``maxGeometryRepairSeconds`` may have decimals.
    """
    properties = definition.get("properties") or {}
    if not isinstance(properties, dict):
        raise InvalidParameter("'properties' must be a JSON object.")
    out: dict[str, float] = {}
    for name, (default, least, most) in GEOMETRY_LIMITS.items():
        raw = properties.get(name)
        if raw in (None, ""):
            out[name] = default
            continue
        integral = isinstance(default, int)
        try:
            if isinstance(raw, bool) or not isinstance(raw, int | float | str):
                raise ValueError
            value = int(str(raw).strip()) if integral else float(raw)
        except ValueError:
            value = None
        if value is None or not least <= value <= most:  # NaN is never within
            kind = "an integer" if integral else "a number"
            raise InvalidParameter(f"{name} must be {kind} from {_shown(least)} to {_shown(most)}.")
        out[name] = value
    return out


#: A service property: whether a public service takes edits from callers with no token.
#: ArcGIS Server does; geosite does not unless an administrator says so (docs/security.md).
ANONYMOUS_EDITS = "allowAnonymousEdits"


def anonymous_edits(definition: dict[str, Any]) -> bool:
    """Whether the service JSON's ``properties`` let callers with no token edit (when the
    service is public and has editing capabilities); false when not set."""
    properties = definition.get("properties") or {}
    raw = properties.get(ANONYMOUS_EDITS) if isinstance(properties, dict) else None
    if raw in (None, ""):
        return False
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true"
    raise InvalidParameter(f"{ANONYMOUS_EDITS} must be true or false.")


def _limit_properties(definition: dict[str, Any]) -> dict[str, str]:
    """The geometry limits a service JSON sets, validated, as ArcGIS keeps properties: text;
    and ``allowAnonymousEdits``, always shown."""
    given = definition.get("properties") or {}
    limits = geometry_limits(definition)
    shown = {name: _shown(limits[name]) for name in GEOMETRY_LIMITS if name in given}
    shown[ANONYMOUS_EDITS] = "true" if anonymous_edits(definition) else "false"
    return shown


def _shown(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


#: Reports a step of a publication (``progress("Importing parks.zip")``).
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Publication:
    """A publication checked before its data is imported (``prepare``)."""

    definition: dict[str, Any]
    name: str
    kind: str
    folder_name: str
    capabilities: str
    max_records: int
    source: Path
    source_name: str
    #: The service ``overwrite`` replaces (None: a new service).
    replaces: Service | None


def prepare(
    store: SiteStore,
    definition: Any,
    publisher: Principal | None = None,
    *,
    overwrite: bool = False,
) -> Publication:
    """Check a ``createService`` before anything is imported: the name, type, folder,
    capabilities, record limit and data source, and that the name is free (or, with
    ``overwrite``, that the caller may manage the service the publication replaces)."""
    if not isinstance(definition, dict):
        raise InvalidParameter("'service' must be a JSON object.")
    name = valid_service_name(str(definition.get("serviceName") or ""))
    kind = str(definition.get("type") or "FeatureServer")
    if kind not in SUPPORTED_TYPES:
        raise InvalidParameter(f"Service type '{kind[:32]}' cannot be published.")
    folder_name = normalise_folder(definition.get("folderName"))
    if folder_name.lower() in RESERVED_FOLDERS:
        raise InvalidParameter(f"Services cannot be published to the folder '{folder_name}'.")
    found_folder = store.get_folder(folder_name) if folder_name else None
    folder = found_folder.name if found_folder else folder_name
    existing = store.get_service(folder, name, kind)
    if existing is not None and not overwrite:
        raise Conflict(
            f"Service '{name}.{kind}' already exists in folder '{folder or '/'}'.",
            details=["Publish with overwrite=true to replace it."],
        )
    if existing is not None:
        ownership.check_manage(publisher, existing.owner)
    service_capabilities = capabilities(definition.get("capabilities"), kind)
    extensions(definition.get("extensions"))
    max_records = max_record_count(definition)
    _limit_properties(definition)
    source, source_name = _source(store, definition, publisher)
    return Publication(
        definition,
        name,
        kind,
        folder_name,
        service_capabilities,
        max_records,
        source,
        source_name,
        existing,
    )


def complete(
    store: SiteStore,
    clock: Clock,
    publication: Publication,
    importer: Importer,
    limits: uploads.ArchiveLimits,
    publisher: Principal | None = None,
    progress: Progress | None = None,
    placement: Placement | None = None,
    referenced: Referenced | None = None,
) -> Service:
    """Import a prepared publication's data and add its service, or replace the one it
    overwrites (keeping its state, owner and permissions). The old service stays as it was
    whenever the import fails; its data is removed only once the new service is stored.

    With ``placement`` the imported GeoPackage is loaded into a database (PostGIS) and the
    service serves it from there; otherwise the GeoPackage is the service's data. With
    ``referenced`` (a table of a registered database, ``properties.dataPath``) nothing is
    imported: the service serves the table where it is, and deleting it leaves the table.

    The data is written in a workspace and moved into place only at the commit, under the
    data lock: a process killed before leaves an unfinished import, one killed between the
    move and the store's commit a data file no service references; the next start puts both
    in the quarantine (``geosite.core.quarantine``)."""
    report = progress or (lambda message: None)
    if referenced is not None:  # served where it is: nothing to import
        report(f"Reading {publication.source_name}.")
        where, described = referenced()
        record = _record(store, publication, described, where, by_reference=True)
        service = _commit(store, clock, publication, None, record, publisher, where)
    else:
        report(f"Importing {publication.source_name}.")
        with workspace(store) as work:
            staged, layers = _import(work, publication.source, importer, limits)
            report(f"Imported {len(layers)} layer(s).")
            location = placement(staged, layers) if placement is not None else None
            if location is not None:
                report("Loaded into the database.")
            record = _record(store, publication, layers, location)
            service = _commit(store, clock, publication, staged, record, publisher, location)
    old = publication.replaces
    if old is not None:
        report(f"Service {old.qualified_name}.{old.type} overwritten.")
    else:
        report(f"Service {service.qualified_name}.{service.type} created.")
    return service


def _record(
    store: SiteStore,
    publication: Publication,
    layers: list[dict[str, Any]],
    location: str | None,
    *,
    by_reference: bool = False,
) -> dict[str, Any]:
    """The stored definition of a publication whose data is ready."""
    found = store.get_folder(publication.folder_name) if publication.folder_name else None
    folder = found.name if found is not None else publication.folder_name
    properties: dict[str, Any] = {
        "maxRecordCount": str(publication.max_records),
        **_limit_properties(publication.definition),
    }
    cached = (publication.definition.get("properties") or {}).get("isCached")
    if publication.kind == MAP_SERVER and cached not in (None, ""):
        properties["isCached"] = "true" if str(cached).strip().lower() == "true" else "false"
    if by_reference:
        properties["dataPath"] = publication.source_name
    elif location is not None:  # where the data went ("site": the machine's data store)
        properties["dataStore"] = data_store_of(publication.definition) or "site"
    private: dict[str, Any] = {"data": "", "layers": layers, "sourceItem": publication.source_name}
    if by_reference:
        private["byReference"] = True
    record_extensions = extensions(publication.definition.get("extensions"))
    return {
        "extensions": record_extensions,
        "serviceName": publication.name,
        "type": publication.kind,
        "folderName": folder or "/",
        "description": str(publication.definition.get("description") or ""),
        "capabilities": publication.capabilities,
        "maxRecordCount": publication.max_records,
        "properties": properties,
        "_geosite": private,
    }


def _commit(
    store: SiteStore,
    clock: Clock,
    publication: Publication,
    staged: Path | None,
    record: dict[str, Any],
    publisher: Principal | None,
    location: str | None = None,
) -> Service:
    """Move the imported data into place (unless it was loaded elsewhere, at ``location``)
    and store the service that references it."""
    old = publication.replaces
    with data_lock(store) as directory:
        if location is None and staged is not None:
            target = directory / f"{secrets.token_hex(16)}.gpkg"
            record["_geosite"]["data"] = str(target)
            os.replace(staged, target)
        else:
            record["_geosite"]["data"] = location or ""
        try:
            if old is None:
                service = store.publish_service(
                    Service(
                        str(record["folderName"]).strip("/"),
                        publication.name,
                        publication.kind,
                        record,
                        "STARTED",
                        clock.now_ms(),
                        ownership.owner_of_new(publisher),
                    )
                )
            else:
                if "_itemInfo" in old.definition:
                    record["_itemInfo"] = old.definition["_itemInfo"]
                replaced = store.update_service(
                    old.folder, old.name, old.type, definition=record, expected=old.definition
                )
                if replaced is None:  # changed or deleted meanwhile: leave it as it is now
                    raise Conflict(
                        f"Service '{old.qualified_name}' changed while it was being "
                        "overwritten; nothing was replaced. Publish again."
                    )
                service = replaced
        except BaseException:
            remove_data(record, store)
            raise
        if old is not None:
            remove_data(old.definition, store)
            map_output.remove_cache(store, old)  # tiles of the data it had
    return service


def create_service(
    store: SiteStore,
    clock: Clock,
    definition: Any,
    importer: Importer,
    limits: uploads.ArchiveLimits,
    publisher: Principal | None = None,
    *,
    overwrite: bool = False,
) -> Service:
    """Publish an uploaded item as a service described by ``definition`` (the service JSON).

    ``publisher`` becomes the service's owner; a PUBLISH user may publish only its own uploads.
    With ``overwrite``, an existing service of that name is replaced once the new data is
    imported (see ``complete``).
    """
    publication = prepare(store, definition, publisher, overwrite=overwrite)
    return complete(store, clock, publication, importer, limits, publisher)


def _import(
    work: Path, source: Path, importer: Importer, limits: uploads.ArchiveLimits
) -> tuple[Path, list[dict[str, Any]]]:
    """Import ``source`` into a GeoPackage in the workspace ``work``; it and its layers."""
    target = work / "data.gpkg"
    if source.suffix.lower() == ".zip":
        source = uploads.extract_archive(source, work / "source", limits)
    layers = importer(source, target)
    if not layers:
        raise InvalidParameter("The uploaded item holds no layer to publish.")
    target.chmod(FILE_MODE)
    return target, layers


_MAX_EXTENSIONS = 200


def json_scalars(key: str, value: Any) -> dict[str, Any]:
    """A JSON object of strings, numbers and booleans (``properties``), at most 200 of them."""
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > _MAX_EXTENSIONS:
        raise InvalidParameter(f"'{key}' must be a JSON object.")
    for name, item in value.items():
        if isinstance(item, dict | list):
            raise InvalidParameter(f"'{key}.{str(name)[:64]}' must be a string, number or boolean.")
    return dict(value)


def extensions(value: Any) -> list[dict[str, Any]]:
    """A service JSON's ``extensions``, checked: each names its ``typeName``; a
    ``FeatureServer`` extension's capabilities are a feature service's."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > _MAX_EXTENSIONS:
        raise InvalidParameter("'extensions' must be a JSON array.")
    out = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("typeName"), str):
            raise InvalidParameter("Each extension needs a 'typeName'.")
        granted = str(item.get("capabilities") or "")
        if item["typeName"] == FEATURE_SERVER:
            granted = capabilities(granted, FEATURE_SERVER)
        out.append(
            {
                "typeName": item["typeName"][:120],
                "enabled": str(item.get("enabled", "false")).lower(),
                "capabilities": granted,
                "properties": json_scalars("extensions.properties", item.get("properties")),
            }
        )
    return out


def feature_access(service: Service) -> Service | None:
    """The FeatureServer a map service offers through its enabled ``FeatureServer``
    extension (ArcGIS's feature access): the same service, data and permissions, with the
    extension's capabilities; None when it offers none."""
    if service.type != MAP_SERVER:
        return None
    for extension in service.definition.get("extensions") or ():
        if (
            isinstance(extension, dict)
            and extension.get("typeName") == FEATURE_SERVER
            and str(extension.get("enabled")).lower() == "true"
        ):
            granted = capabilities(extension.get("capabilities"), FEATURE_SERVER)
            definition = {**service.definition, "capabilities": granted}
            return dataclasses.replace(service, type=FEATURE_SERVER, definition=definition)
    return None


def served_service(store: SiteStore, folder: str, name: str, kind: str) -> tuple[Service, Service]:
    """(the stored service, the service as ``kind`` serves it): a FeatureServer is also the
    feature access of a map service of that name (``feature_access``)."""
    found = store.get_service(normalise_folder(folder), name, kind)
    if found is None and kind == FEATURE_SERVER:
        host = store.get_service(normalise_folder(folder), name, MAP_SERVER)
        view = feature_access(host) if host is not None else None
        if host is not None and view is not None:
            return host, view
    service = found or find_service(store, folder, name, kind)
    return service, service


def find_service(store: SiteStore, folder: str, name: str, kind: str) -> Service:
    """A service by folder, name and type (ignoring case), or ``NotFound``."""
    service = store.get_service(normalise_folder(folder), name, kind)
    if service is None:
        where = f"{folder}/{name}" if folder else name
        raise NotFound(f"Service '{where[:128]}' of type {kind} does not exist.")
    return service
