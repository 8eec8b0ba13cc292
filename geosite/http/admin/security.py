"""``/arcgis/admin/security``: users, the token policy and the primary site administrator."""

from __future__ import annotations

from typing import Any

from geosite import integers
from geosite.core import accounts, password_policy, security_config
from geosite.core.models import TokenPolicy
from geosite.errors import InvalidParameter
from geosite.http.admin.accounts import USER_OPERATIONS
from geosite.http.routing import OPERATION, Call, Endpoint, Field


def security_root(call: Call) -> dict[str, Any]:
    """``GET /admin/security``."""
    call.state.require_site()
    return {"resources": ["config", "users", "roles", "tokens", "psa", "passwordPolicy"]}


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


def update_tokens(call: Call) -> dict[str, Any]:
    """``tokens/update``: ``tokenManagerConfig`` (ArcGIS's JSON) or the same fields flat.

    ``shortTimeout``/``longTimeout`` in minutes, ``allowHttpGet``; a ``sharedKey`` (any value:
    geosite makes its own secret and never shows it) rotates the signing key, which ends every
    token at once, on every worker.
    """
    auth = call.state.require_site().auth
    config = call.params.json("tokenManagerConfig")
    if config is not None and not isinstance(config, dict):
        raise InvalidParameter("'tokenManagerConfig' must be a JSON object.")
    properties = (config or {}).get("properties") or {}
    if not isinstance(properties, dict):
        raise InvalidParameter("'tokenManagerConfig.properties' must be a JSON object.")
    raw = dict(properties)
    for name in ("shortTimeout", "longTimeout", "allowHttpGet", "sharedKey"):
        if call.params.get(name) is not None:
            raw[name] = call.params.get(name)
    current = auth.token_policy()
    policy = TokenPolicy(  # minutes; the policy's store checks their range
        short_timeout=integers.integer(
            raw.get("shortTimeout", current.short_timeout), "shortTimeout"
        ),
        long_timeout=integers.integer(raw.get("longTimeout", current.long_timeout), "longTimeout"),
        allow_http_get=str(raw.get("allowHttpGet", current.allow_http_get)).lower() == "true",
    )
    auth.update_token_policy(policy)
    if raw.get("sharedKey"):
        auth.rotate_key()
    return {"status": "success"}


def config(call: Call) -> dict[str, Any]:
    """``GET /admin/security/config``."""
    return call.state.require_site().security_config().public()


def _object_param(call: Call, name: str, flat: tuple[str, ...]) -> dict[str, Any]:
    """A JSON object parameter, with the same fields also accepted as plain parameters."""
    raw = call.params.json(name)
    if raw is not None and not isinstance(raw, dict):
        raise InvalidParameter(f"'{name}' must be a JSON object.")
    merged = dict(raw or {})
    for key in flat:
        value = call.params.get(key)
        if value is not None and value != "":
            merged[key] = value
    return merged


def update_config(call: Call) -> dict[str, Any]:
    """``config/update`` with ``securityConfig`` (ArcGIS's JSON), or its fields flat."""
    runtime = call.state.require_site()
    raw = _object_param(call, "securityConfig", _CONFIG_FIELDS)
    current = security_config.load(runtime.site.store)
    runtime.set_security_config(security_config.updated(current, raw, call.client_ip))
    return {"status": "success"}


def password_policy_resource(call: Call) -> dict[str, Any]:
    """``GET /admin/security/passwordPolicy``."""
    return password_policy.load(call.state.require_site().site.store).public()


def update_password_policy(call: Call) -> dict[str, Any]:
    """``passwordPolicy/update`` with ``passwordPolicy`` (JSON), or its fields flat."""
    store = call.state.require_site().site.store
    raw = _object_param(call, "passwordPolicy", _POLICY_FIELDS)
    password_policy.save(store, password_policy.updated(password_policy.load(store), raw))
    return {"status": "success"}


def psa(call: Call) -> dict[str, Any]:
    """``GET /admin/security/psa``: the primary site administrator account."""
    runtime = call.state.require_site()
    site = runtime.site.store.get_setting("site") or {}
    user = runtime.site.store.get_user(str(site.get("psa", "")))
    return {"username": user.username if user else "", "disabled": bool(user and user.disabled)}


