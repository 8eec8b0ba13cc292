"""The public side: ``/arcgis/rest`` (info, catalog) and the token service ``/arcgis/tokens``."""

from __future__ import annotations

from typing import Any

from geosite import ARCGIS_CURRENT_VERSION, ARCGIS_FULL_VERSION
from geosite.http.admin.site import health_check
from geosite.http.routing import OPERATION, Call, Endpoint
from geosite.http.tokens import TOKEN_FIELDS, generate_token


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
            "tokenServicesUrl": f"{call.base_url}/arcgis/tokens/",
            "shortLivedTokenValidity": validity,
        },
    }


def catalog(call: Call) -> dict[str, Any]:
    """``/arcgis/rest/services``: folders and services (none are published yet)."""
    return {"currentVersion": ARCGIS_CURRENT_VERSION, "folders": [], "services": []}


def public_generate_token(call: Call) -> dict[str, Any]:
    """``/arcgis/tokens/generateToken``: tokens for any user of the site."""
    return generate_token(call, source="Tokens", minimum=None)


REST_ENDPOINTS = [
    Endpoint("/", catalog, privilege=None, title="Home"),
    Endpoint("/services", catalog, privilege=None, title="Folder: /", needs_site=False),
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
