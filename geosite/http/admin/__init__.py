"""The Administrator API (``/arcgis/admin``): one route table built from each resource module."""

from __future__ import annotations

from geosite.http.admin import machines, security, services, site, system, uploads
from geosite.http.routing import Endpoint

ENDPOINTS: list[Endpoint] = [
    *site.ENDPOINTS,
    *machines.ENDPOINTS,
    *security.ENDPOINTS,
    *services.ENDPOINTS,
    *system.ENDPOINTS,
    *uploads.ENDPOINTS,
]