def update_psa(call: Call) -> dict[str, Any]:
    """``psa/update`` (``username``, ``password``): the account's tokens end."""
    store = call.state.require_site().site.store
    accounts.update_psa(store, call.params.get("username"), call.params.get("password"))
    return {"status": "success"}


def disable_psa(call: Call) -> dict[str, Any]:
    """``psa/disable``: only once another user administers the site through a role."""
    runtime = call.state.require_site()
    accounts.set_psa_disabled(runtime.site.store, True, runtime.auth.privilege_of)
    return {"status": "success"}


def enable_psa(call: Call) -> dict[str, Any]:
    """``psa/enable``."""
    runtime = call.state.require_site()
    accounts.set_psa_disabled(runtime.site.store, False, runtime.auth.privilege_of)
    return {"status": "success"}


def _children(call: Call, payload: dict[str, Any]) -> list[str]:
    return list(payload.get("resources", []))


_CONFIG_FIELDS = (
    "sslEnabled",
    "httpEnabled",
    "allowedAdminAccessProtocol",
    "allowedAdminAccessIPs",
)
_POLICY_FIELDS = ("type", "minLength", "minUpper", "minLower", "minDigit", "minOther")
_TRUE_FALSE = ("", "true", "false")

ENDPOINTS = [
    Endpoint("/security/config", config, title="Security Configuration", operations=("update",)),
    Endpoint(
        "/security/config/update",
        update_config,
        kind=OPERATION,
        title="Update Security Configuration",
        fields=(
            Field("securityConfig", "Security configuration (JSON)", kind="textarea"),
            Field("sslEnabled", "SSL enabled", kind="select", options=_TRUE_FALSE),
            Field("httpEnabled", "HTTP enabled", kind="select", options=_TRUE_FALSE),
            Field(
                "allowedAdminAccessProtocol",
                "Administrator API protocol",
                kind="select",
                options=("", security_config.HTTP_AND_HTTPS, security_config.HTTPS),
            ),
            Field("allowedAdminAccessIPs", "Administrator API addresses (comma-separated)"),
        ),
        description="HTTPS only (sslEnabled true, httpEnabled false) turns away plain HTTP: "
        "requests with tokens or passwords are refused, others are redirected to HTTPS.",
    ),
    Endpoint(
        "/security/passwordPolicy",
        password_policy_resource,
        title="Password Policy",
        operations=("update",),
    ),
    Endpoint(
        "/security/passwordPolicy/update",
        update_password_policy,
        kind=OPERATION,
        title="Update Password Policy",
        fields=(
            Field("passwordPolicy", "Password policy (JSON)", kind="textarea"),
            *(Field(name, name, kind="number") for name in _POLICY_FIELDS[1:]),
        ),
        description="Applies to passwords set from now on.",
    ),
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
    Endpoint("/security/tokens", token_config, title="Token Configuration", operations=("update",)),
    Endpoint(
        "/security/tokens/update",
        update_tokens,
        kind=OPERATION,
        title="Update Token Configuration",
        fields=(
            Field("shortTimeout", "Short timeout (minutes)", kind="number"),
            Field("longTimeout", "Long timeout (minutes)", kind="number"),
            Field("allowHttpGet", "Allow HTTP GET", kind="select", options=("false", "true")),
            Field("sharedKey", "New shared key (rotates the key: every token ends)"),
        ),
    ),
    Endpoint(
        "/security/psa",
        psa,
        title="Primary Site Administrator",
        operations=("update", "disable", "enable"),
    ),
    Endpoint(
        "/security/psa/update",
        update_psa,
        kind=OPERATION,
        title="Update Primary Site Administrator",
        fields=(
            Field("username", "New username"),
            Field("password", "New password", kind="password"),
        ),
    ),
    Endpoint("/security/psa/disable", disable_psa, kind=OPERATION, title="Disable"),
    Endpoint("/security/psa/enable", enable_psa, kind=OPERATION, title="Enable"),
]
