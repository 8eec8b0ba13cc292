"""SQLite backend of the site store and the log store (the default).

One database file per store, in WAL mode so readers never wait for the writer. The site store
commits with ``synchronous=FULL``: a configuration change that was acknowledged survives a
power cut. Each thread gets its own connection (the HTTP layer runs the core in a thread
pool); every process of the site opens the same files, so nothing lives in one worker's memory.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from geosite.core.models import Privilege, Role, ServerDirectory, SiteConfiguration, User
from geosite.errors import Conflict, NotFound
from geosite.storage._db import Connections
from geosite.storage.base import SiteStore
from geosite.storage.migrations import stored_version, upgrade
from geosite.storage.sqlite_catalog import SqliteCatalog
from geosite.storage.sqlite_machines import SqliteMachines
from geosite.storage.sqlite_restore import replace_configuration
from geosite.storage.sqlite_schema import SITE_SCHEMA

_USER_COLUMNS = (
    "username, password_hash, fullname, description, email, token_version, disabled, is_psa, "
    "user_id"
)


def _like(text: str) -> str:
    """A LIKE pattern (escape character \\) matching names that contain ``text``."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _role(row: tuple[Any, ...]) -> Role:
    privilege = Privilege[row[2]] if row[2] in Privilege.__members__ else Privilege.ACCESS
    return Role(row[0], row[1], privilege)


def _user(row: sqlite3.Row | tuple[Any, ...]) -> User:
    return User(
        username=row[0],
        password_hash=row[1],
        fullname=row[2],
        description=row[3],
        email=row[4],
        token_version=row[5],
        disabled=bool(row[6]),
        is_psa=bool(row[7]),
        user_id=row[8],
    )


def _end_tokens(conn: sqlite3.Connection, usernames: Sequence[str]) -> None:
    """Move the users' credential versions: every token issued to them before is refused."""
    conn.executemany(
        "UPDATE users SET token_version = token_version + 1 WHERE username=?",
        [(name,) for name in usernames],
    )


def _privilege(conn: sqlite3.Connection, username: str) -> Privilege | None:
    """The highest privilege among the user's roles."""
    rows = conn.execute(
        "SELECT r.privilege FROM roles r JOIN role_members m ON m.rolename = r.rolename "
        "WHERE m.username=?",
        (username,),
    ).fetchall()
    privileges = [Privilege[r[0]] for r in rows if r[0] in Privilege.__members__]
    return max(privileges) if privileges else None


def _hand_over(conn: sqlite3.Connection, username: str, new_owner: str) -> None:
    """Give what ``username`` owns (services, uploads) to ``new_owner`` ("": administrators
    only), so that a later user of the old name never manages it."""
    for table in ("services", "uploads"):
        conn.execute(
            f"UPDATE {table} SET owner=? WHERE owner=? COLLATE NOCASE",
            (new_owner, username),
        )


