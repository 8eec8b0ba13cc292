"""The site's system properties (``/admin/system/properties``), ``WebContextURL`` among them.

As in ArcGIS Server, the properties are one JSON object that ``update`` replaces whole (the
ArcGIS API for Python reads them, changes a key and posts them all back). geosite acts on:

* ``WebContextURL``: the URL the site is reached at from outside, through a reverse proxy or
  web adaptor (``https://gis.example.com/server``). When it is set, every URL the site writes
  (the token service in ``rest/info``, links of the HTML directories, redirects) starts with it.

Other keys are kept and shown as given, as ArcGIS keeps properties it does not act on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson

from geosite.errors import InvalidParameter
from geosite.storage.base import SiteStore

SETTING = "systemProperties"
WEB_CONTEXT_URL = "WebContextURL"
_MAX_KEYS = 100
_MAX_BYTES = 64 * 1024


@dataclass(frozen=True)
class SystemProperties:
    """The stored properties, with the ones geosite acts on parsed."""

    values: dict[str, Any] = field(default_factory=dict)

    @property
    def web_context_url(self) -> str:
        """The public URL of the site without a trailing slash, or ``""`` when not set."""
        return str(self.values.get(WEB_CONTEXT_URL) or "").rstrip("/")


_SEGMENT = re.compile(r"^[A-Za-z0-9_.~-]+$", re.ASCII)
_HOST = re.compile(r"^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$", re.ASCII)
_EXPECTED = (
    "Expected an absolute http or https URL such as https://gis.example.com/server: a host, "
    "an optional port and path of letters, digits and _ . ~ -, no query string or user."
)


def check_web_context_url(value: object) -> str:
    """The URL when it can stand as the site's public address; InvalidParameter otherwise.

    The value is not repeated in the error: it could hold a password (``https://u:p@h``).
    """
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or len(value) > 2048:
        raise InvalidParameter("Invalid WebContextURL.", details=[_EXPECTED])
    text = value.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise InvalidParameter("Invalid WebContextURL.", details=[_EXPECTED]) from None
    host = parts.netloc.rsplit(":", 1)[0] if not parts.netloc.endswith("]") else parts.netloc
    segments = parts.path.split("/")[1:] if parts.path else []
    if segments and segments[-1] == "":
        segments.pop()  # one trailing slash
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or "@" in parts.netloc
        or not _HOST.match(host)
        or parts.query
        or parts.fragment
        or "?" in text
        or "#" in text
        or not all(_SEGMENT.match(s) and s not in (".", "..") for s in segments)
    ):
        raise InvalidParameter("Invalid WebContextURL.", details=[_EXPECTED])
    return text.rstrip("/")


def parse(raw: str | None) -> SystemProperties:
    """Validate the ``properties`` parameter of ``update``."""
    if raw is None or not raw.strip():
        raise InvalidParameter("Missing required parameter 'properties'.")
    if len(raw) > _MAX_BYTES:
        raise InvalidParameter("The properties are too large.")
    try:
        values = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidParameter("The properties must be a JSON object.") from None
    if not isinstance(values, dict):
        raise InvalidParameter("The properties must be a JSON object.")
    if len(values) > _MAX_KEYS:
        raise InvalidParameter(f"At most {_MAX_KEYS} properties are allowed.")
    for key, value in values.items():
        if isinstance(value, dict | list):
            raise InvalidParameter(f"The property '{key}' must be a string, number or boolean.")
    url = check_web_context_url(values.get(WEB_CONTEXT_URL))
    if WEB_CONTEXT_URL in values:
        values[WEB_CONTEXT_URL] = url
    return SystemProperties(values)


def load(store: SiteStore) -> SystemProperties:
    """The site's properties (none set: an empty object)."""
    raw = store.get_setting(SETTING)
    return SystemProperties(dict(raw) if isinstance(raw, dict) else {})


def save(store: SiteStore, properties: SystemProperties) -> None:
    """Replace the site's properties."""
    store.put_setting(SETTING, properties.values)
