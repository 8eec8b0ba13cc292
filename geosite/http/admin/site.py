"""The site root, site creation, info, health, generateToken and the HTML login."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from geosite import ARCGIS_CURRENT_VERSION, ARCGIS_FULL_VERSION, __version__, integers
from geosite.core import machines, ownership
from geosite.core.logs import LogCode
from geosite.core.models import Privilege, ServerDirectory
from geosite.core.public_key import SETTING, SiteKeys
from geosite.core.security import INVALID_CREDENTIALS, LOCKED
from geosite.core.site import SiteRequest, create_site
from geosite.errors import (
    Conflict,
    Forbidden,
    GeositeError,
    InvalidParameter,
    LoginFailed,
    TokenRequired,
)
from geosite.http import metrics
from geosite.http.routing import OPERATION, Call, Endpoint, Field, Reply
from geosite.http.state import AppState
from geosite.http.tokens import TOKEN_FIELDS, decrypted, generate_token, login
from geosite.storage import is_postgresql, load_stores

SOURCE = "Admin"


def root(call: Call) -> dict[str, Any]:
    """``GET /arcgis/admin``: the site's top-level resources."""
    return call.state.require_site().site.root()


def _root_children(call: Call, payload: dict[str, Any]) -> list[str]:
    return list(payload.get("resources", []))


def _json_object(call: Call, *names: str) -> Any:
    for name in names:
        value = call.params.get(name)
        if value is not None:
            return call.params.json(name)
    return None


def _directories(raw: Any) -> list[ServerDirectory]:
    if raw is None:
        return []
    items = raw.get("directories") if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        raise InvalidParameter("'directories' must be a JSON object with a 'directories' list.")
    result = []
    for item in items:
        if not isinstance(item, dict) or not item.get("name") or not item.get("physicalPath"):
            raise InvalidParameter("Each directory needs a 'name' and a 'physicalPath'.")
        result.append(
            ServerDirectory(
                name=str(item["name"]),
                physical_path=str(item["physicalPath"]),
                directory_type=str(item.get("directoryType", "CACHE")).upper(),
                cleanup_mode=str(item.get("cleanupMode", "NONE")),
                max_file_age=integers.integer(
                    item.get("maxFileAge") or 0, "maxFileAge", 0, integers.INT32_MAX
                ),
                description=str(item.get("description", "")),
            )
        )
    return result


def create_new_site(call: Call) -> dict[str, Any]:
    """``POST /arcgis/admin/createNewSite``: make this machine the first of a new site."""
    state = call.state
    refuse_in_a_site(call)
    settings = state.settings
    store = _json_object(call, "configStoreConnection") or {}
    if not isinstance(store, dict):
        raise InvalidParameter("'configStoreConnection' must be a JSON object.")
    kind = str(store.get("type", "FILESYSTEM")).upper()
    if kind not in ("FILESYSTEM", "SQLITE", "POSTGRESQL"):
        raise InvalidParameter(
            f"Unsupported configuration store type '{kind[:32]}'.",
            details=["Supported types are FILESYSTEM, SQLITE and POSTGRESQL."],
        )
    location = store.get("connectionString")
    store_url = _postgresql_url(store) if kind == "POSTGRESQL" else None
    log_settings = _json_object(call, "logsSettings", "logSettings", "settings") or {}
    if not isinstance(log_settings, dict):
        raise InvalidParameter("The log settings must be a JSON object.")
    credentials = decrypted(call, ("username", "password"))
    request = SiteRequest(
        username=credentials.require("username"),
        password=credentials.require("password"),
        config_store_path=(settings.data_dir / str(location))
        if location and not store_url
        else None,
        config_store_url=store_url,
        directories=_directories(_json_object(call, "directories")),
        log_settings=log_settings,
    )
    machine = settings.machine_name
    create_site(
        settings.data_dir,
        request,
        state.clock,
        machine_name=machine,
        admin_url=own_admin_url(state),
        machine_properties=own_ports(state),
        open_stores=load_stores,
    )
    runtime = state.require_site()
    _adopt_machine_keys(state)
    runtime.log.log(
        "INFO",
        LogCode.SITE_CREATED,
        SOURCE,
        f"Site created with primary site administrator '{request.username}'.",
        request_id=call.request_id,
    )
    return {"status": "success"}


