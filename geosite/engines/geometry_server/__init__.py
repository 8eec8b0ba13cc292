"""The GeometryServer of the ``Utilities/Geometry`` service: ArcGIS's geometry operations,
computed with shapely and pyproj, with no HTTP in them (``geosite.http.rest.geometry_server``
routes to them).

``OPERATIONS`` maps each operation's name (as in its URL) to its ``Operation``; each module
of this package lists its own in its ``OPERATIONS`` tuple.
"""

from __future__ import annotations

from geosite.engines.geometry_server import (
    coordinates,
    editing_ops,
    measure,
    overlay,
    projection,
    reshape,
    reshaping,
    topology,
)
from geosite.engines.geometry_server._common import Getter, Operation

OPERATIONS: dict[str, Operation] = {
    operation.name: operation
    for module in (
        projection,
        measure,
        reshape,
        coordinates,
        topology,
        overlay,
        editing_ops,
        reshaping,
    )
    for operation in module.OPERATIONS
}

__all__ = ["OPERATIONS", "Getter", "Operation"]
