"""Persistence of the site's configuration and logs, behind ``SiteStore`` and ``LogStore``.

Two backends: ``sqlite:///<directory>`` (the default: ``site.db`` and ``logs.db`` in that
directory) and ``postgresql://user:password@host:port/database`` (one database holds both
stores, in the schemas ``geosite`` and ``geosite_logs``; docs/deployment.md).
"""

from __future__ import annotations

from pathlib import Path

from geosite.errors import InvalidParameter
from geosite.files import private_dir, private_file
from geosite.storage._pg import check_connection, display_url, is_postgresql
from geosite.storage.base import LogStore, SiteStore
from geosite.storage.sqlite import SqliteSiteStore
from geosite.storage.sqlite_logs import SqliteLogStore


def load_stores(url: str) -> tuple[SiteStore, LogStore]:
    """Open the site and log stores named by ``url`` (``sqlite:///<directory>`` or
    ``postgresql://...``); a database that cannot be reached is an ``InvalidParameter`` whose
    message names it without its password."""
    if url.startswith("sqlite:///"):
        directory = Path(url.removeprefix("sqlite:///"))
        private_dir(directory)
        # Created 0600 before SQLite opens them (its -wal and -shm files take their mode).
        site_db, logs_db = private_file(directory / "site.db"), private_file(directory / "logs.db")
        return SqliteSiteStore(site_db), SqliteLogStore(logs_db)
    if is_postgresql(url):
        from geosite.storage.postgresql import PostgresSiteStore
        from geosite.storage.postgresql_logs import PostgresLogStore

        check_connection(url)
        return PostgresSiteStore(url), PostgresLogStore(url)
    raise InvalidParameter(f"Unsupported configuration store '{url.split(':', 1)[0]}'.")


__all__ = ["LogStore", "SiteStore", "display_url", "is_postgresql", "load_stores"]