def _postgresql_url(store: dict[str, Any]) -> str:
    """The database of a ``{"type": "POSTGRESQL", "connectionString": "postgresql://..."}``
    store; ``connectionSecret`` (as ArcGIS's cloud stores name it) is its password when the
    URL carries none."""
    url = store.get("connectionString")
    if not isinstance(url, str) or not is_postgresql(url):
        raise InvalidParameter(
            "A POSTGRESQL configuration store needs a connectionString of the form "
            "postgresql://user@host:port/database."
        )
    secret = store.get("connectionSecret")
    if isinstance(secret, str) and secret:
        try:
            parts = urlsplit(url)
        except ValueError:  # a bracketed host that is not IPv6
            raise InvalidParameter(
                "The configuration store's connectionString cannot be read."
            ) from None
        if parts.password is None and parts.username and parts.hostname:
            netloc = f"{parts.username}:{quote(secret, safe='')}@{parts.netloc.split('@', 1)[1]}"
            url = urlunsplit(parts._replace(netloc=netloc))
    return url


def _adopt_machine_keys(state: AppState) -> None:
    """The new site keeps the key pair this machine showed before it had one (a client that
    encrypted with it goes on working); the machine's own copy is removed."""
    machine = state.machine_key_file()
    pair = SiteKeys(machine, state.clock)
    if machine.get_setting(SETTING) is not None:
        state.require_site().keys.adopt(pair.pair())
    machine.remove()


def refuse_in_a_site(call: Call) -> None:
    """The operations that make a machine a member (``createNewSite``, ``joinSite``,
    ``acceptSite``) are open only on a machine without a site; afterwards each is an
    administrator's operation that answers that the machine has a site."""
    if call.state.open_site() is None:
        return
    if call.principal is None:
        raise call.token_error or TokenRequired()
    if not ownership.is_administrator(call.principal):
        raise Forbidden()
    raise Conflict("This machine already participates in a site.")


def own_admin_url(state: AppState) -> str:
    """The ``adminURL`` this machine registers for itself in a site."""
    settings = state.settings
    return machines.own_admin_url(
        settings.host, settings.port, settings.context_path, state.machine_name
    )


def own_ports(state: AppState) -> dict[str, Any]:
    """The ports this machine registers for itself in a site."""
    settings = state.settings
    return {"ports": {"HTTPPort": settings.port, "HTTPSPort": settings.https_port}}


def info(call: Call) -> dict[str, Any]:
    """``GET /arcgis/admin/info``: version, time zone and who is asking."""
    runtime = call.state.require_site()
    principal = call.principal
    offset = -time.timezone // 60
    name = os.environ.get("TZ") or _olson_name()
    privilege = principal.privilege.name if principal else ""
    return {
        "currentversion": str(ARCGIS_CURRENT_VERSION),
        "fullVersion": ARCGIS_FULL_VERSION,
        "currentbuild": __version__,
        "geositeVersion": __version__,
        "machineName": runtime.site.machine_name,
        "timezone": {
            "displayname": f"(UTC{offset // 60:+03d}:{offset % 60:02d}) {time.tzname[0]}",
            "olsonid": name,
            "daylightsavings": bool(time.daylight),
        },
        "loggedInUser": principal.username if principal else "",
        "logginInUser": principal.username if principal else "",
        "loggedInUserPrivilege": privilege,
    }


def _olson_name() -> str:
    try:
        return Path("/etc/timezone").read_text().strip() or "UTC"
    except OSError:
        return "UTC"


def health_check(call: Call) -> dict[str, Any] | Reply:
    """``/arcgis/admin/info/healthCheck`` and ``/arcgis/rest/info/healthCheck`` (public). A
    machine an administrator stopped, or one that cannot reach its site's configuration
    store, answers ``success: false`` with HTTP 503 (in every format), so that a balancer's
    probe takes it out of rotation."""
    runtime = call.state.open_site()
    try:
        state = runtime.machine_state() if runtime is not None else machines.STARTED
    except GeositeError:  # the configuration store cannot be reached: send requests elsewhere
        state = "UNAVAILABLE"
    if state != machines.STARTED:  # stopped, unregistered, or cut off from the store
        body = {"success": False, "siteCreated": True, "status": state}
        return Reply(payload=body, status=503)
    return {"success": True, "siteCreated": runtime is not None}


