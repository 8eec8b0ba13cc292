"""``/arcgis/admin/security``: users, the token policy and the primary site administrator."""

from __future__ import annotations

from typing import Any

from geosite.http.admin.accounts import USER_OPERATIONS
from geosite.http.routing import OPERATION, Call, Endpoint, Field


def security_root(call: Call) -> dict[str, Any]:
    """``GET /admin/security``."""
    call.state.require_site()
    return {"resources": ["users", "roles", "tokens", "psa"]}


def users(call: Call) -> dict[str, Any]:
    """``GET /admin/security/users``."""
    call.state.require_site()
    return {"userStoreType": "BUILTIN"}


def search_users(call: Call) -> dict[str, Any]:
    """``POST /admin/security/users/search``: users whose name contains ``filter``."""
    store = call.state.require_site().site.store
    text = call.params.get("filter") or ""
    max_count = call.params.integer("maxCount", 100, minimum=1, maximum=10000) or 100
    found, has_more = store.search_users(text, max_count)
    return {"users": [u.public() for u in found], "hasMore": has_more}


def token_config(call: Call) -> dict[str, Any]:
    """``GET /admin/security/tokens``: the token policy (never the signing key)."""
    policy = call.state.require_site().auth.token_policy()
    return {
        "type": "BUILTIN",
        "properties": {
            "shortTimeout": str(policy.short_timeout),
            "longTimeout": str(policy.long_timeout),
            "allowHttpGet": "true" if policy.allow_http_get else "false",
        },
    }


def psa(call: Call) -> dict[str, Any]:
    """``GET /admin/security/psa``: the primary site administrator account."""
    runtime = call.state.require_site()
    site = runtime.site.store.get_setting("site") or {}
    user = runtime.site.store.get_user(str(site.get("psa", "")))
    return {"username": user.username if user else "", "disabled": bool(user and user.disabled)}


def _children(call: Call, payload: dict[str, Any]) -> list[str]:
    return list(payload.get("resources", []))


ENDPOINTS = [
    Endpoint("/security", security_root, title="Security", children=_children),
    Endpoint("/security/users", users, title="Users", operations=USER_OPERATIONS),
    Endpoint(
        "/security/users/search",
        search_users,
        kind=OPERATION,
        title="Search Users",
        fields=(
            Field("filter", "Filter"),
            Field("maxCount", "Max count", kind="number", default="100"),
        ),
    ),
    Endpoint("/security/tokens", token_config, title="Token Configuration"),
    Endpoint("/security/psa", psa, title="Primary Site Administrator"),
]
