"""The site's web adaptors (``/admin/system/webadaptors``): the load balancers in front of
its machines, registered so that administrators (and ``geosite webadaptor``) know them.

ArcGIS's Web Adaptor registers itself; for geosite an administrator (or
``geosite webadaptor nginx --register URL``) registers the nginx it configured. Kept in the
site store's settings; each has an id, its URL, the machine it runs on, its ports, and
whether administration is allowed through it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from geosite import integers
from geosite.errors import Conflict, InvalidParameter, NotFound
from geosite.storage.base import SiteStore

KEY = "system.webAdaptors"
CONFIG_KEY = "system.webAdaptorConfig"
DEFAULT_CONFIG: dict[str, Any] = {"maxConnections": 500, "sharedKey": "", "reverseProxy": True}
_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})$")
_ID = re.compile(r"^[0-9a-f]{32}$")
Getter = Callable[[str], str | None]


def listed(store: SiteStore) -> list[dict[str, Any]]:
    """The registered web adaptors, in the order they were registered."""
    found = store.get_setting(KEY)
    return [dict(item) for item in found] if isinstance(found, list) else []


def _url(text: str | None) -> str:
    value = (text or "").strip().rstrip("/")
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:  # a bracketed host that is not IPv6, a port that is not a number
        port_ok, parts = False, urlsplit("")
    if (
        not port_ok
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or len(value) > 500
    ):
        raise InvalidParameter(
            "'webAdaptorURL' must be an http(s) URL, such as https://gis.example.com/arcgis."
        )
    if parts.query or parts.fragment or "\\" in value or not value.isprintable():
        raise InvalidParameter("'webAdaptorURL' must be a plain URL (no query or fragment).")
    return value


def _port(params: Getter, name: str, default: int) -> int:
    raw = params(name)
    if raw is None or not raw.strip():
        return default
    number = integers.whole(raw.strip())
    if number is None or not 1 <= number <= 65535:
        raise InvalidParameter(f"'{name}' must be a port number from 1 to 65535.")
    return number


def _text(params: Getter, name: str, default: str, limit: int = 500) -> str:
    value = (params(name) or default).strip()
    if len(value) > limit or not value.isprintable():
        raise InvalidParameter(f"'{name}' must be printable text of at most {limit} characters.")
    return value


def register(store: SiteStore, params: Getter) -> dict[str, Any]:
    """``webadaptors/register``: ``webAdaptorURL`` (required), ``machineName``, ``machineIP``,
    ``httpPort``, ``httpsPort``, ``isAdminEnabled``, ``description``."""
    url = _url(params("webAdaptorURL"))
    machine = _text(params, "machineName", urlsplit(url).hostname or "", 253)
    if machine and not _HOST.match(machine):
        raise InvalidParameter("'machineName' must be a host name.")
    item = {
        "id": secrets.token_hex(16),
        "webAdaptorURL": url,
        "machineName": machine,
        "machineIP": _text(params, "machineIP", "", 64),
        "httpPort": _port(params, "httpPort", 80),
        "httpsPort": _port(params, "httpsPort", 443),
        "isAdminEnabled": (params("isAdminEnabled") or "false").strip().lower() == "true",
        "description": _text(params, "description", ""),
    }
    items = listed(store)
    if any(other["webAdaptorURL"].lower() == url.lower() for other in items):
        raise Conflict(f"A web adaptor is already registered at '{url}'.")
    store.put_setting(KEY, [*items, item])
    return item


def find(store: SiteStore, item_id: str) -> dict[str, Any]:
    """One web adaptor by id."""
    for item in listed(store) if _ID.match(item_id) else []:
        if item["id"] == item_id:
            return item
    raise NotFound(f"Could not find resource or operation '{item_id[:64]}' on the system.")


def update(store: SiteStore, item_id: str, params: Getter) -> None:
    """``webadaptors/<id>/update``: ``description``, ``httpPort``, ``httpsPort``."""
    item = find(store, item_id)
    changed = {
        **item,
        "description": _text(params, "description", str(item.get("description", ""))),
        "httpPort": _port(params, "httpPort", int(item.get("httpPort", 80))),
        "httpsPort": _port(params, "httpsPort", int(item.get("httpsPort", 443))),
    }
    store.put_setting(KEY, [changed if i["id"] == item_id else i for i in listed(store)])


def unregister(store: SiteStore, item_id: str) -> None:
    """``webadaptors/<id>/unregister``."""
    find(store, item_id)
    store.put_setting(KEY, [i for i in listed(store) if i["id"] != item_id])


def config(store: SiteStore) -> dict[str, Any]:
    """``webadaptors/config``: what every web adaptor of the site is told."""
    found = store.get_setting(CONFIG_KEY)
    return {**DEFAULT_CONFIG, **(found if isinstance(found, dict) else {})}


def update_config(store: SiteStore, raw: Any) -> None:
    """``webadaptors/config/update`` (``webAdaptorConfig``: a JSON object)."""
    if not isinstance(raw, dict):
        raise InvalidParameter("'webAdaptorConfig' must be a JSON object.")
    connections = raw.get("maxConnections", DEFAULT_CONFIG["maxConnections"])
    number = integers.whole(connections)
    if number is None or not 1 <= number <= 100_000:
        raise InvalidParameter("'maxConnections' must be a whole number from 1 to 100000.")
    key = raw.get("sharedKey", "")
    if not isinstance(key, str) or len(key) > 256 or not key.isprintable():
        raise InvalidParameter("'sharedKey' must be text of at most 256 characters.")
    store.put_setting(
        CONFIG_KEY,
        {
            "maxConnections": number,
            "sharedKey": key,
            "reverseProxy": bool(raw.get("reverseProxy", True)),
        },
    )
