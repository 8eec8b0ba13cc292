"""``/arcgis/admin/system/quarantine``: what killed processes left in the services' data
directory, moved aside on start (``geosite.core.quarantine``)."""

from __future__ import annotations

from typing import Any

from geosite.core import quarantine
from geosite.http.routing import OPERATION, Call, Endpoint, Field


def listing(call: Call) -> dict[str, Any]:
    """``GET /admin/system/quarantine``: the entries, oldest first, with their total size."""
    entries = quarantine.listing(call.state.require_site().site.store)
    return {
        "entries": [e.public() for e in entries],
        "count": len(entries),
        "size": sum(e.size for e in entries),
    }


def delete(call: Call) -> dict[str, Any]:
    """``POST /admin/system/quarantine/delete``: one entry (``id``), or all with ``id=*``."""
    wanted = call.params.require("id").strip()
    store = call.state.require_site().site.store
    deleted = quarantine.delete(store, None if wanted == "*" else wanted)
    return {"status": "success", "deleted": deleted}


def _children(call: Call, payload: dict[str, Any]) -> list[str]:
    return []


ENDPOINTS = [
    Endpoint(
        "/system/quarantine",
        listing,
        title="Quarantine",
        children=_children,
        operations=["delete"],
        description="What server processes that were killed left in the services' data "
        "directory (an unfinished import or restore, a data file no service references), "
        "moved aside when the site started. Nothing here is used by any service.",
    ),
    Endpoint(
        "/system/quarantine/delete",
        delete,
        kind=OPERATION,
        title="Delete from the Quarantine",
        fields=[Field("id", "Entry id (* for all)", required=True)],
        description="Deletes one entry of the quarantine and its files, or all with '*'.",
    ),
]