def metrics_page(call: Call) -> Reply:
    """``/arcgis/admin/metrics``: this machine's Prometheus metrics, for administrators and
    for the addresses of ``--metrics-addresses`` (a Prometheus server, without a token)."""
    body, media_type = metrics.exposition()
    return Reply(body=body, media_type=media_type)


def admin_generate_token(call: Call) -> dict[str, Any]:
    """``POST /arcgis/admin/generateToken`` (administrators and publishers only)."""
    return generate_token(call, source=SOURCE, minimum=Privilege.PUBLISH)


def _safe_redirect(call: Call, target: str | None) -> str:
    """A page of this site to go to after logging in (never another site)."""
    site = call.site_path
    if target and target.startswith(site + "/") and "//" not in target and "\\" not in target:
        return target
    return f"{site}/admin/"


def login_page(call: Call) -> Reply:
    """``/arcgis/admin/login``: the form on GET; sets the login cookie on POST."""
    redirect = _safe_redirect(call, call.params.get("redirect"))
    context = {
        "heading": "Sign in to the Administrator Directory",
        "action": f"{call.site_path}/admin/login",
        "redirect": redirect,
        "username": "",
        "message": "",
    }
    if call.method != "POST":
        return Reply(template="login.html", context=context)
    try:
        issued = login(call, SOURCE, Privilege.PUBLISH)
    except LoginFailed as exc:
        message = LOCKED if LOCKED in exc.details else INVALID_CREDENTIALS
        context.update(username=call.params.get("username") or "", message=message)
        return Reply(template="login.html", context=context, status=401)
    except GeositeError as exc:
        context.update(message=" ".join(exc.messages + exc.details))
        return Reply(template="login.html", context=context, status=403)
    max_age = max(1, (issued.expires_ms - call.state.clock.now_ms()) // 1000)
    return Reply(redirect=redirect, set_cookie=(issued.token, max_age))


def logout(call: Call) -> Reply:
    """``/arcgis/admin/logout``: forget the login cookie."""
    return Reply(redirect=f"{call.site_path}/admin/login", clear_cookie=True)


SITE_FIELDS = (
    Field("username", "Primary site administrator", required=True),
    Field("password", "Password", kind="password", required=True),
    Field(
        "configStoreConnection",
        "Config store connection (JSON)",
        kind="textarea",
        default='{"type": "FILESYSTEM"}',
    ),
    Field("directories", "Server directories (JSON)", kind="textarea"),
    Field(
        "logsSettings",
        "Log settings (JSON)",
        kind="textarea",
        default='{"logLevel": "WARNING", "maxLogFileAge": 90}',
    ),
)

ENDPOINTS = [
    Endpoint(
        "/",
        root,
        privilege=Privilege.PUBLISH,
        title="Site",
        children=_root_children,
        operations=("generateToken", "exportSite", "importSite", "joinSite", "deleteSite"),
        description="The root of the ArcGIS Server Administrator API of this site.",
    ),
    Endpoint(
        "/createNewSite",
        create_new_site,
        kind=OPERATION,
        privilege=None,
        needs_site=False,
        title="Create Site",
        fields=SITE_FIELDS,
        description="Creates a new site with this machine as its first member.",
    ),
    Endpoint(
        "/generateToken",
        admin_generate_token,
        kind=OPERATION,
        privilege=None,
        title="Generate Token",
        fields=TOKEN_FIELDS,
        allow_get=True,
        description="Generates a token for an administrator or a publisher.",
    ),
    Endpoint("/login", login_page, privilege=None, title="Login"),
    Endpoint("/logout", logout, privilege=None, needs_site=False, title="Logout"),
    Endpoint("/info", info, privilege=Privilege.PUBLISH, title="Info", children=("healthCheck",)),
    Endpoint(
        "/metrics",
        metrics_page,
        scrapers=True,
        title="Metrics",
        description="This machine's Prometheus metrics: administrators, and the addresses "
        "of --metrics-addresses without a token.",
    ),
    Endpoint(
        "/info/healthCheck", health_check, privilege=None, needs_site=False, title="Health Check"
    ),
]
