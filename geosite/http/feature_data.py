"""Where a site's services keep their feature data, for the handlers: opening a service's
data, choosing where a new service's data goes, and removing a database schema.

Connection names in ``postgis://`` locations are resolved here, per site: ``site`` is the
database this machine was started with (``--data-store``), ``/enterpriseDatabases/<name>``
a database registered as a data item (its password decrypted only to connect).
"""

from __future__ import annotations

import functools
import secrets
from pathlib import Path
from typing import Any

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from geosite.core import data_locations, databases, services
from geosite.core.models import LayerDescription, Service
from geosite.data import postgis_source
from geosite.data.postgis_describe import describe_table, split_table
from geosite.data.postgis_load import drop_schema, load_geopackage
from geosite.data.registry import Resolver, open_data
from geosite.data.source import FeatureData
from geosite.errors import DataUnavailable, InvalidParameter
from geosite.settings import Settings
from geosite.storage.base import SiteStore

SITE = "site"
#: ``properties.dataStore`` values that keep a service's data in a GeoPackage of its own.
EMBEDDED = ("geopackage", "gpkg", "embedded")
CONNECT_TIMEOUT_S = 5
#: No statement of a feature query or edit runs longer (PostgreSQL cancels it; the request
#: gets a clear error, and the connection serves the next one).
STATEMENT_TIMEOUT_MS = 60_000
_OPTIONS = f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"


def conninfo(settings: Settings, store: SiteStore, name: str) -> str:
    """The connection string of a connection name (see the module's text)."""
    if name == SITE:
        if not settings.data_store:
            raise DataUnavailable(
                details=["This machine was started without a data store (--data-store)."]
            )
        return _with_timeout(settings.data_store)
    if name.lower().startswith(databases.ROOT.lower() + "/"):
        item = store.get_data_item(databases.item_path(name))
        stored = item.info.get("connectionString") if item is not None else None
        return _registered(store, name, str(stored))
    raise DataUnavailable(details=[f"No database is known as '{name[:64]}'."])


@functools.lru_cache(maxsize=64)
def _registered(store: SiteStore, name: str, stored: str) -> str:
    """The connection string of a registered database, decrypted and assembled once per
    stored connection string (``stored``: an edit of the item makes a new key)."""
    found = databases.database_connection(store, name)
    return make_conninfo(
        host=found.host,
        port=found.port,
        dbname=found.database,
        user=found.user,
        password=found.password,
        sslmode=found.sslmode,
        connect_timeout=CONNECT_TIMEOUT_S,
        application_name="geosite",
        options=_OPTIONS,
    )


@functools.lru_cache(maxsize=16)
def _with_timeout(url: str) -> str:
    """``url`` with a connect timeout and geosite's application name (read once per URL:
    parsing a connection string is a tenth of a W2 count's CPU)."""
    params = conninfo_to_dict(url)
    params.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
    params.setdefault("application_name", "geosite")
    params["options"] = f"{params.get('options') or ''} {_OPTIONS}".strip()
    return make_conninfo("", **params)


def resolver(settings: Settings, store: SiteStore) -> Resolver:
    """The resolver of one site's connection names."""
    return lambda name: conninfo(settings, store, name)


def open_service_data(settings: Settings, store: SiteStore, service: Service) -> FeatureData:
    """The feature data a service serves."""
    return open_data(service.data.location, resolver(settings, store))


def install(settings: Settings, store: SiteStore) -> None:
    """Let the core remove the schemas of deleted services in this site's databases."""

    def remove(location: str) -> None:
        name, schema = postgis_source.parse_location(location)
        drop_schema(conninfo(settings, store, name), schema)

    data_locations.register_remover(store, postgis_source.SCHEME, remove)


def placement(
    settings: Settings, store: SiteStore, definition: Any
) -> data_locations.Placement | None:
    """Where ``createService``'s data goes: None for a GeoPackage of its own, or a loader into
    a database. ``properties.dataStore`` chooses (``/enterpriseDatabases/<name>``, ``site``
    for this machine's ``--data-store``, or ``GeoPackage``); without it, the machine's data
    store when it has one. Checked before anything is imported."""
    asked = data_locations.data_store_of(definition) if isinstance(definition, dict) else ""
    if asked.lower() in EMBEDDED or (not asked and not settings.data_store):
        return None
    if not asked or asked.lower() == SITE:
        if not settings.data_store:
            raise InvalidParameter(
                "This machine has no data store to publish into (geosite serve --data-store)."
            )
        name = SITE
    elif asked.lower().startswith(databases.ROOT.lower() + "/"):
        name = databases.item_path(asked)
    else:
        raise InvalidParameter(
            f"'properties.dataStore' must be '{databases.ROOT}/<name>', 'site' or 'GeoPackage'."
        )
    target = conninfo(settings, store, name)  # a database that is not known fails here

    def load(staged: Path, layers: list[dict[str, Any]]) -> str:
        schema = f"s_{secrets.token_hex(8)}"
        described = [LayerDescription.from_json(layer) for layer in layers]
        load_geopackage(staged, described, target, schema)
        return postgis_source.location(name, schema)

    return load


def referenced(
    settings: Settings, store: SiteStore, definition: Any, capabilities: str
) -> data_locations.Referenced | None:
    """A table published by reference (``properties.dataPath`` =
    ``/enterpriseDatabases/<name>/<schema.table>``), described and checked now, before the
    answer (a table without an integer key or SRID is a 400); None for other publications."""
    data_path = data_locations.reference_of(definition)
    if data_path is None:
        return None
    root_and_name, _, table = data_path.strip().lstrip("/").partition("/")[2].partition("/")
    if not root_and_name or not table:
        raise InvalidParameter(
            f"Name the table as {databases.ROOT}/<name>/<schema>.<table> in properties.dataPath."
        )
    name = databases.item_path(f"{databases.ROOT}/{root_and_name}")
    target = conninfo(settings, store, name)
    creating = "Create" in services.edit_capabilities(capabilities)
    layer = describe_table(target, table, 0, creating=creating)
    schema, _ = split_table(table)
    where = postgis_source.location(name, schema)
    return lambda: (where, [layer.to_json()])
