"""The site's log settings (``/admin/logs/settings``) and the removal of old records.

``logLevel`` (``OFF`` or a level), ``maxLogFileAge`` in days (records older than that are
removed, at most once an hour by each worker), ``maxErrorReportsCount``. ``logDir`` is shown
as ArcGIS shows it, with a trailing slash: a directory that exists, ``<data-dir>/logs/``
(0700) unless edited, made when the site starts. The records themselves are in the site's log
store (``config-store/logs.db`` for a SQLite store) and on stdout; ``logDir`` is where log
files go (an operator's, or a future file sink's), so it must exist and be writable.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from geosite.core.logs import DEFAULT_LEVEL, LEVELS
from geosite.core.values import whole_number
from geosite.errors import InvalidParameter
from geosite.files import private_dir
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


def checked_dir(value: str) -> str:
    """``logDir`` as given to ``settings/edit``: an absolute path to a directory that exists
    and the server can write to (InvalidParameter otherwise)."""
    text = value.strip()
    path = Path(text)
    if not text or not path.is_absolute():
        raise InvalidParameter(f"'logDir' must be an absolute path, not '{text}'.")
    if not path.is_dir():
        raise InvalidParameter(f"'logDir' must be a directory that exists: '{text}' is not.")
    if not os.access(path, os.W_OK | os.X_OK):
        raise InvalidParameter(f"'logDir' must be a directory the server can write to: '{text}'.")
    return os.path.normpath(text)


def edit(store: SiteStore, raw: dict[str, Any]) -> dict[str, Any]:
    """``settings/edit``: the keys given change, the others stay; returns the new settings."""
    stored = dict(store.get_setting(SETTING) or {})
    changed = checked(raw, current(store))
    if raw.get("logDir") is not None:
        changed["logDir"] = checked_dir(str(raw["logDir"]))
    stored.update(changed)
    store.put_setting(SETTING, stored)
    return current(store)


def ensure_log_dir(store: SiteStore, data_dir: Path) -> Path:
    """Make the site's ``logDir`` when it is missing (0700); ``<data-dir>/logs`` when none is
    set or the one set cannot be made (a backup restored from another machine)."""
    stored = dict(store.get_setting(SETTING) or {})
    default = (data_dir / "logs").resolve()
    wanted = Path(str(stored.get("logDir") or default))
    chosen = default
    if wanted.is_absolute():
        try:
            _make_private_dir(wanted)
            chosen = wanted
        except OSError:
            chosen = default
    if chosen == default:
        _make_private_dir(default)
    if str(chosen) != stored.get("logDir"):
        stored["logDir"] = str(chosen)
        store.put_setting(SETTING, stored)
    return chosen


def _make_private_dir(path: Path) -> None:
    """Create ``path`` readable by this user only; an existing one must be writable."""
    private_dir(path)
    if not os.access(path, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write to {path}")


def prune(store: SiteStore, logs: LogStore, now_ms: int) -> int:
    """Remove records older than ``maxLogFileAge`` days; return how many went."""
    days = current(store)["maxLogFileAge"]
    return logs.delete_logs(before_ms=now_ms - days * _DAY_MS)
