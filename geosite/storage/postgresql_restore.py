"""Putting a whole site configuration back into a PostgreSQL site store in one transaction
(``importSite``), as ``sqlite_restore`` does for SQLite."""

from __future__ import annotations

import psycopg

from geosite.core.models import SiteConfiguration
from geosite.errors import Conflict
from geosite.storage._pg import Conn, PgDatabase, fold
from geosite.storage.postgresql_catalog import dumps, insert_service

#: Emptied whole (memberships go with the roles and users they name).
_CLEARED = ("roles", "permissions", "services", "folders", "data_items")


def replace_configuration(db: PgDatabase, config: SiteConfiguration) -> None:
    """Replace users (except primary site administrators), roles, folders, services,
    permissions, data items and the given settings; all of it, or nothing on an error."""
    try:
        db.write(lambda conn: _replace(conn, config))
    except psycopg.errors.UniqueViolation as exc:
        raise Conflict(
            "The configuration holds two of the same item.", private=[str(exc)]
        ) from None


def _replace(conn: Conn, config: SiteConfiguration) -> None:
    # Every other change to these tables waits until the restore is whole.
    conn.execute(
        "LOCK TABLE users, roles, role_members, permissions, services, folders, data_items, "
        "settings IN SHARE ROW EXCLUSIVE MODE"
    )
    for table in _CLEARED:
        conn.execute(f"DELETE FROM {table}".encode())  # noqa: S608 - names above
    conn.execute("DELETE FROM users WHERE NOT is_psa")
    kept = {
        fold(str(row[0])): str(row[0])
        for row in conn.execute("SELECT username FROM users").fetchall()
    }
    users = {fold(u.username) for u in config.users if not u.is_psa} - kept.keys()
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO users (username, password_hash, fullname, description, email, "
            "token_version, disabled, is_psa, user_id) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, false, %s)",
            [
                (
                    u.username,
                    u.password_hash,
                    u.fullname,
                    u.description,
                    u.email,
                    u.token_version,
                    u.disabled,
                    u.user_id,
                )
                for u in config.users
                if fold(u.username) in users
            ],
        )
        cur.executemany(
            "INSERT INTO roles (rolename, description, privilege) VALUES (%s, %s, %s)",
            [(r.rolename, r.description, r.privilege.name) for r in config.roles],
        )
        roles = {fold(r.rolename): r.rolename for r in config.roles}
        spelt = {fold(u.username): u.username for u in config.users if fold(u.username) in users}
        spelt.update(kept)
        cur.executemany(
            "INSERT INTO role_members (rolename, username) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            [
                (roles[fold(role)], spelt[fold(user)])
                for role, user in config.members
                if fold(role) in roles and fold(user) in spelt
            ],
        )
        cur.executemany(
            "INSERT INTO folders (name, description, created_ms) VALUES (%s, %s, %s)",
            [(f.name, f.description, f.created_ms) for f in config.folders],
        )
        for service in config.services:
            insert_service(conn, service)
        cur.executemany(
            "INSERT INTO permissions (resource, principal, is_allowed) VALUES (%s, %s, %s) "
            "ON CONFLICT (nocase(resource), nocase(principal)) "
            "DO UPDATE SET is_allowed = excluded.is_allowed",
            [(p.resource, p.principal, p.is_allowed) for p in config.permissions],
        )
        cur.executemany(
            "INSERT INTO data_items (path, type, info, client_path, created_ms) "
            "VALUES (%s, %s, %s, %s, %s)",
            [
                (d.path, d.type, dumps(d.info), d.client_path, d.created_ms)
                for d in config.data_items
            ],
        )
        cur.executemany(
            "INSERT INTO settings (key, value) VALUES (%s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [(key, dumps(value)) for key, value in config.settings.items()],
        )
