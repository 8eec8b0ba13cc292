"""Opening a service's feature data by the scheme of its location.

A plain path (as services have always stored it) or ``gpkg:<path>`` is a GeoPackage; other
backends register their scheme (PostGIS registers ``postgis`` when a site's database
connections are known).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from geosite.data.gpkg_source import open_geopackage
from geosite.data.source import FeatureData
from geosite.errors import InvalidParameter

#: Opens the data at a location.
Opener = Callable[[str], FeatureData]
_OPENERS: dict[str, Opener] = {"gpkg": open_geopackage}


def register(scheme: str, opener: Opener) -> None:
    """Make ``open_data`` open locations of ``scheme`` with ``opener``."""
    _OPENERS[scheme.lower()] = opener


def scheme_of(location: str) -> str:
    """The scheme of a location; a plain path is a GeoPackage."""
    head, sep, _ = location.partition(":")
    if sep and head.isalpha() and len(head) > 1:
        return head.lower()
    return "gpkg"


def open_data(location: str) -> FeatureData:
    """The feature data at ``location``, by its scheme."""
    if not location:
        raise InvalidParameter("The service has no feature data.")
    opener = _OPENERS.get(scheme_of(location))
    if opener is None:
        raise InvalidParameter(f"Feature data of kind '{scheme_of(location)[:16]}' is unknown.")
    return opener(location)


def schemes() -> Iterator[str]:
    """The schemes that can be opened."""
    yield from sorted(_OPENERS)
