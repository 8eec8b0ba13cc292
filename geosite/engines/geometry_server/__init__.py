"""The GeometryServer of the ``Utilities/Geometry`` service: ArcGIS's geometry operations,
computed with shapely and pyproj, with no HTTP in them (``geosite.http.rest.geometry_server``
routes to them).

``OPERATIONS`` maps each operation's name (as in its URL) to its ``Operation``.
"""

from __future__ import annotations

from geosite.engines.geometry_server._common import Getter, Operation

OPERATIONS: dict[str, Operation] = {}


def register(*operations: Operation) -> None:
    """Add operations to ``OPERATIONS`` (each module of this package registers its own)."""
    for operation in operations:
        OPERATIONS[operation.name] = operation


__all__ = ["OPERATIONS", "Getter", "Operation", "register"]
