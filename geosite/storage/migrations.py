"""Versioned schema migrations: how a store's layout moves from one version to the next.

Every store keeps the version of its layout in the store itself (SQLite: ``PRAGMA
user_version``; 0 is an empty file). A ``Schema`` is the ordered list of a store's
migrations: migration N takes the layout from version N-1 to N and is a small function of a
connection, frozen once released (a later change is a new migration, never an edit).
Migration 1 is the oldest layout still supported.

``upgrade`` runs on every start (``initialize_schema``): it applies the missing migrations,
each in its own write transaction together with its version bump, so that a crash leaves the
store at a version it really has, and two processes starting at once apply each migration
once (the second waits for the write lock, then finds the version already raised). A store
at the latest version is left as it is; a store newer than this geosite is refused
(``StoreTooNew``) before anything is written.

Stores made before versions existed hold ``user_version`` 0 and tables: ``Schema.adopt``
tells which version their layout already is, and the upgrade goes on from there.

A PostgreSQL backend follows the same shape with its own runner: the version in a one-row
table, migrations of a psycopg connection, each in a transaction under an advisory lock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from geosite.storage._db import Connections
from geosite.storage.base import StoreTooNew

C = TypeVar("C")


@dataclass(frozen=True)
class Migration(Generic[C]):
    """Version ``version`` of a layout, made from version ``version - 1`` by ``apply``."""

    version: int
    summary: str
    apply: Callable[[C], None]


@dataclass(frozen=True)
class Schema(Generic[C]):
    """A store's migrations, in order (versions 1, 2, ... without gaps)."""

    store: str
    migrations: tuple[Migration[C], ...]
    #: The version that the layout of a store made before versions (version 0, not empty)
    #: already is; migrations from the next one are applied.
    adopt: Callable[[C], int]

    def __post_init__(self) -> None:
        versions = [m.version for m in self.migrations]
        if versions != list(range(1, len(versions) + 1)):
            raise ValueError(f"{self.store}: migrations must be numbered 1..n, got {versions}")

    @property
    def latest(self) -> int:
        """The version this geosite writes."""
        return len(self.migrations)


def run(conn: sqlite3.Connection, *statements: str) -> None:
    """Execute statements one by one (``executescript`` would commit the transaction)."""
    for statement in statements:
        conn.execute(statement)


def tables(conn: sqlite3.Connection) -> set[str]:
    """The names of the tables in the database."""
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {str(row[0]) for row in rows}


def columns(conn: sqlite3.Connection, table: str) -> set[str]:
    """The names of a table's columns (none when the table is missing)."""
    return {str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})")}


def stored_version(conn: sqlite3.Connection) -> int:
    """The version recorded in an SQLite store (0: empty, or made before versions)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _refuse_newer(schema: Schema[sqlite3.Connection], db: Connections, found: int) -> None:
    if found > schema.latest:
        raise StoreTooNew(
            f"The {schema.store} {db.path} has schema version {found}, but this geosite "
            f"knows versions up to {schema.latest}: it was upgraded by a newer geosite.",
            details=[
                "Run the geosite that upgraded it, or restore the backup taken before the "
                "upgrade (see docs/upgrading.md)."
            ],
        )


def upgrade(db: Connections, schema: Schema[sqlite3.Connection]) -> list[int]:
    """Bring an SQLite store to ``schema.latest``; the versions applied, in order."""
    conn = db.get()
    _refuse_newer(schema, db, stored_version(conn))
    if stored_version(conn) == schema.latest:
        return []  # the usual start: one read, no write lock
    applied: list[int] = []
    with db.transaction() as tx:
        found = stored_version(tx)
        if found == 0 and tables(tx):
            tx.execute(f"PRAGMA user_version = {int(schema.adopt(tx))}")
    for migration in schema.migrations:
        with db.transaction() as tx:
            found = stored_version(tx)
            _refuse_newer(schema, db, found)  # upgraded meanwhile by a newer process
            if found >= migration.version:
                continue
            migration.apply(tx)
            tx.execute(f"PRAGMA user_version = {migration.version}")
            applied.append(migration.version)
    return applied
