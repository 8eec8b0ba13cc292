"""Opening a service's feature data by the scheme of its location.

A plain path (as services have always stored it) or ``gpkg:<path>`` is a GeoPackage;
``postgis://<connection>/<schema>`` is a schema in a PostgreSQL database, whose connection
string the caller's ``resolve`` gives for the connection's name (the site's data store, or a
registered database): locations never hold a password, and one process may serve sites
whose names resolve differently.
"""

from __future__ import annotations

from collections.abc import Callable

from geosite.data.gpkg_source import open_geopackage
from geosite.data.postgis_source import SCHEME, open_postgis
from geosite.data.source import FeatureData
from geosite.errors import InvalidParameter

#: A connection name to its connection string.
Resolver = Callable[[str], str]
#: Opens the data at a location, resolving connection names with the resolver.
Opener = Callable[[str, Resolver | None], FeatureData]
_OPENERS: dict[str, Opener] = {
    "gpkg": lambda location, _resolve: open_geopackage(location),
    SCHEME: open_postgis,
}


def register(scheme: str, opener: Opener) -> None:
    """Make ``open_data`` open locations of ``scheme`` with ``opener``."""
    _OPENERS[scheme.lower()] = opener


def scheme_of(location: str) -> str:
    """The scheme of a location; a plain path is a GeoPackage."""
    head, sep, _ = location.partition(":")
    if sep and head.isalpha() and len(head) > 1:
        return head.lower()
    return "gpkg"


def open_data(location: str, resolve: Resolver | None = None) -> FeatureData:
    """The feature data at ``location``, by its scheme."""
    if not location:
        raise InvalidParameter("The service has no feature data.")
    opener = _OPENERS.get(scheme_of(location))
    if opener is None:
        raise InvalidParameter(f"Feature data of kind '{scheme_of(location)[:16]}' is unknown.")
    return opener(location, resolve)
