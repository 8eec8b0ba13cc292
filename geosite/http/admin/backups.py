"""``exportSite`` and ``importSite``: back the site up to a file on the server, and restore it."""

from __future__ import annotations

import re
from typing import Any

from geosite.core import backup, ownership, uploads, utilities
from geosite.data.geopackage import copy_consistently
from geosite.errors import InvalidParameter, NotFound
from geosite.http.routing import OPERATION, Call, Endpoint, Field, Reply

#: An uploaded item's id (``/admin/uploads/upload``), accepted by importSite as ``location``.
_UPLOAD_ID = re.compile(r"^i[0-9a-f]{32}$")


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
    """``importSite`` (``location``: the backup file, or the itemID of an uploaded one)."""
    _no_cloud(call)
    runtime = call.state.require_site()
    location = (call.params.get("location") or "").strip()
    if _UPLOAD_ID.match(location):  # a backup the caller uploaded through /uploads/upload
        item = uploads.get_upload(runtime.site.store, location, call.principal)
        if item.owner != ownership.owner_of_new(call.principal):
            raise NotFound(f"Could not find the uploaded item '{location}'.")
        location = item.path
    report = backup.import_site(runtime.site.store, location)
    utilities.ensure(runtime.site.store, runtime.site.clock)  # a backup made before it
    runtime.reload_settings()  # this worker at once; the others within a second
    return {"status": "success", "location": call.params.get("location"), "report": report}


def backups(call: Call) -> dict[str, Any]:
    """``/backups``: the backups in the site's backups folder, newest first."""
    return {"backups": backup.list_backups(call.state.require_site().site.store)}


def _backup_names(call: Call, payload: dict[str, Any]) -> list[str]:
    return [item["name"] for item in payload.get("backups", [])]


def download(call: Call) -> Reply:
    """``/backups/{name}``: the backup file, as a download."""
    store = call.state.require_site().site.store
    return Reply(file=backup.backup_file(store, call.args["name"]))


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
        fields=(
            Field(
                "location",
                "Backup file on the server, or the itemID of a backup uploaded to /uploads",
                required=True,
            ),
        ),
        description=(
            "Puts the site back to a backup: what the backup holds replaces the current "
            "configuration at once. The primary site administrator stays as it is; the other "
            "users' earlier tokens stop working."
        ),
    ),
    Endpoint(
        "/backups",
        backups,
        title="Backups",
        children=_backup_names,
        description=(
            "The backups exportSite wrote into the site's backups folder (when no location "
            "was given), newest first; each downloads from backups/<name>."
        ),
    ),
    Endpoint("/backups/{name}", download, title="Backup"),
]
