"""SQLite tables of the site store for folders, services and uploaded items."""

from __future__ import annotations

import dataclasses
import sqlite3
from typing import Any

import orjson

from geosite.core.models import (
    DataItem,
    Folder,
    Permission,
    Service,
    UploadItem,
    service_resource,
)
from geosite.errors import Conflict
from geosite.storage._db import Connections

_SERVICE_COLUMNS = "folder, name, type, definition, configured_state, created_ms, owner"
_UPLOAD_COLUMNS = "item_id, item_name, path, size, created_ms, description, owner"


_ITEM_COLUMNS = "path, type, info, client_path, created_ms"
#: The permission key of the root folder.
_ROOT = ""


def _like_prefix(text: str) -> str:
    """A LIKE pattern (escape character \\) for names starting with ``text``."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _copy_permissions(conn: sqlite3.Connection, parent: str, child: str) -> None:
    """Give ``child`` a copy of ``parent``'s permissions (ArcGIS's inheritance on creation)."""
    conn.execute(
        "INSERT OR REPLACE INTO permissions (resource, principal, is_allowed) "
        "SELECT ?, principal, is_allowed FROM permissions WHERE resource=?",
        (child, parent),
    )


def _resource_exists(conn: sqlite3.Connection, resource: str) -> bool:
    """Whether the root, the folder or the service a permission key names exists."""
    if resource == _ROOT:
        return True
    bound: tuple[str, ...]
    if "/" not in resource:
        sql, bound = "SELECT 1 FROM folders WHERE name=?", (resource,)
    else:
        folder, _, rest = resource.partition("/")
        name, dot, type_ = rest.rpartition(".")
        if not dot:
            return False
        sql = "SELECT 1 FROM services WHERE folder=? AND name=? AND type=?"
        bound = (folder, name, type_)
    return conn.execute(sql, bound).fetchone() is not None


def _data_item(row: tuple[Any, ...]) -> DataItem:
    return DataItem(row[0], row[1], orjson.loads(row[2]), row[3], row[4])


def _service(row: tuple[Any, ...]) -> Service:
    return Service(row[0], row[1], row[2], orjson.loads(row[3]), row[4], row[5], row[6])


def _service_taken(service: Service) -> Conflict:
    return Conflict(
        f"Service '{service.name}.{service.type}' already exists in folder "
        f"'{service.folder or '/'}'."
    )


class SqliteCatalog:
    """Folders, services and uploads; mixed into ``SqliteSiteStore`` (same database file)."""

    _db: Connections

    def add_folder(self, folder: Folder, *, inherit: bool = False) -> None:
        """Create a folder (with a copy of the root's permissions when ``inherit``)."""
        try:
            with self._db.transaction() as conn:
                conn.execute(
                    "INSERT INTO folders (name, description, created_ms) VALUES (?, ?, ?)",
                    (folder.name, folder.description, folder.created_ms),
                )
                if inherit:
                    _copy_permissions(conn, _ROOT, folder.name)
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
                self._insert_service(conn, service)
        except sqlite3.IntegrityError:
            raise _service_taken(service) from None

    @staticmethod
    def _insert_service(conn: sqlite3.Connection, service: Service) -> None:
        conn.execute(
            f"INSERT INTO services ({_SERVICE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                service.folder,
                service.name,
                service.type,
                orjson.dumps(service.definition),
                service.configured_state,
                service.created_ms,
                service.owner,
            ),
        )

    def publish_service(self, service: Service) -> Service:
        """Store a new service, its folder when missing, and their inherited permissions."""
        try:
            with self._db.transaction() as conn:
                folder = service.folder
                if folder:
                    sql = "SELECT name FROM folders WHERE name=?"
                    row = conn.execute(sql, (folder,)).fetchone()
                    if row is None:
                        conn.execute(
                            "INSERT INTO folders (name, description, created_ms) VALUES (?, '', ?)",
                            (folder, service.created_ms),
                        )
                        _copy_permissions(conn, _ROOT, folder)
                    else:
                        folder = str(row[0])
                stored = dataclasses.replace(service, folder=folder)
                self._insert_service(conn, stored)
                _copy_permissions(conn, folder or _ROOT, stored.resource)
        except sqlite3.IntegrityError:
            raise _service_taken(service) from None
        return stored

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

    def update_folder(self, name: str, description: str) -> bool:
        """Change a folder's description."""
        with self._db.transaction() as conn:
            sql = "UPDATE folders SET description=? WHERE name=?"
            return conn.execute(sql, (description, name)).rowcount > 0

    def delete_folder(self, name: str) -> list[Service] | None:
        """Delete a folder, its services and the permissions of all of them."""
        with self._db.transaction() as conn:
            row = conn.execute("SELECT name FROM folders WHERE name=?", (name,)).fetchone()
            if row is None:
                return None
            stored = str(row[0])
            rows = conn.execute(
                f"DELETE FROM services WHERE folder=? RETURNING {_SERVICE_COLUMNS}", (stored,)
            ).fetchall()
            conn.execute(
                "DELETE FROM permissions WHERE resource=? OR resource LIKE ? ESCAPE '\\'",
                (stored, _like_prefix(stored + "/")),
            )
            conn.execute("DELETE FROM folders WHERE name=?", (stored,))
        return sorted((_service(r) for r in rows), key=lambda s: (s.name.lower(), s.type))

    def update_service(
        self,
        folder: str,
        name: str,
        type_: str,
        *,
        definition: dict[str, Any] | None = None,
        configured_state: str | None = None,
        expected: dict[str, Any] | None = None,
    ) -> Service | None:
        """Replace definition and/or state."""
        key = (folder, name, type_)
        with self._db.transaction() as conn:
            if definition is not None:
                sql = "UPDATE services SET definition=? WHERE folder=? AND name=? AND type=?"
                bound: list[Any] = [orjson.dumps(definition), *key]
                if expected is not None:
                    sql += " AND definition=?"
                    bound.append(orjson.dumps(expected))
                if conn.execute(sql, bound).rowcount == 0:
                    return None
            if configured_state is not None:
                conn.execute(
                    "UPDATE services SET configured_state=? WHERE folder=? AND name=? AND type=?",
                    (configured_state, *key),
                )
            row = conn.execute(
                f"SELECT {_SERVICE_COLUMNS} FROM services WHERE folder=? AND name=? AND type=?",
                key,
            ).fetchone()
        return _service(row) if row else None

    def rename_service(
        self,
        folder: str,
        name: str,
        type_: str,
        new_name: str,
        definition: dict[str, Any],
        expected: dict[str, Any] | None = None,
    ) -> Service | None:
        """Rename a service, moving its permissions along."""
        sql = "UPDATE services SET name=?, definition=? WHERE folder=? AND name=? AND type=?"
        bound: list[Any] = [new_name, orjson.dumps(definition), folder, name, type_]
        if expected is not None:
            sql += " AND definition=?"
            bound.append(orjson.dumps(expected))
        try:
            with self._db.transaction() as conn:
                changed = conn.execute(sql, bound).rowcount
                if not changed:
                    return None
                conn.execute(
                    "UPDATE permissions SET resource=? WHERE resource=?",
                    (
                        service_resource(folder, new_name, type_),
                        service_resource(folder, name, type_),
                    ),
                )
                row = conn.execute(
                    f"SELECT {_SERVICE_COLUMNS} FROM services WHERE folder=? AND name=? AND type=?",
                    (folder, new_name, type_),
                ).fetchone()
        except sqlite3.IntegrityError:
            raise Conflict(
                f"Service '{new_name}.{type_}' already exists in folder '{folder or '/'}'."
            ) from None
        return _service(row)

    def delete_service(self, folder: str, name: str, type_: str) -> Service | None:
        """Forget a service and its permissions."""
        with self._db.transaction() as conn:
            row = conn.execute(
                f"DELETE FROM services WHERE folder=? AND name=? AND type=? "
                f"RETURNING {_SERVICE_COLUMNS}",
                (folder, name, type_),
            ).fetchone()
            if row is not None:
                conn.execute(
                    "DELETE FROM permissions WHERE resource=?",
                    (service_resource(folder, name, type_),),
                )
        return _service(row) if row else None

    def set_permission(self, resource: str, principal: str, is_allowed: bool) -> None:
        """Allow or deny a principal."""
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO permissions (resource, principal, is_allowed) VALUES (?, ?, ?) "
                "ON CONFLICT (resource, principal) DO UPDATE SET is_allowed=excluded.is_allowed",
                (resource, principal, int(is_allowed)),
            )

    def grant_permission(self, resource: str, principal: str, is_allowed: bool) -> bool:
        """Allow or deny a principal on a resource that exists (checked in the transaction)."""
        with self._db.transaction() as conn:
            if not _resource_exists(conn, resource):
                return False
            conn.execute(
                "INSERT INTO permissions (resource, principal, is_allowed) VALUES (?, ?, ?) "
                "ON CONFLICT (resource, principal) DO UPDATE SET is_allowed=excluded.is_allowed",
                (resource, principal, int(is_allowed)),
            )
        return True

    def prune_permissions(self) -> int:
        """Forget the permissions of folders and services that no longer exist."""
        with self._db.transaction() as conn:
            return conn.execute(
                "DELETE FROM permissions WHERE resource <> '' "
                "AND resource NOT IN (SELECT name FROM folders) "
                "AND resource NOT IN (SELECT folder || '/' || name || '.' || type FROM services)"
            ).rowcount

    def remove_permission(self, resource: str, principal: str) -> bool:
        """Forget a principal's permission."""
        with self._db.transaction() as conn:
            sql = "DELETE FROM permissions WHERE resource=? AND principal=?"
            return conn.execute(sql, (resource, principal)).rowcount > 0

    def list_permissions(self, resource: str | None = None) -> list[Permission]:
        """Permissions of a resource, or all."""
        conn = self._db.get()
        sql = "SELECT resource, principal, is_allowed FROM permissions"
        if resource is None:
            rows = conn.execute(sql + " ORDER BY resource, principal").fetchall()
        else:
            rows = conn.execute(
                sql + " WHERE resource=? ORDER BY principal", (resource,)
            ).fetchall()
        return [Permission(r[0], r[1], bool(r[2])) for r in rows]

    def add_data_item(self, item: DataItem) -> None:
        """Register a data item."""
        try:
            with self._db.transaction() as conn:
                conn.execute(
                    "INSERT INTO data_items (path, type, info, client_path, created_ms) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (
                        item.path,
                        item.type,
                        orjson.dumps(item.info),
                        item.client_path,
                        item.created_ms,
                    ),
                )
        except sqlite3.IntegrityError:
            raise Conflict(f"A data item is already registered at '{item.path}'.") from None

    def get_data_item(self, path: str) -> DataItem | None:
        """A data item by path."""
        row = (
            self._db.get()
            .execute(f"SELECT {_ITEM_COLUMNS} FROM data_items WHERE path=?", (path,))
            .fetchone()
        )
        return _data_item(row) if row else None

    def list_data_items(self) -> list[DataItem]:
        """All data items."""
        rows = self._db.get().execute(f"SELECT {_ITEM_COLUMNS} FROM data_items ORDER BY path")
        return [_data_item(r) for r in rows.fetchall()]

    def delete_data_item(self, path: str) -> bool:
        """Unregister a data item."""
        with self._db.transaction() as conn:
            return conn.execute("DELETE FROM data_items WHERE path=?", (path,)).rowcount > 0

    def add_upload(self, item: UploadItem) -> None:
        """Record an uploaded item."""
        with self._db.transaction() as conn:
            conn.execute(
                f"INSERT INTO uploads ({_UPLOAD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    item.item_id,
                    item.item_name,
                    item.path,
                    item.size,
                    item.created_ms,
                    item.description,
                    item.owner,
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
