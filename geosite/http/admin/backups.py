"""``exportSite`` and ``importSite``: back the site up to a file on the server, and restore it."""

from __future__ import annotations

from typing import Any

from geosite.core import backup, utilities
from geosite.data.geopackage import copy_consistently
from geosite.errors import InvalidParameter
from geosite.http.routing import OPERATION, Call, Endpoint, Field


def _no_cloud(call: Call) -> None:
    if call.params.get("locationConfig"):
        raise InvalidParameter(
            "'locationConfig' (cloud storage) is not supported: give a folder on the server."
        )


def export_site(call: Call) -> dict[str, Any]:
    """``exportSite`` (``location``: a folder on the server; default the site's backups)."""
    _no_cloud(call)
    runtime = call.state.require_site()
    made_by = call.principal.username if call.principal else ""
    written = backup.export_site(
        runtime.site.store,
        call.state.clock,
        call.params.get("location") or "",
        copy_consistently,
        made_by,
    )
    return {"status": "success", "location": str(written)}


def import_site(call: Call) -> dict[str, Any]:
    """``importSite`` (``location``: the backup file)."""
    _no_cloud(call)
    runtime = call.state.require_site()
    report = backup.import_site(runtime.site.store, call.params.get("location") or "")
    utilities.ensure(runtime.site.store, runtime.site.clock)  # a backup made before it
    runtime.reload_settings()  # this worker at once; the others within a second
    return {"status": "success", "location": call.params.get("location"), "report": report}


ENDPOINTS = [
    Endpoint(
        "/exportSite",
        export_site,
        kind=OPERATION,
        title="Export Site",
        fields=(Field("location", "Folder on the server (empty: the site's backups folder)"),),
        description=(
            "Backs up the site's configuration and the data of its services to a file on the "
            "server: users (with password hashes), roles, folders, services, permissions, data "
            "items, and the log, token, password and usage report settings."
        ),
    ),
    Endpoint(
        "/importSite",
        import_site,
        kind=OPERATION,
        title="Import Site",
        fields=(Field("location", "Backup file on the server", required=True),),
        description=(
            "Puts the site back to a backup: what the backup holds replaces the current "
            "configuration at once. The primary site administrator stays as it is; the other "
            "users' earlier tokens stop working."
        ),
    ),
]
