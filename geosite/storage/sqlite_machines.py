"""Machines of the site in SQLite; mixed into ``SqliteSiteStore`` (same database file)."""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from geosite.core.models import Machine
from geosite.errors import Conflict
from geosite.storage._db import Connections


def _machine(row: tuple[Any, ...]) -> Machine:
    return Machine(
        name=row[0],
        admin_url=row[1],
        registered_ms=row[2],
        last_seen_ms=row[3],
        platform=row[4],
        configured_state=row[5],
        properties=orjson.loads(row[6]),
    )


class SqliteMachines:
    """The ``machines`` table."""

    _db: Connections

    def add_machine(self, machine: Machine) -> None:
        """Register a machine."""
        try:
            with self._db.transaction() as conn:
                conn.execute(
                    "INSERT INTO machines (name, admin_url, registered_ms, last_seen_ms, platform,"
                    " configured_state, properties) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        machine.name,
                        machine.admin_url,
                        machine.registered_ms,
                        machine.last_seen_ms,
                        machine.platform,
                        machine.configured_state,
                        orjson.dumps(machine.properties),
                    ),
                )
        except sqlite3.IntegrityError:
            raise Conflict(f"Machine '{machine.name}' is already registered.") from None

    _MACHINE_COLUMNS = (
        "name, admin_url, registered_ms, last_seen_ms, platform, configured_state, properties"
    )

    def get_machine(self, name: str) -> Machine | None:
        """A machine by name."""
        row = (
            self._db.get()
            .execute(f"SELECT {self._MACHINE_COLUMNS} FROM machines WHERE name=?", (name,))
            .fetchone()
        )
        return _machine(row) if row else None

    def list_machines(self) -> list[Machine]:
        """All machines."""
        rows = (
            self._db.get()
            .execute(f"SELECT {self._MACHINE_COLUMNS} FROM machines ORDER BY name")
            .fetchall()
        )
        return [_machine(r) for r in rows]

    def set_machine_state(self, name: str, state: str) -> bool:
        """``start``/``stop`` of a machine."""
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE machines SET configured_state=? WHERE name=?", (state, name)
            )
            return cursor.rowcount > 0

    def touch_machine(self, name: str, now_ms: int) -> None:
        """Heartbeat."""
        with self._db.transaction() as conn:
            conn.execute("UPDATE machines SET last_seen_ms=? WHERE name=?", (now_ms, name))

    def update_machine(self, machine: Machine) -> bool:
        """Store a machine's admin URL, platform and properties (``edit``)."""
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE machines SET admin_url=?, platform=?, properties=? WHERE name=?",
                (
                    machine.admin_url,
                    machine.platform,
                    orjson.dumps(machine.properties),
                    machine.name,
                ),
            )
            return cursor.rowcount > 0

    def rename_machine(self, name: str, new_name: str) -> bool:
        """Give a machine another name; Conflict when the new name is taken."""
        try:
            with self._db.transaction() as conn:
                cursor = conn.execute("UPDATE machines SET name=? WHERE name=?", (new_name, name))
                return cursor.rowcount > 0
        except sqlite3.IntegrityError:
            raise Conflict(f"Machine '{new_name}' is already registered.") from None

    def remove_machine(self, name: str) -> bool:
        """Unregister a machine."""
        with self._db.transaction() as conn:
            return conn.execute("DELETE FROM machines WHERE name=?", (name,)).rowcount > 0
