"""``/arcgis/rest/services/Utilities/Geometry/GeometryServer``: the Geometry service's
resource and one operation route per ``geosite.engines.geometry_server.OPERATIONS`` entry
(GET and POST, ``f=json``/``pjson``, and an HTML form for each)."""

from __future__ import annotations

from typing import Any

from geosite import ARCGIS_CURRENT_VERSION
from geosite.core.utilities import GEOMETRY_SERVER
from geosite.engines.geometry_server import OPERATIONS, Operation
from geosite.http.rest.feature_server import started_service
from geosite.http.routing import OPERATION, Call, Endpoint, Field, Handler


def service_root(call: Call) -> dict[str, Any]:
    """The GeometryServer resource: its description and version, operations as children."""
    service = started_service(call, GEOMETRY_SERVER)
    return {
        "serviceDescription": str(service.definition.get("description", "")),
        "currentVersion": ARCGIS_CURRENT_VERSION,
    }


def _children(call: Call, payload: dict[str, Any]) -> list[str]:
    return sorted(OPERATIONS)


def _handler(operation: Operation) -> Handler:
    def run(call: Call) -> dict[str, Any]:
        started_service(call, GEOMETRY_SERVER)  # access, state
        return operation.run(call.params.get)

    run.__doc__ = f"``GeometryServer/{operation.name}``: {operation.description}"
    return run


def _endpoints(prefix: str) -> list[Endpoint]:
    base = prefix + "/" + GEOMETRY_SERVER
    routes = [
        Endpoint(base, service_root, privilege=None, children=_children, title=GEOMETRY_SERVER)
    ]
    for name, operation in sorted(OPERATIONS.items()):
        routes.append(
            Endpoint(
                f"{base}/{name}",
                _handler(operation),
                kind=OPERATION,
                privilege=None,
                allow_get=True,
                title=name[0].upper() + name[1:],
                description=operation.description,
                fields=[Field(p, label) for p, label in operation.parameters],
                serial=True,  # CPU-bound, as feature queries
            )
        )
    return routes


#: The Geometry service lives in the Utilities folder: no route for a root-folder one.
ENDPOINTS = _endpoints("/services/{folder}/{service}")
