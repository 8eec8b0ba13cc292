"""Registered data stores: folders on the server's disk that services can be published from.

ArcGIS's data item JSON, for a folder::

    {"path": "/fileShares/<name>", "type": "folder",
     "info": {"path": "<folder on the server>", "dataStoreConnectionType": "shared"}}

A service is then published from a file inside it by naming it in the service JSON as
``properties.dataPath`` = ``/fileShares/<name>/<path inside the folder>``; the data is copied
into the site's own GeoPackage, as for uploads. Paths are resolved on disk and must stay inside
the registered folder (no ``..``, no symbolic link out of it).

PostgreSQL databases are the other item type, ``/enterpriseDatabases/<name>`` (type ``egdb``,
:mod:`geosite.core.databases`): registering or validating one connects to it (the ``Probe``
the caller gives, from the data layer) and checks that PostGIS is installed. A service
published from one keeps ``properties.dataPath`` = ``/enterpriseDatabases/<name>/<schema.table>``
in its definition (:func:`services_using`), and the item cannot be unregistered while any does.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from geosite.core import databases
from geosite.core.clock import Clock
from geosite.core.models import DatabaseConnection, DataItem, Service
from geosite.errors import Conflict, GeositeError, InvalidParameter, NotFound
from geosite.storage.base import SiteStore

ROOT_ITEMS = ("/fileShares", "/enterpriseDatabases", "/cloudStores", "/nosqlDatabases")
FILE_SHARES = "/fileShares"
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,119}$")
_CONNECTION_TYPES = ("shared", "replicated")
#: Connects to a database and checks that it can serve (PostGIS installed); raises a
#: ``GeositeError`` that says why not. The data layer's job: core speaks no SQL.
Probe = Callable[[DatabaseConnection], None]


def _item_path(path: Any) -> str:
    text = str(path or "").strip().rstrip("/")
    parent, _, name = text.rpartition("/")
    if parent.lower() != FILE_SHARES.lower() or not _NAME.match(name) or ".." in name:
        raise InvalidParameter(
            "Folders are registered at '/fileShares/<name>' (letters, digits, '_', '-', '.'), "
            "databases with type 'egdb' at '/enterpriseDatabases/<name>'."
        )
    return f"{FILE_SHARES}/{name}"


def checked_item(raw: Any) -> DataItem:
    """A data item JSON validated: a folder that exists and can be read on this machine."""
    if not isinstance(raw, dict):
        raise InvalidParameter("'item' must be a JSON object.")
    if str(raw.get("type", "folder")).lower() != "folder":
        raise InvalidParameter(
            f"Data items of type '{str(raw.get('type'))[:32]}' are not supported (folder or egdb)."
        )
    path = _item_path(raw.get("path"))
    info = raw.get("info")
    if not isinstance(info, dict) or not isinstance(info.get("path"), str):
        raise InvalidParameter("'info.path' must name the folder on the server.")
    if "\x00" in info["path"]:
        raise InvalidParameter("'info.path' must name the folder on the server.")
    folder = Path(info["path"])
    if not folder.is_absolute():
        raise InvalidParameter("'info.path' must be an absolute path on the server.")
    try:
        resolved = folder.resolve()
        readable = resolved.is_dir() and os.access(resolved, os.R_OK | os.X_OK)
    except OSError:  # a name too long, a loop of links...
        readable = False
    if not readable:
        raise InvalidParameter("The folder does not exist on the server, or cannot be read.")
    kind = str(info.get("dataStoreConnectionType") or "shared").lower()
    if kind not in _CONNECTION_TYPES:
        raise InvalidParameter("'dataStoreConnectionType' must be shared or replicated.")
    client = raw.get("clientPath")
    return DataItem(
        path=path,
        type="folder",
        info={"path": str(resolved), "dataStoreConnectionType": kind},
        client_path=str(client) if isinstance(client, str) and client else None,
    )


def _is_database(raw: Any) -> bool:
    return isinstance(raw, dict) and str(raw.get("type") or "").lower() == databases.TYPE


def _checked(store: SiteStore, raw: Any, probe: Probe) -> DataItem:
    """The item to store: a folder that can be read, or a database that answers."""
    if not _is_database(raw):
        return checked_item(raw)
    item, connection = databases.checked_item(store, raw)
    probe(connection)
    return item


def register(store: SiteStore, clock: Clock, raw: Any, probe: Probe) -> DataItem:
    """``registerItem``: a database is connected to first (``probe``)."""
    if _is_database(raw):  # before connecting
        path = databases.item_path(raw.get("path"))
        if store.get_data_item(path) is not None:
            raise Conflict(f"A data item is already registered at '{path}'.")
    item = _checked(store, raw, probe)
    registered = DataItem(item.path, item.type, item.info, item.client_path, clock.now_ms())
    store.add_data_item(registered)
    return registered


def validate(store: SiteStore, raw: Any, probe: Probe) -> None:
    """``validateDataItem``: a folder must be readable and not registered yet; a database
    must answer, registered or not (clients retest a registered database with the item
    ``findItems`` gave them, its ``ENCRYPTED_PASSWORD`` included)."""
    if _is_database(raw):
        _checked(store, raw, probe)
    else:
        exists_conflict(store, raw)


def edit(store: SiteStore, path: str, raw: Any, probe: Probe) -> DataItem:
    """``items/<root>/<name>/edit``: the item replaced by ``raw`` (same path and type), checked
    as ``registerItem`` checks it: a database's new password, or its new host, is connected
    to first. The store has no update of an item: it is removed and added again at once."""
    old = get(store, path)
    if not isinstance(raw, dict):
        raise InvalidParameter("'item' must be a JSON object.")
    given = {"path": old.path, "type": old.type, **raw}
    if str(given["path"]).strip().rstrip("/").lower() != old.path.lower():
        raise InvalidParameter("An item's path cannot change: register a new item instead.")
    if str(given["type"]).lower() != old.type.lower():
        raise InvalidParameter("An item's type cannot change: register a new item instead.")
    item = _checked(store, {**given, "path": old.path}, probe)
    edited = DataItem(old.path, old.type, item.info, item.client_path, old.created_ms)
    store.delete_data_item(old.path)
    store.add_data_item(edited)
    return edited


def services_using(store: SiteStore, item_path: str) -> list[Service]:
    """The services whose ``properties.dataPath`` is the item's path or lies under it
    (``/enterpriseDatabases/<name>/<schema.table>``), or whose data was published into it
    (``properties.dataStore``), ignoring case."""
    prefix = item_path.strip().rstrip("/").lower()
    found = []
    for service in store.list_services():
        properties = service.definition.get("properties")
        if not isinstance(properties, dict):
            continue
        for key in ("dataPath", "dataStore"):
            named = properties.get(key)
            if isinstance(named, str) and (
                named.lower() == prefix or named.lower().startswith(prefix + "/")
            ):
                found.append(service)
                break
    return found


def unregister(store: SiteStore, path: Any) -> None:
    """``unregisterItem``: refused while a service reads from the item (services published
    from a folder keep their own copy of the data, and name none)."""
    item_path = str(path or "").strip().rstrip("/")
    item = store.get_data_item(item_path) if item_path else None
    if item is None:
        raise NotFound(f"No data item is registered at '{item_path[:128]}'.")
    users = services_using(store, item.path)
    if users:
        names = ", ".join(f"{s.qualified_name}.{s.type}" for s in users[:10])
        raise Conflict(
            f"The data item '{item.path}' cannot be unregistered: {len(users)} service(s) use "
            f"it ({names}{', ...' if len(users) > 10 else ''}). Delete them first."
        )
    if not store.delete_data_item(item.path):
        raise NotFound(f"No data item is registered at '{item_path[:128]}'.")


def ref_count(store: SiteStore, path: Any) -> int:
    """``computeTotalRefCount``: how many services use the item."""
    item_path = str(path or "").strip().rstrip("/")
    item = store.get_data_item(item_path) if item_path else None
    if item is None:
        raise NotFound(f"No data item is registered at '{item_path[:128]}'.")
    return len(services_using(store, item.path))


def validate_all(store: SiteStore, probe: Probe) -> None:
    """``validateAllDataItems``: every folder readable, every database answering; one
    message per item that is not."""
    failures = []
    for item in store.list_data_items():
        try:
            if item.type == databases.TYPE:
                probe(databases.database_connection(store, item.path))
            else:
                checked_item(item.public())
        except GeositeError as exc:
            failures.append(f"{item.path}: {exc.messages[0]}")
    if failures:
        raise InvalidParameter("Some data items are not valid.", details=failures)


def find(
    store: SiteStore, parent: str | None, ancestor: str | None, types: str | None
) -> list[DataItem]:
    """``findItems``: items under a parent (or an ancestor) path, of some types."""
    wanted = {t.strip().lower() for t in (types or "").split(",") if t.strip()}
    found = []
    for item in store.list_data_items():
        head = item.path.rsplit("/", 1)[0].lower()
        if parent and head != parent.rstrip("/").lower():
            continue
        if ancestor and not item.path.lower().startswith(ancestor.rstrip("/").lower() + "/"):
            continue
        if wanted and item.type.lower() not in wanted:
            continue
        found.append(item)
    return found


def get(store: SiteStore, path: str) -> DataItem:
    """The item at ``path``, or NotFound."""
    item = store.get_data_item("/" + path.strip("/"))
    if item is None:
        raise NotFound(f"No data item is registered at '/{path.strip('/')[:128]}'.")
    return item


def resolve_data_path(store: SiteStore, data_path: str) -> Path:
    """The file (or file geodatabase) a ``/fileShares/<name>/<relative>`` path names.

    Refused unless it exists inside the registered folder once every link is followed.
    """
    if "\x00" in data_path:
        raise InvalidParameter("'dataPath' must be /fileShares/<name>/<path inside the folder>.")
    parts = data_path.strip().lstrip("/").split("/", 2)
    if len(parts) < 3 or "/" + parts[0].lower() != FILE_SHARES.lower() or not parts[2]:
        raise InvalidParameter("'dataPath' must be /fileShares/<name>/<path inside the folder>.")
    item = store.get_data_item(f"{FILE_SHARES}/{parts[1]}")
    if item is None:
        raise NotFound(f"No data item is registered at '{FILE_SHARES}/{parts[1][:64]}'.")
    root = Path(str(item.info.get("path", ""))).resolve()
    relative = Path(parts[2])
    if relative.is_absolute() or ".." in relative.parts:
        raise InvalidParameter("'dataPath' must stay inside the registered folder.")
    try:
        target = (root / relative).resolve()
        if not target.is_relative_to(root):
            raise InvalidParameter("'dataPath' must stay inside the registered folder.")
        if not target.exists():
            raise NotFound(f"'{parts[2][:128]}' does not exist in {item.path}.")
        _check_contained(target, root)
    except OSError:  # a name too long, a loop of links, a folder that cannot be read...
        raise InvalidParameter("'dataPath' cannot be read on the server.") from None
    return target


def _check_contained(target: Path, root: Path) -> None:
    """Refuse when anything GDAL would read (a folder's files, a shapefile's sidecars) is a
    link that leads out of the registered folder."""
    if target.is_dir():
        candidates = []
        for folder, dirs, files in os.walk(target, followlinks=False):
            candidates += [Path(folder, name) for name in (*dirs, *files)]
    else:
        candidates = [p for p in target.parent.iterdir() if p.stem == target.stem]
    for candidate in candidates:
        if not candidate.resolve().is_relative_to(root):
            raise InvalidParameter(
                f"'{candidate.name[:64]}' links outside the registered folder and is not read."
            )


def exists_conflict(store: SiteStore, raw: Any) -> None:
    """Raise Conflict when the item's path is registered already (for ``validateDataItem``)."""
    item = checked_item(raw)
    if store.get_data_item(item.path) is not None:
        raise Conflict(f"A data item is already registered at '{item.path}'.")
