"""SQLite tables of the site store for folders, services and uploaded items."""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from geosite.core.models import Folder, Service, UploadItem
from geosite.errors import Conflict
from geosite.storage._db import Connections

_CATALOG_SCHEMA = """
CREATE TABLE IF NOT EXISTS folders (
    name TEXT PRIMARY KEY COLLATE NOCASE,
    description TEXT NOT NULL DEFAULT '',
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS services (
    folder TEXT NOT NULL COLLATE NOCASE,
    name TEXT NOT NULL COLLATE NOCASE,
    type TEXT NOT NULL COLLATE NOCASE,
    definition BLOB NOT NULL,
    configured_state TEXT NOT NULL DEFAULT 'STARTED',
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (folder, name, type)
);
CREATE TABLE IF NOT EXISTS uploads (
    item_id TEXT PRIMARY KEY,
    item_name TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    description TEXT NOT NULL DEFAULT ''
);
"""

_SERVICE_COLUMNS = "folder, name, type, definition, configured_state, created_ms"
_UPLOAD_COLUMNS = "item_id, item_name, path, size, created_ms, description"


def _service(row: tuple[Any, ...]) -> Service:
    return Service(row[0], row[1], row[2], orjson.loads(row[3]), row[4], row[5])


class SqliteCatalog:
    """Folders, services and uploads; mixed into ``SqliteSiteStore`` (same database file)."""

    _db: Connections

    def _initialize_catalog(self) -> None:
        self._db.get().executescript(_CATALOG_SCHEMA)

    def add_folder(self, folder: Folder) -> None:
        """Create a folder."""
        try:
            with self._db.transaction() as conn:
                conn.execute(
                    "INSERT INTO folders (name, description, created_ms) VALUES (?, ?, ?)",
                    (folder.name, folder.description, folder.created_ms),
                )
        except sqlite3.IntegrityError:
            raise Conflict(f"Folder '{folder.name}' already exists.") from None

    def get_folder(self, name: str) -> Folder | None:
        """A folder by name."""
        row = (
            self._db.get()
            .execute("SELECT name, description, created_ms FROM folders WHERE name=?", (name,))
            .fetchone()
        )
        return Folder(*row) if row else None

    def list_folders(self) -> list[Folder]:
        """All folders."""
        rows = (
            self._db.get()
            .execute("SELECT name, description, created_ms FROM folders ORDER BY name")
            .fetchall()
        )
        return [Folder(*r) for r in rows]

    def add_service(self, service: Service) -> None:
        """Store a service."""
        try:
            with self._db.transaction() as conn:
                conn.execute(
                    f"INSERT INTO services ({_SERVICE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        service.folder,
                        service.name,
                        service.type,
                        orjson.dumps(service.definition),
                        service.configured_state,
                        service.created_ms,
                    ),
                )
        except sqlite3.IntegrityError:
            raise Conflict(
                f"Service '{service.name}.{service.type}' already exists in folder "
                f"'{service.folder or '/'}'."
            ) from None

    def get_service(self, folder: str, name: str, type_: str) -> Service | None:
        """A service by folder, name and type."""
        row = (
            self._db.get()
            .execute(
                f"SELECT {_SERVICE_COLUMNS} FROM services WHERE folder=? AND name=? AND type=?",
                (folder, name, type_),
            )
            .fetchone()
        )
        return _service(row) if row else None

    def list_services(self, folder: str | None = None) -> list[Service]:
        """Services of a folder, or all."""
        conn = self._db.get()
        if folder is None:
            rows = conn.execute(
                f"SELECT {_SERVICE_COLUMNS} FROM services ORDER BY folder, name, type"
            ).fetchall()
        else:
            rows = conn.execute(
                f"SELECT {_SERVICE_COLUMNS} FROM services WHERE folder=? ORDER BY name, type",
                (folder,),
            ).fetchall()
        return [_service(r) for r in rows]

    def add_upload(self, item: UploadItem) -> None:
        """Record an uploaded item."""
        with self._db.transaction() as conn:
            conn.execute(
                f"INSERT INTO uploads ({_UPLOAD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    item.item_id,
                    item.item_name,
                    item.path,
                    item.size,
                    item.created_ms,
                    item.description,
                ),
            )

    def get_upload(self, item_id: str) -> UploadItem | None:
        """An uploaded item."""
        row = (
            self._db.get()
            .execute(f"SELECT {_UPLOAD_COLUMNS} FROM uploads WHERE item_id=?", (item_id,))
            .fetchone()
        )
        return UploadItem(*row) if row else None

    def list_uploads(self) -> list[UploadItem]:
        """All uploaded items."""
        rows = (
            self._db.get()
            .execute(f"SELECT {_UPLOAD_COLUMNS} FROM uploads ORDER BY created_ms, item_id")
            .fetchall()
        )
        return [UploadItem(*r) for r in rows]

    def delete_upload(self, item_id: str) -> bool:
        """Forget an uploaded item."""
        with self._db.transaction() as conn:
            return conn.execute("DELETE FROM uploads WHERE item_id=?", (item_id,)).rowcount > 0
