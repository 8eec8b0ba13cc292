"""The default folder ``Utilities`` and its ``Geometry`` GeometryServer.

Every ArcGIS Server site has the default folders ``System`` and ``Utilities``
(``isDefault: true``, never deleted), and scripts count on them: they list
``/admin/services`` and drop both by name. ``System`` is virtual here (geosite runs no system
services); ``Utilities`` is a stored folder, so that its service has permissions, a state and
a place in backups like any other, with what makes it a default one kept here:

- the folder cannot be deleted, and nothing else is published into it;
- ``Utilities/Geometry.GeometryServer`` is made with the site (and for a site made before it,
  on start), started and public (an explicit ``esriEveryone`` allow, so that securing the
  root does not hide it; an administrator secures it with its own permissions); it can be
  stopped, started and edited, not renamed or deleted. It holds no data.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

from geosite.core.clock import Clock
from geosite.core.models import Folder, Service
from geosite.core.permissions import EVERYONE
from geosite.errors import Conflict, InvalidParameter
from geosite.storage.base import SiteStore

UTILITIES_FOLDER = "Utilities"
GEOMETRY_SERVICE = "Geometry"
GEOMETRY_SERVER = "GeometryServer"
#: Service types that hold no data of the site's (nothing to import, copy or back up).
DATALESS_TYPES = frozenset({GEOMETRY_SERVER})
_DESCRIPTION = "Utility services that the site provides."


def geometry_definition() -> dict[str, Any]:
    """The Geometry service's JSON as stored (the site's own; edit changes what it may)."""
    return {
        "serviceName": GEOMETRY_SERVICE,
        "type": GEOMETRY_SERVER,
        "description": "Geometric operations (project, buffer, areas and lengths, "
        "union, relation...) computed with shapely and pyproj.",
        "capabilities": "",
        "properties": {},
        "_geosite": {"data": ""},
    }


def geometry_type() -> dict[str, Any]:
    """The GeometryServer's entry in ``/admin/services/types``."""
    return {
        "name": GEOMETRY_SERVER,
        "description": "Geometric operations on geometries sent with the request "
        "(one per site, Utilities/Geometry; it holds no data).",
        "capabilities": "",
        "extensions": [],
        "providers": ["geosite"],
    }


def is_utilities(folder: str) -> bool:
    """Whether ``folder`` names the Utilities folder (in any case)."""
    return folder.lower() == UTILITIES_FOLDER.lower()


def is_default_service(service: Service) -> bool:
    """Whether the service is one of the site's own (not renamed or deleted)."""
    return is_utilities(service.folder)


def refuse_change(service: Service, action: str) -> None:
    """A 400 for renaming or deleting a service of the Utilities folder."""
    if is_default_service(service):
        raise InvalidParameter(
            f"The service '{service.qualified_name}' belongs to the site's default folder "
            f"{UTILITIES_FOLDER} and cannot be {action}; stop it or secure it instead."
        )


def ensure(store: SiteStore, clock: Clock) -> None:
    """Make the Utilities folder and its Geometry service when the site lacks them (several
    workers may run this at once: the store's conflicts settle it)."""
    now = clock.now_ms()
    if store.get_folder(UTILITIES_FOLDER) is None:
        with contextlib.suppress(Conflict):  # made meanwhile by another worker
            store.add_folder(Folder(UTILITIES_FOLDER, _DESCRIPTION, now), inherit=True)
    if store.get_service(UTILITIES_FOLDER, GEOMETRY_SERVICE, GEOMETRY_SERVER) is not None:
        return
    service = Service(UTILITIES_FOLDER, GEOMETRY_SERVICE, GEOMETRY_SERVER, geometry_definition())
    try:
        store.add_service(dataclasses.replace(service, created_ms=now))
    except Conflict:
        return
    store.grant_permission(service.resource, EVERYONE, True)
