"""Putting a whole site configuration back in one transaction (``importSite``)."""

from __future__ import annotations

import sqlite3

import orjson

from geosite.core.models import SiteConfiguration
from geosite.errors import Conflict
from geosite.storage._db import Connections

_CLEARED = ("role_members", "roles", "permissions", "services", "folders", "data_items")


def replace_configuration(db: Connections, config: SiteConfiguration) -> None:
    """Replace users (except primary site administrators), roles, folders, services,
    permissions, data items and the given settings; all of it, or nothing on an error."""
    try:
        _replace(db, config)
    except sqlite3.IntegrityError as exc:
        raise Conflict(
            "The configuration holds two of the same item.", private=[str(exc)]
        ) from None


def _replace(db: Connections, config: SiteConfiguration) -> None:
    with db.transaction() as conn:
        for table in _CLEARED:
            conn.execute(f"DELETE FROM {table}")
        conn.execute("DELETE FROM users WHERE is_psa=0")
        kept = {str(row[0]).lower() for row in conn.execute("SELECT username FROM users")}
        users = {u.username.lower() for u in config.users if not u.is_psa} - kept
        conn.executemany(
            "INSERT INTO users (username, password_hash, fullname, description, email, "
            "token_version, disabled, is_psa, user_id) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)",
            [
                (
                    u.username,
                    u.password_hash,
                    u.fullname,
                    u.description,
                    u.email,
                    u.token_version,
                    int(u.disabled),
                    u.user_id,
                )
                for u in config.users
                if u.username.lower() in users
            ],
        )
        conn.executemany(
            "INSERT INTO roles (rolename, description, privilege) VALUES (?, ?, ?)",
            [(r.rolename, r.description, r.privilege.name) for r in config.roles],
        )
        roles = {r.rolename.lower() for r in config.roles}
        members = users | kept
        conn.executemany(
            "INSERT OR IGNORE INTO role_members (rolename, username) VALUES (?, ?)",
            [
                (role, user)
                for role, user in config.members
                if role.lower() in roles and user.lower() in members
            ],
        )
        conn.executemany(
            "INSERT INTO folders (name, description, created_ms) VALUES (?, ?, ?)",
            [(f.name, f.description, f.created_ms) for f in config.folders],
        )
        conn.executemany(
            "INSERT INTO services (folder, name, type, definition, configured_state, "
            "created_ms, owner) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    s.folder,
                    s.name,
                    s.type,
                    orjson.dumps(s.definition),
                    s.configured_state,
                    s.created_ms,
                    s.owner,
                )
                for s in config.services
            ],
        )
        conn.executemany(
            "INSERT INTO permissions (resource, principal, is_allowed) VALUES (?, ?, ?) "
            "ON CONFLICT (resource, principal) DO UPDATE SET is_allowed=excluded.is_allowed",
            [(p.resource, p.principal, int(p.is_allowed)) for p in config.permissions],
        )
        conn.executemany(
            "INSERT INTO data_items (path, type, info, client_path, created_ms) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                (d.path, d.type, orjson.dumps(d.info), d.client_path, d.created_ms)
                for d in config.data_items
            ],
        )
        conn.executemany(
            "INSERT INTO settings (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value=excluded.value",
            [(key, orjson.dumps(value)) for key, value in config.settings.items()],
        )
