"""Where a service's data lives, for the core: a GeoPackage file of the site's, or a
location in a database (``postgis://...``), loaded there at publish time (a ``Placement``) or
served where it is (``Referenced``: a table of a registered database, never deleted with the
service). The core knows no SQL: the application registers, per site store, how data at a
database location is removed (``register_remover``).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from geosite.core import databases
from geosite.storage.base import SiteStore

_log = logging.getLogger("geosite.services")

#: Loads an imported GeoPackage (and its layers) into another store, a PostGIS database;
#: returns the data's location there (``postgis://...``).
Placement = Callable[[Path, list[dict[str, Any]]], str]
#: Describes data published by reference (a table of a registered database): its location
#: and layer descriptions.
Referenced = Callable[[], tuple[str, list[dict[str, Any]]]]
#: Removes data at a location of a scheme other than a file (by scheme: ``postgis``).
Remover = Callable[[str], None]
#: Each site store's removers by scheme (the application installs them with the site).
_REMOVERS: weakref.WeakKeyDictionary[SiteStore, dict[str, Remover]] = weakref.WeakKeyDictionary()


def is_database_path(data_path: str) -> bool:
    """Whether ``properties.dataPath`` names a table of a registered database
    (``/enterpriseDatabases/<name>/<schema.table>``)."""
    return data_path.strip().lower().startswith(databases.ROOT.lower() + "/")


def reference_of(definition: Any) -> str | None:
    """The database table a service JSON publishes by reference, if it names one."""
    properties = definition.get("properties") if isinstance(definition, dict) else None
    data_path = properties.get("dataPath") if isinstance(properties, dict) else None
    return data_path.strip() if isinstance(data_path, str) and is_database_path(data_path) else None


def register_remover(store: SiteStore, scheme: str, remover: Remover) -> None:
    """Make ``remove_data`` remove the site's data at locations of ``scheme`` (``postgis``)
    with ``remover``."""
    _REMOVERS.setdefault(store, {})[scheme] = remover


def is_file_location(location: str) -> bool:
    """Whether a service's data location is a file of the site's (not a database's)."""
    return "://" not in location


def data_store_of(definition: dict[str, Any]) -> str:
    """What ``properties.dataStore`` of a service JSON asks for ("" when nothing)."""
    properties = definition.get("properties")
    value = properties.get("dataStore") if isinstance(properties, dict) else None
    return str(value).strip() if value is not None else ""


def remove_data(definition: dict[str, Any], store: SiteStore | None = None) -> None:
    """Delete the data a service's stored definition names: its GeoPackage (with its WAL and
    lock), or its schema in a database (through the remover of the location's scheme; a
    database that cannot be reached leaves the schema, and says so in the log)."""
    private = definition.get("_geosite") or {}
    data = private.get("data")
    if not data or private.get("byReference"):  # a table served where it is stays there
        return
    if not is_file_location(data):
        removers = _REMOVERS.get(store, {}) if store is not None else {}
        remover = removers.get(data.partition("://")[0])
        if remover is None:
            _log.warning("No remover for the data of a deleted service (%s).", data[:16])
            return
        try:
            remover(data)
        except Exception as exc:  # the service is gone; its data may stay in its database
            _log.warning("The data of a deleted service stays in its database: %s", exc)
        return
    for suffix in ("", "-wal", "-shm", ".lock"):
        Path(data + suffix).unlink(missing_ok=True)
