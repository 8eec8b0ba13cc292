"""``/arcgis/admin/system/webadaptors``: the web adaptors (load balancers) of the site."""

from __future__ import annotations

from typing import Any

from geosite.core import webadaptors
from geosite.http.routing import OPERATION, Call, Endpoint, Field
from geosite.storage.base import SiteStore


def _store(call: Call) -> SiteStore:
    return call.state.require_site().site.store


def listing(call: Call) -> dict[str, Any]:
    """``GET /admin/system/webadaptors``."""
    return {"webAdaptors": webadaptors.listed(_store(call))}


def _children(call: Call, payload: dict[str, Any]) -> list[str]:
    return ["config", *(str(item["id"]) for item in payload.get("webAdaptors", []))]


def register(call: Call) -> dict[str, Any]:
    """``POST /admin/system/webadaptors/register``."""
    item = webadaptors.register(_store(call), call.params.get)
    return {"status": "success", "id": item["id"]}


def one(call: Call) -> dict[str, Any]:
    """``GET /admin/system/webadaptors/{id}``."""
    return webadaptors.find(_store(call), call.args["id"])


def update(call: Call) -> dict[str, Any]:
    """``POST /admin/system/webadaptors/{id}/update`` (``description``, ``httpPort``,
    ``httpsPort``)."""
    webadaptors.update(_store(call), call.args["id"], call.params.get)
    return {"status": "success"}


def unregister(call: Call) -> dict[str, Any]:
    """``POST /admin/system/webadaptors/{id}/unregister``."""
    webadaptors.unregister(_store(call), call.args["id"])
    return {"status": "success"}


def config(call: Call) -> dict[str, Any]:
    """``GET /admin/system/webadaptors/config``."""
    return {"webAdaptorConfig": webadaptors.config(_store(call))}


def update_config(call: Call) -> dict[str, Any]:
    """``POST /admin/system/webadaptors/config/update`` (``webAdaptorConfig``)."""
    webadaptors.update_config(_store(call), call.params.json("webAdaptorConfig"))
    return {"status": "success"}


_BASE = "/system/webadaptors"
ENDPOINTS = [
    Endpoint(
        _BASE,
        listing,
        title="Web Adaptors",
        children=_children,
        operations=("register",),
        description="The load balancers in front of the site's machines "
        "(`geosite webadaptor nginx` writes one).",
    ),
    Endpoint(
        _BASE + "/register",
        register,
        kind=OPERATION,
        title="Register Web Adaptor",
        fields=(
            Field("webAdaptorURL", "Web adaptor URL", required=True),
            Field("machineName", "Machine name"),
            Field("machineIP", "Machine IP"),
            Field("httpPort", "HTTP port", kind="number"),
            Field("httpsPort", "HTTPS port", kind="number"),
            Field(
                "isAdminEnabled", "Administration allowed", kind="select", options=("false", "true")
            ),
            Field("description", "Description"),
        ),
    ),
    Endpoint(_BASE + "/config", config, title="Web Adaptor Configuration", operations=("update",)),
    Endpoint(
        _BASE + "/config/update",
        update_config,
        kind=OPERATION,
        title="Update",
        fields=(Field("webAdaptorConfig", "Configuration (JSON)", kind="textarea", required=True),),
    ),
    Endpoint(_BASE + "/{id}", one, title="Web Adaptor", operations=("update", "unregister")),
    Endpoint(
        _BASE + "/{id}/update",
        update,
        kind=OPERATION,
        title="Update",
        fields=(
            Field("description", "Description"),
            Field("httpPort", "HTTP port", kind="number"),
            Field("httpsPort", "HTTPS port", kind="number"),
        ),
    ),
    Endpoint(_BASE + "/{id}/unregister", unregister, kind=OPERATION, title="Unregister"),
]
