"""The SQLite stores' layouts, as migrations (see ``geosite.storage.migrations``).

A released migration is never edited: it must make the same layout on every store it meets.
Change a layout by appending a migration (and its test in tests/storage/test_migrations.py).
Migration 1 of each store is the oldest layout still supported (geosite 0.1.0 as of commit
66520c0); its ``IF NOT EXISTS`` lets it complete the partial layouts of stores made before
versions existed, which lacked some of its tables.
"""

from __future__ import annotations

import secrets
import sqlite3

from geosite.storage.migrations import Migration, Schema, columns, run, tables


# -- the site store (config-store/site.db) ---------------------------------------------------
def _site_v1(conn: sqlite3.Connection) -> None:
    run(
        conn,
        "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value BLOB NOT NULL)",
        """CREATE TABLE IF NOT EXISTS users (
            username TEXT PRIMARY KEY COLLATE NOCASE,
            password_hash TEXT NOT NULL,
            fullname TEXT NOT NULL DEFAULT '',
            description TEXT NOT NULL DEFAULT '',
            email TEXT NOT NULL DEFAULT '',
            token_version INTEGER NOT NULL DEFAULT 1,
            disabled INTEGER NOT NULL DEFAULT 0,
            is_psa INTEGER NOT NULL DEFAULT 0
        )""",
        """CREATE TABLE IF NOT EXISTS roles (
            rolename TEXT PRIMARY KEY COLLATE NOCASE,
            description TEXT NOT NULL DEFAULT '',
            privilege TEXT NOT NULL DEFAULT 'ACCESS'
        )""",
        """CREATE TABLE IF NOT EXISTS role_members (
            rolename TEXT NOT NULL COLLATE NOCASE REFERENCES roles(rolename) ON DELETE CASCADE,
            username TEXT NOT NULL COLLATE NOCASE REFERENCES users(username) ON DELETE CASCADE,
            PRIMARY KEY (rolename, username)
        )""",
        """CREATE TABLE IF NOT EXISTS token_keys (
            version INTEGER PRIMARY KEY AUTOINCREMENT,
            secret TEXT NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS machines (
            name TEXT PRIMARY KEY COLLATE NOCASE,
            admin_url TEXT NOT NULL,
            registered_ms INTEGER NOT NULL,
            last_seen_ms INTEGER NOT NULL,
            platform TEXT NOT NULL DEFAULT '',
            configured_state TEXT NOT NULL DEFAULT 'STARTED',
            properties BLOB NOT NULL DEFAULT '{}'
        )""",
        """CREATE TABLE IF NOT EXISTS directories (
            name TEXT PRIMARY KEY COLLATE NOCASE,
            physical_path TEXT NOT NULL,
            directory_type TEXT NOT NULL,
            cleanup_mode TEXT NOT NULL DEFAULT 'NONE',
            max_file_age INTEGER NOT NULL DEFAULT 0,
            description TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE TABLE IF NOT EXISTS login_failures (key TEXT NOT NULL, at_ms INTEGER NOT NULL)",
        "CREATE INDEX IF NOT EXISTS login_failures_key ON login_failures (key, at_ms)",
        """CREATE TABLE IF NOT EXISTS folders (
            name TEXT PRIMARY KEY COLLATE NOCASE,
            description TEXT NOT NULL DEFAULT '',
            created_ms INTEGER NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS services (
            folder TEXT NOT NULL COLLATE NOCASE,
            name TEXT NOT NULL COLLATE NOCASE,
            type TEXT NOT NULL COLLATE NOCASE,
            definition BLOB NOT NULL,
            configured_state TEXT NOT NULL DEFAULT 'STARTED',
            created_ms INTEGER NOT NULL,
            PRIMARY KEY (folder, name, type)
        )""",
        """CREATE TABLE IF NOT EXISTS permissions (
            resource TEXT NOT NULL COLLATE NOCASE,
            principal TEXT NOT NULL COLLATE NOCASE,
            is_allowed INTEGER NOT NULL,
            PRIMARY KEY (resource, principal)
        )""",
        """CREATE TABLE IF NOT EXISTS data_items (
            path TEXT PRIMARY KEY COLLATE NOCASE,
            type TEXT NOT NULL,
            info BLOB NOT NULL,
            client_path TEXT,
            created_ms INTEGER NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS uploads (
            item_id TEXT PRIMARY KEY,
            item_name TEXT NOT NULL,
            path TEXT NOT NULL,
            size INTEGER NOT NULL,
            created_ms INTEGER NOT NULL,
            description TEXT NOT NULL DEFAULT ''
        )""",
    )


def _site_v2(conn: sqlite3.Connection) -> None:
    # Each column only where missing: geosite before versions added them one at a time, so
    # an adopted store may have the first and not the second.
    for table in ("services", "uploads"):
        if "owner" not in columns(conn, table):
            run(conn, f"ALTER TABLE {table} ADD COLUMN owner TEXT NOT NULL DEFAULT ''")


def _site_v3(conn: sqlite3.Connection) -> None:
    """Every user gets a random identifier that tokens name (a removed user's tokens never fit
    a new user of the same name); the users there already each get a fresh one."""
    run(conn, "ALTER TABLE users ADD COLUMN user_id TEXT NOT NULL DEFAULT ''")
    names = [str(row[0]) for row in conn.execute("SELECT username FROM users")]
    conn.executemany(
        "UPDATE users SET user_id=? WHERE username=?",
        [(secrets.token_hex(16), name) for name in names],
    )
    run(conn, "CREATE UNIQUE INDEX users_user_id ON users (user_id)")


def _site_adopt(conn: sqlite3.Connection) -> int:
    """Version 2 when services and uploads both have owners (3 with user identifiers); else 0:
    migration 1 completes the layout (it creates only what is missing) and migration 2 adds the
    missing owners."""
    both = "owner" in columns(conn, "services") and "owner" in columns(conn, "uploads")
    if both and "user_id" in columns(conn, "users"):
        return 3  # today's layout (never written without a version by geosite itself)
    return 2 if both else 0


SITE_SCHEMA = Schema[sqlite3.Connection](
    store="site store",
    migrations=(
        Migration(1, "settings, accounts, machines, directories, folders, services", _site_v1),
        Migration(2, "services and uploads record their owner (PUBLISH privilege)", _site_v2),
        Migration(3, "users have a random identifier, named by their tokens", _site_v3),
    ),
    adopt=_site_adopt,
)


# -- the log store (config-store/logs.db) ----------------------------------------------------
def _usage_table(name: str) -> str:
    return f"""CREATE TABLE IF NOT EXISTS {name} (
        machine TEXT NOT NULL COLLATE NOCASE,
        service TEXT NOT NULL COLLATE NOCASE,
        minute_ms INTEGER NOT NULL,
        requests INTEGER NOT NULL,
        failures INTEGER NOT NULL,
        total_ms REAL NOT NULL,
        max_ms REAL NOT NULL,
        PRIMARY KEY (machine, service, minute_ms)
    )"""


def _logs_v1(conn: sqlite3.Connection) -> None:
    run(
        conn,
        """CREATE TABLE IF NOT EXISTS logs (
            id INTEGER PRIMARY KEY,
            time_ms INTEGER NOT NULL,
            level TEXT NOT NULL,
            code INTEGER NOT NULL,
            source TEXT NOT NULL,
            machine TEXT NOT NULL,
            process INTEGER NOT NULL,
            thread INTEGER NOT NULL,
            user TEXT NOT NULL,
            elapsed_ms REAL,
            request_id TEXT NOT NULL,
            method TEXT NOT NULL,
            message TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS logs_time ON logs (time_ms)",
        _usage_table("service_usage"),
        "CREATE INDEX IF NOT EXISTS service_usage_minute ON service_usage (minute_ms)",
    )


def _logs_v2(conn: sqlite3.Connection) -> None:
    """Usage counts per hour beside the minutes, filled from the minutes kept so far."""
    run(
        conn,
        _usage_table("service_usage_hour"),
        "CREATE INDEX service_usage_hour_time ON service_usage_hour (minute_ms)",
        "INSERT INTO service_usage_hour SELECT machine, service, "
        "minute_ms - minute_ms % 3600000 AS hour, sum(requests), sum(failures), sum(total_ms), "
        "max(max_ms) FROM service_usage GROUP BY machine, service, hour",
    )


def _logs_adopt(conn: sqlite3.Connection) -> int:
    """Version 2 when the hourly counts exist; else migration 1 completes the layout."""
    return 2 if "service_usage_hour" in tables(conn) else 0


LOG_SCHEMA = Schema[sqlite3.Connection](
    store="log store",
    migrations=(
        Migration(1, "log records and per-minute usage counts", _logs_v1),
        Migration(2, "per-hour usage counts, filled from the minutes", _logs_v2),
    ),
    adopt=_logs_adopt,
)
