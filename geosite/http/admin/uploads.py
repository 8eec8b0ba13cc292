"""``/arcgis/admin/uploads``: files uploaded for publishing."""

from __future__ import annotations

from typing import Any

from geosite.core import ownership, uploads
from geosite.core.models import Privilege
from geosite.errors import BadRequest
from geosite.http.routing import OPERATION, Call, Endpoint, Field


def list_uploads(call: Call) -> dict[str, Any]:
    """``GET /admin/uploads``."""
    store = call.state.require_site().site.store
    return {"items": [item.public() for item in uploads.list_uploads(store, call.principal)]}


def _item_ids(call: Call, payload: dict[str, Any]) -> list[str]:
    return [item["itemID"] for item in payload.get("items", [])]


def upload(call: Call) -> dict[str, Any]:
    """``POST /admin/uploads/upload`` (multipart ``itemFile``, ``description``)."""
    runtime = call.state.require_site()
    part = call.params.file("itemFile")
    if part is None:
        raise BadRequest("Missing parameter 'itemFile' (a file sent as multipart/form-data).")
    item = uploads.save_upload(
        runtime.site.store,
        call.state.clock,
        part.file,
        part.filename or "upload",
        call.params.get("description") or "",
        call.state.settings.max_upload_bytes,
        ownership.owner_of_new(call.principal),
    )
    return {"status": "success", "item": item.public()}


def get_item(call: Call) -> dict[str, Any]:
    """``GET /admin/uploads/{item}``."""
    store = call.state.require_site().site.store
    return uploads.get_upload(store, call.args["item"], call.principal).public()


def delete_item(call: Call) -> dict[str, Any]:
    """``POST /admin/uploads/{item}/delete``."""
    store = call.state.require_site().site.store
    uploads.delete_upload(store, call.args["item"], call.principal)
    return {"status": "success"}


#: Publishers upload; each sees and deletes only its own items.
_PUBLISH = Privilege.PUBLISH

ENDPOINTS = [
    Endpoint(
        "/uploads",
        list_uploads,
        privilege=_PUBLISH,
        title="Uploads",
        children=_item_ids,
        operations=("upload",),
    ),
    Endpoint(
        "/uploads/upload",
        upload,
        kind=OPERATION,
        privilege=_PUBLISH,
        title="Upload Item",
        accepts_files=True,
        fields=(
            Field("itemFile", "File", kind="file", required=True),
            Field("description", "Description"),
        ),
        description="Uploads a file (zipped shapefile, GeoJSON, GeoPackage, CSV, zipped "
        "file geodatabase) to publish it.",
    ),
    Endpoint("/uploads/{item}", get_item, privilege=_PUBLISH, operations=("delete",)),
    Endpoint(
        "/uploads/{item}/delete",
        delete_item,
        kind=OPERATION,
        privilege=_PUBLISH,
        title="Delete Item",
    ),
]
