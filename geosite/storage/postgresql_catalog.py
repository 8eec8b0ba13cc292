"""PostgreSQL tables of the site store for folders, services, permissions, data items and
uploads.

Publishing and deleting folders race safely across processes: a service is stored while its
folder's row is locked ``FOR SHARE``, and a folder is deleted with its row locked ``FOR
UPDATE``, so a folder never goes while a service is being put into it, and a service never
lands in a folder that went (READ COMMITTED: the statement after a wait sees what the other
transaction committed).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import orjson
import psycopg

from geosite.core.models import (
    DataItem,
    Folder,
    Permission,
    Service,
    UploadItem,
    service_resource,
)
from geosite.errors import Conflict
from geosite.storage._pg import Conn, PgDatabase

_SERVICE_COLUMNS = "folder, name, type, definition, configured_state, created_ms, owner"
_UPLOAD_COLUMNS = "item_id, item_name, path, size, created_ms, description, owner"
_ITEM_COLUMNS = "path, type, info, client_path, created_ms"
_SERVICE_KEY = (
    "nocase(folder) = nocase(%s) AND nocase(name) = nocase(%s) AND nocase(type) = nocase(%s)"
)
#: The permission key of the root folder.
_ROOT = ""
_UPSERT_PERMISSION = (
    "INSERT INTO permissions (resource, principal, is_allowed) VALUES (%s, %s, %s) "
    "ON CONFLICT (nocase(resource), nocase(principal)) DO UPDATE SET is_allowed = "
    "excluded.is_allowed"
)


def dumps(value: Any) -> str:
    """A JSON value as the text the stores keep (orjson's bytes, as SQLite keeps them)."""
    return orjson.dumps(value).decode()


def _like_prefix(text: str) -> str:
    """A LIKE pattern (escape character \\) for names starting with ``text``."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def copy_permissions(conn: Conn, parent: str, child: str) -> None:
    """Give ``child`` a copy of ``parent``'s permissions (ArcGIS's inheritance on creation),
    replacing what ``child`` had for the same principals."""
    conn.execute(
        "INSERT INTO permissions (resource, principal, is_allowed) "
        "SELECT %s, principal, is_allowed FROM permissions WHERE nocase(resource) = nocase(%s) "
        "ON CONFLICT (nocase(resource), nocase(principal)) DO UPDATE SET "
        "resource = excluded.resource, principal = excluded.principal, "
        "is_allowed = excluded.is_allowed",
        (child, parent),
    )


def _lock_resource(conn: Conn, resource: str) -> bool:
    """Whether the root, the folder or the service a permission key names exists; its row is
    locked ``FOR SHARE`` until the transaction ends, so it cannot go meanwhile."""
    if resource == _ROOT:
        return True
    if "/" not in resource:
        query = "SELECT 1 FROM folders WHERE nocase(name) = nocase(%s) FOR SHARE"
        bound: tuple[str, ...] = (resource,)
    else:
        folder, _, rest = resource.partition("/")
        name, dot, type_ = rest.rpartition(".")
        if not dot:
            return False
        query = f"SELECT 1 FROM services WHERE {_SERVICE_KEY} FOR SHARE"  # noqa: S608
        bound = (folder, name, type_)
    return conn.execute(query.encode(), bound).fetchone() is not None


def _data_item(row: Sequence[Any]) -> DataItem:
    return DataItem(row[0], row[1], orjson.loads(row[2]), row[3], int(row[4]))


def _service(row: Sequence[Any]) -> Service:
    return Service(row[0], row[1], row[2], orjson.loads(row[3]), row[4], int(row[5]), row[6])


def _upload(row: Sequence[Any]) -> UploadItem:
    return UploadItem(row[0], row[1], row[2], int(row[3]), int(row[4]), row[5], row[6])


def _service_taken(service: Service) -> Conflict:
    return Conflict(
        f"Service '{service.name}.{service.type}' already exists in folder "
        f"'{service.folder or '/'}'."
    )


def insert_service(conn: Conn, service: Service) -> None:
    """Insert one service row."""
    conn.execute(
        f"INSERT INTO services ({_SERVICE_COLUMNS}) "  # noqa: S608
        "VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (
            service.folder,
            service.name,
            service.type,
            dumps(service.definition),
            service.configured_state,
            service.created_ms,
            service.owner,
        ),
    )


def _stored_folder(conn: Conn, folder: str, created_ms: int) -> str:
    """The folder's name as stored, its row locked ``FOR SHARE``; made (with a copy of the
    root's permissions) when missing. A folder made or deleted by another transaction
    meanwhile is waited for and seen."""
    while True:
        made = conn.execute(
            "INSERT INTO folders (name, description, created_ms) VALUES (%s, '', %s) "
            "ON CONFLICT DO NOTHING RETURNING name",
            (folder, created_ms),
        ).fetchone()
        if made is not None:
            copy_permissions(conn, _ROOT, folder)
            return folder
        row = conn.execute(
            "SELECT name FROM folders WHERE nocase(name) = nocase(%s) FOR SHARE", (folder,)
        ).fetchone()
        if row is not None:
            return str(row[0])


class PgCatalog:
    """Folders, services and uploads; mixed into ``PostgresSiteStore`` (same schema)."""

    _db: PgDatabase

    def add_folder(self, folder: Folder, *, inherit: bool = False) -> None:
        """Create a folder (with a copy of the root's permissions when ``inherit``)."""
        try:
            with self._db.transaction() as conn:
                conn.execute(
                    "INSERT INTO folders (name, description, created_ms) VALUES (%s, %s, %s)",
                    (folder.name, folder.description, folder.created_ms),
                )
                if inherit:
                    copy_permissions(conn, _ROOT, folder.name)
        except psycopg.errors.UniqueViolation:
            raise Conflict(f"Folder '{folder.name}' already exists.") from None

    def get_folder(self, name: str) -> Folder | None:
        """A folder by name."""
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT name, description, created_ms FROM folders WHERE nocase(name) = nocase(%s)",
                (name,),
            ).fetchone()
        return Folder(str(row[0]), str(row[1]), int(str(row[2]))) if row else None

    def list_folders(self) -> list[Folder]:
        """All folders."""
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT name, description, created_ms FROM folders ORDER BY nocase(name)"
            ).fetchall()
        return [Folder(str(r[0]), str(r[1]), int(str(r[2]))) for r in rows]

    def add_service(self, service: Service) -> None:
        """Store a service."""
        try:
            with self._db.transaction() as conn:
                insert_service(conn, service)
        except psycopg.errors.UniqueViolation:
            raise _service_taken(service) from None

    def publish_service(self, service: Service) -> Service:
        """Store a new service, its folder when missing, and their inherited permissions."""
        try:
            with self._db.transaction() as conn:
                folder = service.folder
                if folder:
                    folder = _stored_folder(conn, folder, service.created_ms)
                stored = dataclasses.replace(service, folder=folder)
                insert_service(conn, stored)
                copy_permissions(conn, folder or _ROOT, stored.resource)
        except psycopg.errors.UniqueViolation:
            raise _service_taken(service) from None
        return stored

    def get_service(self, folder: str, name: str, type_: str) -> Service | None:
        """A service by folder, name and type."""
        with self._db.connection() as conn:
            row = conn.execute(
                f"SELECT {_SERVICE_COLUMNS} FROM services WHERE {_SERVICE_KEY}".encode(),  # noqa: S608
                (folder, name, type_),
            ).fetchone()
        return _service(row) if row else None

    def list_services(self, folder: str | None = None) -> list[Service]:
        """Services of a folder, or all."""
        with self._db.connection() as conn:
            if folder is None:
                rows = conn.execute(
                    f"SELECT {_SERVICE_COLUMNS} FROM services "  # noqa: S608
                    "ORDER BY nocase(folder), nocase(name), nocase(type)"
                ).fetchall()
            else:
                rows = conn.execute(
                    f"SELECT {_SERVICE_COLUMNS} FROM services "  # noqa: S608
                    "WHERE nocase(folder) = nocase(%s) ORDER BY nocase(name), nocase(type)",
                    (folder,),
                ).fetchall()
        return [_service(r) for r in rows]

    def update_folder(self, name: str, description: str) -> bool:
        """Change a folder's description."""
        with self._db.transaction() as conn:
            return (
                conn.execute(
                    "UPDATE folders SET description = %s WHERE nocase(name) = nocase(%s)",
                    (description, name),
                ).rowcount
                > 0
            )

    def delete_folder(self, name: str) -> list[Service] | None:
        """Delete a folder (its row locked first), its services and their permissions."""
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT name FROM folders WHERE nocase(name) = nocase(%s) FOR UPDATE", (name,)
            ).fetchone()
            if row is None:
                return None
            stored = str(row[0])
            rows = conn.execute(
                f"DELETE FROM services WHERE nocase(folder) = nocase(%s) "  # noqa: S608
                f"RETURNING {_SERVICE_COLUMNS}",
                (stored,),
            ).fetchall()
            conn.execute(
                "DELETE FROM permissions WHERE nocase(resource) = nocase(%s) "
                "OR nocase(resource) LIKE nocase(%s) ESCAPE '\\'",
                (stored, _like_prefix(stored + "/")),
            )
            conn.execute("DELETE FROM folders WHERE name = %s", (stored,))
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
        """Replace definition and/or state (with ``expected``: only while the definition is
        still that one, compared after any concurrent writer committed)."""
        key = (folder, name, type_)
        with self._db.transaction() as conn:
            if definition is not None:
                query = f"UPDATE services SET definition = %s WHERE {_SERVICE_KEY}"  # noqa: S608
                bound: list[Any] = [dumps(definition), *key]
                if expected is not None:
                    query += " AND definition = %s"
                    bound.append(dumps(expected))
                if conn.execute(query.encode(), bound).rowcount == 0:
                    return None
            if configured_state is not None:
                conn.execute(
                    f"UPDATE services SET configured_state = %s WHERE {_SERVICE_KEY}".encode(),  # noqa: S608
                    (configured_state, *key),
                )
            row = conn.execute(
                f"SELECT {_SERVICE_COLUMNS} FROM services WHERE {_SERVICE_KEY}".encode(),  # noqa: S608
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
        query = f"UPDATE services SET name = %s, definition = %s WHERE {_SERVICE_KEY}"  # noqa: S608
        bound: list[Any] = [new_name, dumps(definition), folder, name, type_]
        if expected is not None:
            query += " AND definition = %s"
            bound.append(dumps(expected))
        query += f" RETURNING {_SERVICE_COLUMNS}"
        try:
            with self._db.transaction() as conn:
                row = conn.execute(query.encode(), bound).fetchone()
                if row is None:
                    return None
                conn.execute(
                    "UPDATE permissions SET resource = %s WHERE nocase(resource) = nocase(%s)",
                    (
                        service_resource(folder, new_name, type_),
                        service_resource(folder, name, type_),
                    ),
                )
        except psycopg.errors.UniqueViolation:
            raise Conflict(
                f"Service '{new_name}.{type_}' already exists in folder '{folder or '/'}'."
            ) from None
        return _service(row)

    def delete_service(self, folder: str, name: str, type_: str) -> Service | None:
        """Forget a service and its permissions."""
        with self._db.transaction() as conn:
            row = conn.execute(
                f"DELETE FROM services WHERE {_SERVICE_KEY} "  # noqa: S608
                f"RETURNING {_SERVICE_COLUMNS}".encode(),
                (folder, name, type_),
            ).fetchone()
            if row is not None:
                conn.execute(
                    "DELETE FROM permissions WHERE nocase(resource) = nocase(%s)",
                    (service_resource(folder, name, type_),),
                )
        return _service(row) if row else None

    def set_permission(self, resource: str, principal: str, is_allowed: bool) -> None:
        """Allow or deny a principal."""
        with self._db.transaction() as conn:
            conn.execute(_UPSERT_PERMISSION, (resource, principal, is_allowed))

    def grant_permission(self, resource: str, principal: str, is_allowed: bool) -> bool:
        """Allow or deny a principal on a resource that exists (locked in the transaction)."""
        with self._db.transaction() as conn:
            if not _lock_resource(conn, resource):
                return False
            conn.execute(_UPSERT_PERMISSION, (resource, principal, is_allowed))
        return True

    def prune_permissions(self) -> int:
        """Forget the permissions of folders and services that no longer exist."""
        with self._db.transaction() as conn:
            return conn.execute(
                "DELETE FROM permissions p WHERE p.resource <> '' "
                "AND NOT EXISTS (SELECT 1 FROM folders f "
                "WHERE nocase(f.name) = nocase(p.resource)) "
                "AND NOT EXISTS (SELECT 1 FROM services s WHERE "
                "nocase(s.folder || '/' || s.name || '.' || s.type) = nocase(p.resource))"
            ).rowcount

    def remove_permission(self, resource: str, principal: str) -> bool:
        """Forget a principal's permission."""
        with self._db.transaction() as conn:
            return (
                conn.execute(
                    "DELETE FROM permissions WHERE nocase(resource) = nocase(%s) "
                    "AND nocase(principal) = nocase(%s)",
                    (resource, principal),
                ).rowcount
                > 0
            )

    def list_permissions(self, resource: str | None = None) -> list[Permission]:
        """Permissions of a resource, or all."""
        columns = "SELECT resource, principal, is_allowed FROM permissions"
        with self._db.connection() as conn:
            if resource is None:
                rows = conn.execute(
                    f"{columns} ORDER BY nocase(resource), nocase(principal)".encode()
                ).fetchall()
            else:
                rows = conn.execute(
                    f"{columns} WHERE nocase(resource) = nocase(%s) "
                    "ORDER BY nocase(principal)".encode(),
                    (resource,),
                ).fetchall()
        return [Permission(str(r[0]), str(r[1]), bool(r[2])) for r in rows]

    def add_data_item(self, item: DataItem) -> None:
        """Register a data item."""
        try:
            with self._db.transaction() as conn:
                conn.execute(
                    f"INSERT INTO data_items ({_ITEM_COLUMNS}) "  # noqa: S608
                    "VALUES (%s, %s, %s, %s, %s)",
                    (item.path, item.type, dumps(item.info), item.client_path, item.created_ms),
                )
        except psycopg.errors.UniqueViolation:
            raise Conflict(f"A data item is already registered at '{item.path}'.") from None

    def get_data_item(self, path: str) -> DataItem | None:
        """A data item by path."""
        with self._db.connection() as conn:
            row = conn.execute(
                f"SELECT {_ITEM_COLUMNS} FROM data_items "  # noqa: S608
                "WHERE nocase(path) = nocase(%s)",
                (path,),
            ).fetchone()
        return _data_item(row) if row else None

    def list_data_items(self) -> list[DataItem]:
        """All data items."""
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_ITEM_COLUMNS} FROM data_items ORDER BY nocase(path)"  # noqa: S608
            ).fetchall()
        return [_data_item(r) for r in rows]

    def delete_data_item(self, path: str) -> bool:
        """Unregister a data item."""
        with self._db.transaction() as conn:
            return (
                conn.execute(
                    "DELETE FROM data_items WHERE nocase(path) = nocase(%s)", (path,)
                ).rowcount
                > 0
            )

    def add_upload(self, item: UploadItem) -> None:
        """Record an uploaded item."""
        with self._db.transaction() as conn:
            conn.execute(
                f"INSERT INTO uploads ({_UPLOAD_COLUMNS}) "  # noqa: S608
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
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
        with self._db.connection() as conn:
            row = conn.execute(
                f"SELECT {_UPLOAD_COLUMNS} FROM uploads WHERE item_id = %s",  # noqa: S608
                (item_id,),
            ).fetchone()
        return _upload(row) if row else None

    def list_uploads(self) -> list[UploadItem]:
        """All uploaded items."""
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_UPLOAD_COLUMNS} FROM uploads "  # noqa: S608
                "ORDER BY created_ms, item_id"
            ).fetchall()
        return [_upload(r) for r in rows]

    def delete_upload(self, item_id: str) -> bool:
        """Forget an uploaded item."""
        with self._db.transaction() as conn:
            return conn.execute("DELETE FROM uploads WHERE item_id = %s", (item_id,)).rowcount > 0
