"""``/admin/system/licenses``: ArcGIS Server's shape, with geosite's own truth.

Scripts that print a server's information read ``edition``, ``level``, ``extensions`` and
``features`` first. geosite is open source: nothing expires (``canExpire`` false, and
``expiration`` -1 rather than a date), there are no core counts to license, and the features
listed are what this site serves: one entry per service type it can publish.
"""

from __future__ import annotations

import os
from typing import Any

from geosite import ARCGIS_FULL_VERSION, __version__
from geosite.core.services import SUPPORTED_TYPES

#: What each service type offers, as its ``features`` entry names it.
_SERVICE_FEATURES = {
    "FeatureServer": "Feature services: query, editing and GeoJSON output",
    "MapServer": "Map services: images, tiles, identify, find and legend, drawn by Mapnik",
}
#: Never expires: ArcGIS's milliseconds since the epoch, with -1 for "no date".
NEVER = -1


def _entry(name: str, display: str) -> dict[str, Any]:
    return {
        "name": name,
        "displayName": display,
        "version": ARCGIS_FULL_VERSION,
        "canExpire": False,
        "expiration": NEVER,
    }


def licenses() -> dict[str, Any]:
    """The licenses resource: the edition, the level, extensions (none) and features."""
    edition = _entry("geosite", f"geosite {__version__} (open source, Apache-2.0)")
    level = _entry("geositeStandard", "geosite: every capability of this release")
    features = [
        {
            **_entry(f"geosite{kind}", _SERVICE_FEATURES.get(kind, kind)),
            "coreCount": os.cpu_count() or 1,
        }
        for kind in SUPPORTED_TYPES
    ]
    return {"edition": edition, "level": level, "extensions": [], "features": features}
