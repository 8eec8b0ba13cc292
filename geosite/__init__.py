"""geosite: an open-source GIS server that speaks the ArcGIS Server REST and Administrator APIs."""

from __future__ import annotations

__version__ = "0.1.0"

#: The ArcGIS Server release whose wire format geosite reproduces. Clients read
#: ``currentVersion`` as a number and ``fullVersion`` as a string.
ARCGIS_CURRENT_VERSION = 11.3
ARCGIS_FULL_VERSION = "11.3.0"

__all__ = ["ARCGIS_CURRENT_VERSION", "ARCGIS_FULL_VERSION", "__version__"]