class SqliteSiteStore(SqliteCatalog, SqliteMachines, SiteStore):
    """Site store in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self._db = Connections(path, "FULL")

    def initialize_schema(self) -> None:
        """Create the layout, or apply the migrations it lacks (see ``VersionedStore``)."""
        upgrade(self._db, SITE_SCHEMA)

    def schema_version(self) -> int:
        """The version of the layout in the file."""
        return stored_version(self._db.get())

    def latest_schema_version(self) -> int:
        """The version this geosite writes."""
        return SITE_SCHEMA.latest

    def close(self) -> None:
        """Close this process's connections."""
        self._db.close()

    def destroy(self) -> None:
        """Delete the database file (see ``VersionedStore``)."""
        self._db.remove_files()

    def get_setting(self, key: str) -> Any | None:
        """Return a stored JSON value."""
        row = self._db.get().execute("SELECT value FROM settings WHERE key=?", (key,)).fetchone()
        return orjson.loads(row[0]) if row else None

    def replace_configuration(self, config: SiteConfiguration) -> None:
        """Put a whole configuration back in one transaction (see ``SiteStore``)."""
        replace_configuration(self._db, config)

    def add_setting(self, key: str, value: Any) -> Any:
        """Store ``value`` unless ``key`` holds one; the stored value (see ``SiteStore``)."""
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                (key, orjson.dumps(value)),
            )
            row = conn.execute("SELECT value FROM settings WHERE key=?", (key,)).fetchone()
        return orjson.loads(row[0])

    def setting_keys(self, prefix: str) -> list[str]:
        """The keys starting with ``prefix`` (compared byte for byte)."""
        rows = self._db.get().execute(
            "SELECT key FROM settings WHERE substr(key, 1, ?) = ? ORDER BY key",
            (len(prefix), prefix),
        )
        return [str(row[0]) for row in rows]

    def delete_setting(self, key: str) -> None:
        """Remove a key."""
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM settings WHERE key=?", (key,))

    def put_setting(self, key: str, value: Any) -> None:
        """Store a JSON value."""
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value=excluded.value",
                (key, orjson.dumps(value)),
            )

    def add_user(self, user: User) -> None:
        """Add a user."""
        try:
            with self._db.transaction() as conn:
                conn.execute(
                    f"INSERT INTO users ({_USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        user.username,
                        user.password_hash,
                        user.fullname,
                        user.description,
                        user.email,
                        user.token_version,
                        int(user.disabled),
                        int(user.is_psa),
                        user.user_id,
                    ),
                )
        except sqlite3.IntegrityError:
            raise Conflict(f"User '{user.username}' already exists.") from None

    def get_user(self, username: str) -> User | None:
        """Return a user by name."""
        row = (
            self._db.get()
            .execute(f"SELECT {_USER_COLUMNS} FROM users WHERE username=?", (username,))
            .fetchone()
        )
        return _user(row) if row else None

    def search_users(self, text: str, max_count: int) -> tuple[list[User], bool]:
        """Search users by name, full name or email."""
        pattern = _like(text)
        rows = (
            self._db.get()
            .execute(
                f"SELECT {_USER_COLUMNS} FROM users WHERE username LIKE ?1 ESCAPE '\\' "
                "OR fullname LIKE ?1 ESCAPE '\\' OR email LIKE ?1 ESCAPE '\\' "
                "ORDER BY username LIMIT ?2",
                (pattern, max_count + 1),
            )
            .fetchall()
        )
        return [_user(r) for r in rows[:max_count]], len(rows) > max_count

    def set_password(self, username: str, password_hash: str) -> bool:
        """Replace a password hash and move the credential version."""
        with self._db.transaction() as conn:
            cur = conn.execute(
                "UPDATE users SET password_hash=?, token_version = token_version + 1 "
                "WHERE username=?",
                (password_hash, username),
            )
            return cur.rowcount > 0

    def bump_token_version(self, username: str) -> None:
        """Move the user's credential version."""
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE users SET token_version = token_version + 1 WHERE username=?", (username,)
            )

    def user_privilege(self, username: str) -> Privilege | None:
        """Highest privilege among the user's roles."""
        return _privilege(self._db.get(), username)

    def add_role(self, rolename: str, description: str, privilege: Privilege) -> None:
        """Create a role."""
        try:
            with self._db.transaction() as conn:
                conn.execute(
                    "INSERT INTO roles (rolename, description, privilege) VALUES (?, ?, ?)",
                    (rolename, description, privilege.name),
                )
        except sqlite3.IntegrityError:
            raise Conflict(f"Role '{rolename}' already exists.") from None

    def add_role_members(self, rolename: str, usernames: Sequence[str]) -> None:
        """Add users to a role."""
        try:
            with self._db.transaction() as conn:
                added = [
                    name
                    for name in usernames
                    if conn.execute(
                        "INSERT OR IGNORE INTO role_members (rolename, username) VALUES (?, ?)",
                        (rolename, name),
                    ).rowcount
                ]
                _end_tokens(conn, added)
        except sqlite3.IntegrityError:
            raise NotFound(f"Role '{rolename}' or one of the users does not exist.") from None

    def user_roles(self, username: str) -> list[str]:
        """The user's roles."""
        rows = (
            self._db.get()
            .execute(
                "SELECT r.rolename FROM roles r JOIN role_members m ON m.rolename = r.rolename "
                "WHERE m.username=? ORDER BY r.rolename",
                (username,),
            )
            .fetchall()
        )
        return [r[0] for r in rows]

    def update_user(self, username: str, fullname: str, description: str, email: str) -> bool:
        """Change a user's profile."""
        with self._db.transaction() as conn:
            return (
                conn.execute(
                    "UPDATE users SET fullname=?, description=?, email=? WHERE username=?",
                    (fullname, description, email, username),
                ).rowcount
                > 0
            )

    def set_user_disabled(self, username: str, disabled: bool) -> bool:
        """Disable or enable a user."""
        with self._db.transaction() as conn:
            return (
                conn.execute(
                    "UPDATE users SET disabled=?, token_version = token_version + 1 "
                    "WHERE username=?",
                    (int(disabled), username),
                ).rowcount
                > 0
            )

    def rename_user(self, username: str, new_name: str) -> bool:
        """Rename a user and its memberships."""
        try:
            with self._db.transaction() as conn:
                members = conn.execute(
                    "SELECT rolename FROM role_members WHERE username=?", (username,)
                ).fetchall()
                conn.execute("DELETE FROM role_members WHERE username=?", (username,))
                changed = conn.execute(
                    "UPDATE users SET username=?, token_version = token_version + 1 "
                    "WHERE username=?",
                    (new_name, username),
                ).rowcount
                conn.executemany(
                    "INSERT INTO role_members (rolename, username) VALUES (?, ?)",
                    [(row[0], new_name) for row in members] if changed else [],
                )
                if changed:
                    _hand_over(conn, username, new_name)
        except sqlite3.IntegrityError:
            raise Conflict(f"User '{new_name}' already exists.") from None
        return changed > 0

    def delete_user(self, username: str) -> bool:
        """Remove a user."""
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM role_members WHERE username=?", (username,))
            removed = conn.execute("DELETE FROM users WHERE username=?", (username,)).rowcount
            if removed:
                _hand_over(conn, username, "")
            return removed > 0

    def get_role(self, rolename: str) -> Role | None:
        """A role by name."""
        row = (
            self._db.get()
            .execute(
                "SELECT rolename, description, privilege FROM roles WHERE rolename=?", (rolename,)
            )
            .fetchone()
        )
        return _role(row) if row else None

    def search_roles(self, text: str, max_count: int) -> tuple[list[Role], bool]:
        """Roles by name."""
        pattern = _like(text)
        rows = (
            self._db.get()
            .execute(
                "SELECT rolename, description, privilege FROM roles "
                "WHERE rolename LIKE ? ESCAPE '\\' ORDER BY rolename LIMIT ?",
                (pattern, max_count + 1),
            )
            .fetchall()
        )
        return [_role(r) for r in rows[:max_count]], len(rows) > max_count

    def update_role(
        self, rolename: str, *, description: str | None = None, privilege: Privilege | None = None
    ) -> bool:
        """Change a role."""
        with self._db.transaction() as conn:
            found = conn.execute("SELECT 1 FROM roles WHERE rolename=?", (rolename,)).fetchone()
            if description is not None:
                conn.execute(
                    "UPDATE roles SET description=? WHERE rolename=?", (description, rolename)
                )
            if privilege is not None:
                members = [
                    str(row[0])
                    for row in conn.execute(
                        "SELECT username FROM role_members WHERE rolename=?", (rolename,)
                    )
                ]
                before = [_privilege(conn, name) for name in members]
                conn.execute(
                    "UPDATE roles SET privilege=? WHERE rolename=?", (privilege.name, rolename)
                )
                _end_tokens(  # those whose privilege it changes
                    conn,
                    [n for n, b in zip(members, before, strict=True) if _privilege(conn, n) != b],
                )
            return found is not None

    def delete_role(self, rolename: str) -> bool:
        """Remove a role with its memberships and permissions."""
        with self._db.transaction() as conn:
            members = conn.execute(
                "SELECT username FROM role_members WHERE rolename=?", (rolename,)
            ).fetchall()
            _end_tokens(conn, [str(row[0]) for row in members])
            conn.execute("DELETE FROM role_members WHERE rolename=?", (rolename,))
            conn.execute("DELETE FROM permissions WHERE principal=?", (rolename,))
            return conn.execute("DELETE FROM roles WHERE rolename=?", (rolename,)).rowcount > 0

    def role_members(self, rolename: str) -> list[str]:
        """Members of a role."""
        rows = (
            self._db.get()
            .execute(
                "SELECT u.username FROM role_members m JOIN users u ON u.username = m.username "
                "WHERE m.rolename=? ORDER BY u.username",
                (rolename,),
            )
            .fetchall()
        )
        return [r[0] for r in rows]

    def remove_role_members(self, rolename: str, usernames: Sequence[str]) -> None:
        """Take users out of a role."""
        with self._db.transaction() as conn:
            removed = [
                name
                for name in usernames
                if conn.execute(
                    "DELETE FROM role_members WHERE rolename=? AND username=?", (rolename, name)
                ).rowcount
            ]
            _end_tokens(conn, removed)

    def add_token_key(self, secret: str) -> int:
        """Store a new signing secret."""
        with self._db.transaction() as conn:
            cur = conn.execute("INSERT INTO token_keys (secret) VALUES (?)", (secret,))
            return int(cur.lastrowid or 0)

    def current_token_key(self) -> tuple[int, str] | None:
        """The newest signing key."""
        row = (
            self._db.get()
            .execute("SELECT version, secret FROM token_keys ORDER BY version DESC LIMIT 1")
            .fetchone()
        )
        return (int(row[0]), str(row[1])) if row else None

    def token_key(self, version: int) -> str | None:
        """A signing key by version."""
        row = (
            self._db.get()
            .execute("SELECT secret FROM token_keys WHERE version=?", (version,))
            .fetchone()
        )
        return str(row[0]) if row else None

    def add_directory(self, directory: ServerDirectory) -> None:
        """Register a server directory."""
        try:
            with self._db.transaction() as conn:
                conn.execute(
                    "INSERT INTO directories (name, physical_path, directory_type, cleanup_mode,"
                    " max_file_age, description) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        directory.name,
                        directory.physical_path,
                        directory.directory_type,
                        directory.cleanup_mode,
                        directory.max_file_age,
                        directory.description,
                    ),
                )
        except sqlite3.IntegrityError:
            raise Conflict(
                f"Failed to register the server directory '{directory.name}'. A server directory "
                f"with the name '{directory.name}' is already registered with the server."
            ) from None

    def list_directories(self) -> list[ServerDirectory]:
        """All server directories."""
        rows = (
            self._db.get()
            .execute(
                "SELECT name, physical_path, directory_type, cleanup_mode, max_file_age,"
                " description FROM directories ORDER BY name"
            )
            .fetchall()
        )
        return [ServerDirectory(*r) for r in rows]

    def update_directory(self, directory: ServerDirectory) -> bool:
        """Change a directory's path, type, cleanup and description."""
        with self._db.transaction() as conn:
            changed = conn.execute(
                "UPDATE directories SET physical_path=?, directory_type=?, cleanup_mode=?,"
                " max_file_age=?, description=? WHERE name=?",
                (
                    directory.physical_path,
                    directory.directory_type,
                    directory.cleanup_mode,
                    directory.max_file_age,
                    directory.description,
                    directory.name,
                ),
            ).rowcount
        return changed > 0

    def remove_directory(self, name: str) -> bool:
        """Unregister a directory."""
        with self._db.transaction() as conn:
            return conn.execute("DELETE FROM directories WHERE name=?", (name,)).rowcount > 0

    def record_login_failure(
        self, keys: Sequence[str], now_ms: int, prune_before_ms: int | None = None
    ) -> None:
        """Record a failed login (and forget the keys' old failures)."""
        with self._db.transaction() as conn:
            if prune_before_ms is not None:
                conn.executemany(
                    "DELETE FROM login_failures WHERE key=? AND at_ms<?",
                    [(k, prune_before_ms) for k in keys],
                )
            conn.executemany(
                "INSERT INTO login_failures (key, at_ms) VALUES (?, ?)", [(k, now_ms) for k in keys]
            )

    def login_failures(self, key: str, since_ms: int) -> list[int]:
        """Recent failures of a key."""
        rows = (
            self._db.get()
            .execute(
                "SELECT at_ms FROM login_failures WHERE key=? AND at_ms>=? ORDER BY at_ms",
                (key, since_ms),
            )
            .fetchall()
        )
        return [int(r[0]) for r in rows]

    def clear_login_failures(self, key: str, before_ms: int | None = None) -> None:
        """Forget failures."""
        with self._db.transaction() as conn:
            if before_ms is None:
                conn.execute("DELETE FROM login_failures WHERE key=?", (key,))
            else:
                conn.execute("DELETE FROM login_failures WHERE key=? AND at_ms<?", (key, before_ms))
