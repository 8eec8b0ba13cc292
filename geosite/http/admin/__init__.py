"""The Administrator API (``/arcgis/admin``): one route table built from each resource module."""

from __future__ import annotations

from geosite.http.admin import (
    accounts,
    backups,
    data,
    jobs,
    joining,
    logs,
    machines,
    public_key,
    quarantine,
    reports,
    security,
    service,
    services,
    site,
    system,
    uploads,
    usage,
    webadaptors,
)
from geosite.http.routing import Endpoint

ENDPOINTS: list[Endpoint] = [
    *site.ENDPOINTS,
    *public_key.ENDPOINTS,
    *backups.ENDPOINTS,
    *joining.ENDPOINTS,  # before machines: /machines/register is not a machine
    *machines.ENDPOINTS,
    *security.ENDPOINTS,
    *accounts.ENDPOINTS,
    *services.ENDPOINTS,
    *service.ENDPOINTS,
    *reports.ENDPOINTS,
    services.FOLDER_ENDPOINT,  # last: a folder name matches any segment
    *system.ENDPOINTS,
    *webadaptors.ENDPOINTS,
    *jobs.ENDPOINTS,
    *quarantine.ENDPOINTS,
    *logs.ENDPOINTS,
    *usage.ENDPOINTS,
    *uploads.ENDPOINTS,
    *data.ENDPOINTS,
]
