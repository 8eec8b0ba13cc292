"""Persistence of the site's configuration and logs, behind ``SiteStore`` and ``LogStore``."""

from __future__ import annotations

from pathlib import Path

from geosite.errors import InvalidParameter
from geosite.storage.base import LogStore, SiteStore
from geosite.storage.sqlite import SqliteSiteStore
from geosite.storage.sqlite_logs import SqliteLogStore


def load_stores(url: str) -> tuple[SiteStore, LogStore]:
    """Open the site and log stores named by ``url`` (``sqlite:///<directory>``)."""
    if url.startswith("sqlite:///"):
        directory = Path(url.removeprefix("sqlite:///"))
        directory.mkdir(parents=True, exist_ok=True)
        return SqliteSiteStore(directory / "site.db"), SqliteLogStore(directory / "logs.db")
    raise InvalidParameter(f"Unsupported configuration store '{url.split(':', 1)[0]}'.")


__all__ = ["LogStore", "SiteStore", "load_stores"]
