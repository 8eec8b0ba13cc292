"""PostgreSQL tables of the site store for machines, server directories and failed logins."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import psycopg

from geosite.core.models import Machine, ServerDirectory
from geosite.errors import Conflict
from geosite.storage._pg import PgDatabase
from geosite.storage.postgresql_catalog import dumps

_MACHINE_COLUMNS = (
    "name, admin_url, registered_ms, last_seen_ms, platform, configured_state, properties"
)
_DIRECTORY_COLUMNS = "name, physical_path, directory_type, cleanup_mode, max_file_age, description"


def _machine(row: Sequence[Any]) -> Machine:
    return Machine(
        name=row[0],
        admin_url=row[1],
        registered_ms=int(row[2]),
        last_seen_ms=int(row[3]),
        platform=row[4],
        configured_state=row[5],
        properties=orjson.loads(row[6]),
    )


def _directory(row: Sequence[Any]) -> ServerDirectory:
    return ServerDirectory(row[0], row[1], row[2], row[3], int(row[4]), row[5])


class PgMachines:
    """Machines, directories and failed logins; mixed into ``PostgresSiteStore``."""

    _db: PgDatabase

    # -- machines and directories ---------------------------------------------------------------
    def add_machine(self, machine: Machine) -> None:
        """Register a machine."""
        try:
            with self._db.transaction() as conn:
                conn.execute(
                    f"INSERT INTO machines ({_MACHINE_COLUMNS}) "  # noqa: S608
                    "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    (
                        machine.name,
                        machine.admin_url,
                        machine.registered_ms,
                        machine.last_seen_ms,
                        machine.platform,
                        machine.configured_state,
                        dumps(machine.properties),
                    ),
                )
        except psycopg.errors.UniqueViolation:
            raise Conflict(f"Machine '{machine.name}' is already registered.") from None

    def get_machine(self, name: str) -> Machine | None:
        """A machine by name."""
        with self._db.connection() as conn:
            row = conn.execute(
                f"SELECT {_MACHINE_COLUMNS} FROM machines "  # noqa: S608
                "WHERE nocase(name) = nocase(%s)",
                (name,),
            ).fetchone()
        return _machine(row) if row else None

    def list_machines(self) -> list[Machine]:
        """All machines."""
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_MACHINE_COLUMNS} FROM machines ORDER BY nocase(name)"  # noqa: S608
            ).fetchall()
        return [_machine(r) for r in rows]

    def set_machine_state(self, name: str, state: str) -> bool:
        """``start``/``stop`` of a machine (announced: every worker reads it again)."""
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE machines SET configured_state = %s WHERE nocase(name) = nocase(%s)",
                (state, name),
            )
            return cursor.rowcount > 0

    def update_machine(self, machine: Machine) -> bool:
        """Store a machine's admin URL, platform and properties (``edit``)."""
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE machines SET admin_url = %s, platform = %s, properties = %s "
                "WHERE nocase(name) = nocase(%s)",
                (machine.admin_url, machine.platform, dumps(machine.properties), machine.name),
            )
            return cursor.rowcount > 0

    def rename_machine(self, name: str, new_name: str) -> bool:
        """Give a machine another name; Conflict when the new name is taken."""
        try:
            with self._db.transaction() as conn:
                cursor = conn.execute(
                    "UPDATE machines SET name = %s WHERE nocase(name) = nocase(%s)",
                    (new_name, name),
                )
                return cursor.rowcount > 0
        except psycopg.errors.UniqueViolation:
            raise Conflict(f"Machine '{new_name}' is already registered.") from None

    def remove_machine(self, name: str) -> bool:
        """Unregister a machine."""
        with self._db.transaction() as conn:
            cursor = conn.execute("DELETE FROM machines WHERE nocase(name) = nocase(%s)", (name,))
            return cursor.rowcount > 0

    def touch_machine(self, name: str, now_ms: int) -> None:
        """Heartbeat (announced to no one: nothing cached depends on it)."""
        with self._db.connection() as conn:
            conn.execute(
                "UPDATE machines SET last_seen_ms = %s WHERE nocase(name) = nocase(%s)",
                (now_ms, name),
            )

    def add_directory(self, directory: ServerDirectory) -> None:
        """Register a server directory."""
        try:
            with self._db.transaction() as conn:
                conn.execute(
                    f"INSERT INTO directories ({_DIRECTORY_COLUMNS}) "  # noqa: S608
                    "VALUES (%s, %s, %s, %s, %s, %s)",
                    (
                        directory.name,
                        directory.physical_path,
                        directory.directory_type,
                        directory.cleanup_mode,
                        directory.max_file_age,
                        directory.description,
                    ),
                )
        except psycopg.errors.UniqueViolation:
            raise Conflict(
                f"Failed to register the server directory '{directory.name}'. A server directory "
                f"with the name '{directory.name}' is already registered with the server."
            ) from None

    def list_directories(self) -> list[ServerDirectory]:
        """All server directories."""
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_DIRECTORY_COLUMNS} FROM directories "  # noqa: S608
                "ORDER BY nocase(name)"
            ).fetchall()
        return [_directory(r) for r in rows]

    def update_directory(self, directory: ServerDirectory) -> bool:
        """Change a directory's path, type, cleanup and description."""
        with self._db.transaction() as conn:
            return (
                conn.execute(
                    "UPDATE directories SET physical_path = %s, directory_type = %s, "
                    "cleanup_mode = %s, max_file_age = %s, description = %s "
                    "WHERE nocase(name) = nocase(%s)",
                    (
                        directory.physical_path,
                        directory.directory_type,
                        directory.cleanup_mode,
                        directory.max_file_age,
                        directory.description,
                        directory.name,
                    ),
                ).rowcount
                > 0
            )

    def remove_directory(self, name: str) -> bool:
        """Unregister a directory."""
        with self._db.transaction() as conn:
            return (
                conn.execute(
                    "DELETE FROM directories WHERE nocase(name) = nocase(%s)", (name,)
                ).rowcount
                > 0
            )

    # -- failed logins (not announced: each read goes to the store) ------------------------------
    def record_login_failure(
        self, keys: Sequence[str], now_ms: int, prune_before_ms: int | None = None
    ) -> None:
        """Record a failed login (and forget the keys' old failures)."""
        with self._db.connection() as conn, conn.transaction():
            for key in keys:
                if prune_before_ms is not None:
                    conn.execute(
                        "DELETE FROM login_failures WHERE key = %s AND at_ms < %s",
                        (key, prune_before_ms),
                    )
                conn.execute(
                    "INSERT INTO login_failures (key, at_ms) VALUES (%s, %s)", (key, now_ms)
                )

    def login_failures(self, key: str, since_ms: int) -> list[int]:
        """Recent failures of a key."""
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT at_ms FROM login_failures WHERE key = %s AND at_ms >= %s ORDER BY at_ms",
                (key, since_ms),
            ).fetchall()
        return [int(str(r[0])) for r in rows]

    def clear_login_failures(self, key: str, before_ms: int | None = None) -> None:
        """Forget failures."""
        with self._db.connection() as conn:
            if before_ms is None:
                conn.execute("DELETE FROM login_failures WHERE key = %s", (key,))
            else:
                conn.execute(
                    "DELETE FROM login_failures WHERE key = %s AND at_ms < %s", (key, before_ms)
                )
