"""The site's log settings (``/admin/logs/settings``) and the removal of old records.

``logLevel`` (``OFF`` or a level), ``maxLogFileAge`` in days (records older than that are
removed, at most once an hour by each worker), ``maxErrorReportsCount``. ``logDir`` is shown
as ArcGIS shows it, with a trailing slash; geosite keeps records in its log store there.
"""

from __future__ import annotations

from typing import Any

from geosite.core.logs import DEFAULT_LEVEL, LEVELS
from geosite.core.values import whole_number
from geosite.errors import InvalidParameter
from geosite.storage.base import LogStore, SiteStore

SETTING = "logSettings"
OFF = "OFF"
_DAY_MS = 24 * 3600 * 1000
_MAX_AGE_DAYS = 3650


#: What a site that never set them has.
DEFAULTS: dict[str, Any] = {
    "logLevel": DEFAULT_LEVEL,
    "maxErrorReportsCount": 10,
    "maxLogFileAge": 90,
}


def current(store: SiteStore) -> dict[str, Any]:
    """The settings, with ArcGIS's keys and defaults."""
    raw = {**DEFAULTS, **(store.get_setting(SETTING) or {})}
    log_dir = str(raw.get("logDir", ""))
    return {
        "logDir": log_dir if not log_dir or log_dir.endswith("/") else log_dir + "/",
        "logLevel": str(raw["logLevel"]),
        "maxErrorReportsCount": int(raw["maxErrorReportsCount"]),
        "maxLogFileAge": int(raw["maxLogFileAge"]),
        "usageMeteringEnabled": bool(raw.get("usageMeteringEnabled", False)),
    }


def _whole(raw: dict[str, Any], key: str, low: int, high: int, default: int) -> int:
    return whole_number(raw.get(key, default), key, low, high)


def checked(raw: dict[str, Any], now: dict[str, Any]) -> dict[str, Any]:
    """``logLevel``, ``maxLogFileAge`` and ``maxErrorReportsCount`` from ``raw``, checked
    (``now`` gives the ones ``raw`` leaves out)."""
    level = str(raw.get("logLevel", now["logLevel"])).strip().upper()
    if level not in (OFF, *LEVELS):
        raise InvalidParameter(f"'logLevel' must be one of {OFF}, {', '.join(LEVELS)}.")
    return {
        "logLevel": level,
        "maxLogFileAge": _whole(raw, "maxLogFileAge", 1, _MAX_AGE_DAYS, now["maxLogFileAge"]),
        "maxErrorReportsCount": _whole(
            raw, "maxErrorReportsCount", 0, 10_000, now["maxErrorReportsCount"]
        ),
    }


def edit(store: SiteStore, raw: dict[str, Any]) -> dict[str, Any]:
    """``settings/edit``: the keys given change, the others stay; returns the new settings."""
    stored = dict(store.get_setting(SETTING) or {})
    stored.update(checked(raw, current(store)))
    store.put_setting(SETTING, stored)
    return current(store)


def prune(store: SiteStore, logs: LogStore, now_ms: int) -> int:
    """Remove records older than ``maxLogFileAge`` days; return how many went."""
    days = current(store)["maxLogFileAge"]
    return logs.delete_logs(before_ms=now_ms - days * _DAY_MS)
