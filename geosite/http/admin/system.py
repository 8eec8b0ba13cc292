"""The other top-level resources: system, clusters and mode (a site has no clusters)."""

from __future__ import annotations

from typing import Any

from geosite.http.routing import Call, Endpoint


def _site(call: Call) -> Any:
    return call.state.require_site().site


def system(call: Call) -> dict[str, Any]:
    """``GET /admin/system``."""
    _site(call)
    return {"resources": ["directories"]}


def directories(call: Call) -> dict[str, Any]:
    """``GET /admin/system/directories``: the server directories of the site."""
    return {"directories": [d.public() for d in _site(call).store.list_directories()]}


def clusters(call: Call) -> dict[str, Any]:
    """``GET /admin/clusters`` (clusters are deprecated in ArcGIS; a site has none)."""
    _site(call)
    return {"clusters": []}


def mode(call: Call) -> dict[str, Any]:
    """``GET /admin/mode``: the site is editable."""
    site = _site(call).store.get_setting("site") or {}
    return {"siteMode": "EDITABLE", "lastModified": site.get("createdMs", 0)}


def _children(call: Call, payload: dict[str, Any]) -> list[str]:
    return list(payload.get("resources", []))


ENDPOINTS = [
    Endpoint("/system", system, title="System", children=_children),
    Endpoint("/system/directories", directories, title="Server Directories"),
    Endpoint("/clusters", clusters, title="Clusters"),
    Endpoint("/mode", mode, title="Mode"),
]
