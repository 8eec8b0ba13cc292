"""The public side: ``/arcgis/rest`` (info, catalog) and the token service ``/arcgis/tokens``."""

from __future__ import annotations

from typing import Any

from geosite import ARCGIS_CURRENT_VERSION, ARCGIS_FULL_VERSION
from geosite.core import permissions
from geosite.core.models import Service
from geosite.core.service_admin import STARTED
from geosite.core.services import FEATURE_SERVER, feature_access
from geosite.errors import NotFound
from geosite.http.admin.site import health_check
from geosite.http.origin import without_port
from geosite.http.rest import editing, feature_server, geometry_server, map_server
from geosite.http.routing import OPERATION, Call, Endpoint
from geosite.http.tokens import TOKEN_FIELDS, generate_token


def _token_services_url(call: Call) -> str:
    """The token service as clients must reach it; HTTPS whenever the site requires it."""
    url = call.site_url
    runtime = call.state.open_site()
    if (
        url.startswith("http://")
        and not call.web_context_url
        and runtime is not None
        and runtime.security_config().https_only
    ):
        url = (
            f"https://{without_port(call.host)}:{call.state.settings.https_port}{call.context_path}"
        )
    return f"{url}/tokens/"


def rest_info(call: Call) -> dict[str, Any]:
    """``/arcgis/rest/info``: version and where to get tokens (an absolute URL)."""
    runtime = call.state.open_site()
    validity = runtime.auth.token_policy().short_timeout if runtime else 60
    return {
        "currentVersion": ARCGIS_CURRENT_VERSION,
        "fullVersion": ARCGIS_FULL_VERSION,
        "soapUrl": None,
        "secureSoapUrl": None,
        "authInfo": {
            "isTokenBasedSecurity": True,
            "tokenServicesUrl": _token_services_url(call),
            "shortLivedTokenValidity": validity,
        },
    }


def catalog(call: Call) -> dict[str, Any]:
    """``/arcgis/rest/services``: folders and the root folder's services the caller may use."""
    runtime = call.state.open_site()
    if runtime is None:
        return {"currentVersion": ARCGIS_CURRENT_VERSION, "folders": [], "services": []}
    store = runtime.site.store
    return {
        "currentVersion": ARCGIS_CURRENT_VERSION,
        "folders": [f.name for f in store.list_folders()],
        "services": _listed(call, store.list_services("")),
    }


def _listed(call: Call, services: list[Service]) -> list[dict[str, str]]:
    """The services the caller may use (stopped ones too, as ArcGIS lists them)."""
    store = call.state.require_site().site.store
    listed = []
    for service in services:
        if not permissions.may_use(store, service, call.principal):
            continue
        listed.append({"name": service.qualified_name, "type": service.type})
        if feature_access(service) is not None:  # a map service's feature access, as ArcGIS
            entry = {"name": service.qualified_name, "type": FEATURE_SERVER}
            if entry not in listed:
                listed.append(entry)
    return listed


def folder_catalog(call: Call) -> dict[str, Any]:
    """``/arcgis/rest/services/{folder}``: the folder's services, named with the folder."""
    store = call.state.require_site().site.store
    name = call.args["folder"]
    found = store.get_folder(name)
    if found is None:
        raise NotFound(f"Folder '{name[:128]}' does not exist.")
    return {
        "currentVersion": ARCGIS_CURRENT_VERSION,
        "folders": [],
        "services": _listed(call, store.list_services(found.name)),
    }


def _catalog_children(call: Call, payload: dict[str, Any]) -> list[str | tuple[str, str]]:
    names: list[str | tuple[str, str]] = list(payload.get("folders", []))
    runtime = call.state.open_site()
    for entry in payload.get("services", []):
        folder, _, name = entry["name"].rpartition("/")
        link = f"{name}/{entry['type']}"
        found = runtime.site.store.get_service(folder, name, entry["type"]) if runtime else None
        stopped = found is not None and found.configured_state != STARTED
        names.append((link, f"{link} (stopped)") if stopped else link)
    return names


def public_generate_token(call: Call) -> dict[str, Any]:
    """``/arcgis/tokens/generateToken``: tokens for any user of the site."""
    return generate_token(call, source="Tokens", minimum=None)


REST_ENDPOINTS = [
    Endpoint("/", catalog, privilege=None, title="Home"),
    Endpoint(
        "/services",
        catalog,
        privilege=None,
        title="Folder: /",
        needs_site=False,
        children=_catalog_children,
    ),
    *editing.ENDPOINTS,  # before feature_server's {layer}/{oid}
    *feature_server.ENDPOINTS,
    *map_server.ENDPOINTS,
    *geometry_server.ENDPOINTS,
    Endpoint("/services/{folder}", folder_catalog, privilege=None, children=_catalog_children),
    Endpoint(
        "/info",
        rest_info,
        privilege=None,
        needs_site=False,
        title="Info",
        children=("healthCheck",),
    ),
    Endpoint(
        "/info/healthCheck", health_check, privilege=None, needs_site=False, title="Health Check"
    ),
]

TOKEN_ENDPOINTS = [
    Endpoint(
        "/",
        public_generate_token,
        kind=OPERATION,
        privilege=None,
        fields=TOKEN_FIELDS,
        title="Generate Token",
        allow_get=True,
    ),
    Endpoint(
        "/generateToken",
        public_generate_token,
        kind=OPERATION,
        privilege=None,
        fields=TOKEN_FIELDS,
        title="Generate Token",
        allow_get=True,
    ),
]
