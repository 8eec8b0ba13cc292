"""PostgreSQL backend of the site store: accounts, settings, keys, machines and directories.

One database holds both stores, each in a schema of its own (``geosite`` for the site store,
``geosite_logs`` for the log store; see ``geosite.storage.load_stores``). Several processes
and machines share it, so every read-modify-write is correct under concurrency as SQLite's
single writer makes it: unique indexes decide names (ignoring ASCII case, as ``COLLATE
NOCASE``), the rows an operation depends on are locked (``FOR SHARE`` / ``FOR UPDATE``) in
its transaction, and a transaction broken off by a deadlock is run again.

Every change transaction also raises the change counter and sends a NOTIFY, so that the
other processes drop what they cached (``watch``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson
import psycopg

from geosite.core.models import Privilege, Role, SiteConfiguration, User
from geosite.errors import Conflict, NotFound
from geosite.storage._pg import Conn, PgDatabase
from geosite.storage._pg_watch import ChangeWatcher
from geosite.storage.base import SiteStore
from geosite.storage.postgresql_catalog import PgCatalog, dumps
from geosite.storage.postgresql_machines import PgMachines
from geosite.storage.postgresql_restore import replace_configuration
from geosite.storage.postgresql_schema import SITE_SCHEMA, stored_version, upgrade

_USER_COLUMNS = (
    "username, password_hash, fullname, description, email, token_version, disabled, is_psa, "
    "user_id"
)


def _like(text: str) -> str:
    """A LIKE pattern (escape character \\) matching names that contain ``text``."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _role(row: Sequence[Any]) -> Role:
    privilege = Privilege[row[2]] if row[2] in Privilege.__members__ else Privilege.ACCESS
    return Role(row[0], row[1], privilege)


def _user(row: Sequence[Any]) -> User:
    return User(
        username=row[0],
        password_hash=row[1],
        fullname=row[2],
        description=row[3],
        email=row[4],
        token_version=int(row[5]),
        disabled=bool(row[6]),
        is_psa=bool(row[7]),
        user_id=row[8],
    )


def _end_tokens(conn: Conn, usernames: Sequence[str]) -> None:
    """Move the users' credential versions: every token issued to them before is refused."""
    for name in usernames:
        conn.execute(
            "UPDATE users SET token_version = token_version + 1 "
            "WHERE nocase(username) = nocase(%s)",
            (name,),
        )


def _privilege(conn: Conn, username: str) -> Privilege | None:
    """The highest privilege among the user's roles."""
    rows = conn.execute(
        "SELECT r.privilege FROM roles r JOIN role_members m ON m.rolename = r.rolename "
        "WHERE nocase(m.username) = nocase(%s)",
        (username,),
    ).fetchall()
    privileges = [Privilege[str(r[0])] for r in rows if r[0] in Privilege.__members__]
    return max(privileges) if privileges else None


def _hand_over(conn: Conn, username: str, new_owner: str) -> None:
    """Give what ``username`` owns (services, uploads) to ``new_owner`` ("": administrators
    only), so that a later user of the old name never manages it."""
    for table in ("services", "uploads"):
        conn.execute(
            f"UPDATE {table} SET owner = %s WHERE nocase(owner) = nocase(%s)",  # noqa: S608
            (new_owner, username),
        )


def _changed(conn: Conn, query: str, params: Sequence[Any]) -> int:
    return conn.execute(query.encode(), params).rowcount


class PostgresSiteStore(PgCatalog, PgMachines, SiteStore):
    """Site store in a schema of a PostgreSQL database."""

    def __init__(self, url: str, schema: str = "geosite", *, max_connections: int = 8) -> None:
        self._db = PgDatabase(url, schema, max_size=max_connections, notify=True)
        self._watcher: ChangeWatcher | None = None

    # -- versions, connections, changes ---------------------------------------------------------
    def initialize_schema(self) -> None:
        """Create the layout, or apply the migrations it lacks (see ``VersionedStore``)."""
        upgrade(self._db, SITE_SCHEMA)

    def schema_version(self) -> int:
        """The version of the layout in the schema."""
        return stored_version(self._db)

    def latest_schema_version(self) -> int:
        """The version this geosite writes."""
        return SITE_SCHEMA.latest

    def close(self) -> None:
        """Stop listening and close this process's connections."""
        if self._watcher is not None:
            self._watcher.close()
            self._watcher = None
        self._db.close()

    def destroy(self) -> None:
        """Drop the store's schema (see ``VersionedStore``)."""
        if self._watcher is not None:
            self._watcher.close()
            self._watcher = None
        self._db.drop_schema()

    def watch(self, on_change: Callable[[], None]) -> bool:
        """Call ``on_change`` (in a thread of its own) soon after any process changes the store:
        on the NOTIFY sent with the change, or, while the listening connection is down, when a
        poll finds the change counter moved. True: changes are announced."""
        if self._watcher is None:
            self._watcher = ChangeWatcher(self._db)
        self._watcher.subscribe(on_change)
        return True

    # -- settings ---------------------------------------------------------------------------------
    def get_setting(self, key: str) -> Any | None:
        """Return a stored JSON value."""
        with self._db.connection() as conn:
            row = conn.execute("SELECT value FROM settings WHERE key = %s", (key,)).fetchone()
        return orjson.loads(str(row[0])) if row else None

    def put_setting(self, key: str, value: Any) -> None:
        """Store a JSON value."""
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (%s, %s) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, dumps(value)),
            )

    def add_setting(self, key: str, value: Any) -> Any:
        """Store ``value`` unless ``key`` holds one; the stored value (see ``SiteStore``)."""
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING",
                (key, dumps(value)),
            )
            # READ COMMITTED: this statement sees the value of a writer the insert waited for.
            row = conn.execute("SELECT value FROM settings WHERE key = %s", (key,)).fetchone()
        return orjson.loads(str(row[0])) if row else value

    def setting_keys(self, prefix: str) -> list[str]:
        """The keys starting with ``prefix`` (compared character for character)."""
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT key FROM settings WHERE starts_with(key, %s) ORDER BY key", (prefix,)
            ).fetchall()
        return [str(row[0]) for row in rows]

    def delete_setting(self, key: str) -> None:
        """Remove a key."""
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM settings WHERE key = %s", (key,))

    def replace_configuration(self, config: SiteConfiguration) -> None:
        """Put a whole configuration back in one transaction (see ``SiteStore``)."""
        replace_configuration(self._db, config)

    # -- users ------------------------------------------------------------------------------------
    def add_user(self, user: User) -> None:
        """Add a user."""
        try:
            with self._db.transaction() as conn:
                conn.execute(
                    f"INSERT INTO users ({_USER_COLUMNS}) "  # noqa: S608
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (
                        user.username,
                        user.password_hash,
                        user.fullname,
                        user.description,
                        user.email,
                        user.token_version,
                        user.disabled,
                        user.is_psa,
                        user.user_id,
                    ),
                )
        except psycopg.errors.UniqueViolation:
            raise Conflict(f"User '{user.username}' already exists.") from None

    def get_user(self, username: str) -> User | None:
        """Return a user by name."""
        with self._db.connection() as conn:
            row = conn.execute(
                f"SELECT {_USER_COLUMNS} FROM users "  # noqa: S608
                "WHERE nocase(username) = nocase(%s)",
                (username,),
            ).fetchone()
        return _user(row) if row else None

    def search_users(self, text: str, max_count: int) -> tuple[list[User], bool]:
        """Search users by name, full name or email (ignoring ASCII case, as SQLite's LIKE)."""
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_USER_COLUMNS} FROM users "  # noqa: S608
                "WHERE nocase(username) LIKE nocase(%(p)s) ESCAPE '\\' "
                "OR nocase(fullname) LIKE nocase(%(p)s) ESCAPE '\\' "
                "OR nocase(email) LIKE nocase(%(p)s) ESCAPE '\\' "
                "ORDER BY nocase(username) LIMIT %(n)s",
                {"p": _like(text), "n": max_count + 1},
            ).fetchall()
        return [_user(r) for r in rows[:max_count]], len(rows) > max_count

    def set_password(self, username: str, password_hash: str) -> bool:
        """Replace a password hash and move the credential version."""
        with self._db.transaction() as conn:
            return (
                _changed(
                    conn,
                    "UPDATE users SET password_hash = %s, token_version = token_version + 1 "
                    "WHERE nocase(username) = nocase(%s)",
                    (password_hash, username),
                )
                > 0
            )

    def bump_token_version(self, username: str) -> None:
        """Move the user's credential version."""
        with self._db.transaction() as conn:
            _end_tokens(conn, [username])

    def user_privilege(self, username: str) -> Privilege | None:
        """Highest privilege among the user's roles."""
        with self._db.connection() as conn:
            return _privilege(conn, username)

    def update_user(self, username: str, fullname: str, description: str, email: str) -> bool:
        """Change a user's profile."""
        with self._db.transaction() as conn:
            return (
                _changed(
                    conn,
                    "UPDATE users SET fullname = %s, description = %s, email = %s "
                    "WHERE nocase(username) = nocase(%s)",
                    (fullname, description, email, username),
                )
                > 0
            )

    def set_user_disabled(self, username: str, disabled: bool) -> bool:
        """Disable or enable a user."""
        with self._db.transaction() as conn:
            return (
                _changed(
                    conn,
                    "UPDATE users SET disabled = %s, token_version = token_version + 1 "
                    "WHERE nocase(username) = nocase(%s)",
                    (disabled, username),
                )
                > 0
            )

    def rename_user(self, username: str, new_name: str) -> bool:
        """Rename a user; its memberships follow (``ON UPDATE CASCADE``)."""
        try:
            with self._db.transaction() as conn:
                changed = _changed(
                    conn,
                    "UPDATE users SET username = %s, token_version = token_version + 1 "
                    "WHERE nocase(username) = nocase(%s)",
                    (new_name, username),
                )
                if changed:
                    _hand_over(conn, username, new_name)
        except psycopg.errors.UniqueViolation:
            raise Conflict(f"User '{new_name}' already exists.") from None
        return changed > 0

    def delete_user(self, username: str) -> bool:
        """Remove a user (its memberships go with it)."""
        with self._db.transaction() as conn:
            removed = _changed(
                conn, "DELETE FROM users WHERE nocase(username) = nocase(%s)", (username,)
            )
            if removed:
                _hand_over(conn, username, "")
            return removed > 0

    # -- roles ------------------------------------------------------------------------------------
    def add_role(self, rolename: str, description: str, privilege: Privilege) -> None:
        """Create a role."""
        try:
            with self._db.transaction() as conn:
                conn.execute(
                    "INSERT INTO roles (rolename, description, privilege) VALUES (%s, %s, %s)",
                    (rolename, description, privilege.name),
                )
        except psycopg.errors.UniqueViolation:
            raise Conflict(f"Role '{rolename}' already exists.") from None

    def add_role_members(self, rolename: str, usernames: Sequence[str]) -> None:
        """Add users to a role; the role and the users are locked while they join (run again
        when two such changes deadlock)."""

        def join(conn: Conn) -> None:
            role = conn.execute(
                "SELECT rolename FROM roles WHERE nocase(rolename) = nocase(%s) FOR SHARE",
                (rolename,),
            ).fetchone()
            added: list[str] = []
            for name in usernames:
                user = conn.execute(
                    "SELECT username FROM users WHERE nocase(username) = nocase(%s) "
                    "FOR NO KEY UPDATE",
                    (name,),
                ).fetchone()
                if role is None or user is None:
                    raise NotFound(f"Role '{rolename}' or one of the users does not exist.")
                joined = conn.execute(
                    "INSERT INTO role_members (rolename, username) VALUES (%s, %s) "
                    "ON CONFLICT DO NOTHING",
                    (role[0], user[0]),
                ).rowcount
                if joined:
                    added.append(str(user[0]))
            _end_tokens(conn, added)

        self._db.write(join)

    def user_roles(self, username: str) -> list[str]:
        """The user's roles."""
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT rolename FROM role_members WHERE nocase(username) = nocase(%s) "
                "ORDER BY nocase(rolename)",
                (username,),
            ).fetchall()
        return [str(r[0]) for r in rows]

    def get_role(self, rolename: str) -> Role | None:
        """A role by name."""
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT rolename, description, privilege FROM roles "
                "WHERE nocase(rolename) = nocase(%s)",
                (rolename,),
            ).fetchone()
        return _role(row) if row else None

    def search_roles(self, text: str, max_count: int) -> tuple[list[Role], bool]:
        """Roles by name."""
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT rolename, description, privilege FROM roles "
                "WHERE nocase(rolename) LIKE nocase(%s) ESCAPE '\\' "
                "ORDER BY nocase(rolename) LIMIT %s",
                (_like(text), max_count + 1),
            ).fetchall()
        return [_role(r) for r in rows[:max_count]], len(rows) > max_count

    def update_role(
        self, rolename: str, *, description: str | None = None, privilege: Privilege | None = None
    ) -> bool:
        """Change a role (locked ``FOR UPDATE``: memberships wait until it is done)."""
        with self._db.transaction() as conn:
            found = conn.execute(
                "SELECT rolename FROM roles WHERE nocase(rolename) = nocase(%s) FOR UPDATE",
                (rolename,),
            ).fetchone()
            if found is None:
                return False
            stored = str(found[0])
            if description is not None:
                conn.execute(
                    "UPDATE roles SET description = %s WHERE rolename = %s", (description, stored)
                )
            if privilege is not None:
                members = [
                    str(row[0])
                    for row in conn.execute(
                        "SELECT username FROM role_members WHERE rolename = %s", (stored,)
                    ).fetchall()
                ]
                before = [_privilege(conn, name) for name in members]
                conn.execute(
                    "UPDATE roles SET privilege = %s WHERE rolename = %s", (privilege.name, stored)
                )
                _end_tokens(  # those whose privilege it changes
                    conn,
                    [n for n, b in zip(members, before, strict=True) if _privilege(conn, n) != b],
                )
            return True

    def delete_role(self, rolename: str) -> bool:
        """Remove a role with its memberships and permissions."""
        with self._db.transaction() as conn:
            found = conn.execute(
                "SELECT rolename FROM roles WHERE nocase(rolename) = nocase(%s) FOR UPDATE",
                (rolename,),
            ).fetchone()
            if found is None:
                return False
            members = conn.execute(
                "SELECT username FROM role_members WHERE rolename = %s", (found[0],)
            ).fetchall()
            _end_tokens(conn, [str(row[0]) for row in members])
            conn.execute(
                "DELETE FROM permissions WHERE nocase(principal) = nocase(%s)", (rolename,)
            )
            conn.execute("DELETE FROM roles WHERE rolename = %s", (found[0],))
            return True

    def role_members(self, rolename: str) -> list[str]:
        """Members of a role."""
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT username FROM role_members WHERE nocase(rolename) = nocase(%s) "
                "ORDER BY nocase(username)",
                (rolename,),
            ).fetchall()
        return [str(r[0]) for r in rows]

    def remove_role_members(self, rolename: str, usernames: Sequence[str]) -> None:
        """Take users out of a role."""
        with self._db.transaction() as conn:
            removed = [
                name
                for name in usernames
                if conn.execute(
                    "DELETE FROM role_members WHERE nocase(rolename) = nocase(%s) "
                    "AND nocase(username) = nocase(%s)",
                    (rolename, name),
                ).rowcount
            ]
            _end_tokens(conn, removed)

    # -- token keys -------------------------------------------------------------------------------
    def add_token_key(self, secret: str) -> int:
        """Store a new signing secret."""
        with self._db.transaction() as conn:
            row = conn.execute(
                "INSERT INTO token_keys (secret) VALUES (%s) RETURNING version", (secret,)
            ).fetchone()
        return int(str(row[0])) if row else 0

    def current_token_key(self) -> tuple[int, str] | None:
        """The newest signing key."""
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT version, secret FROM token_keys ORDER BY version DESC LIMIT 1"
            ).fetchone()
        return (int(str(row[0])), str(row[1])) if row else None

    def token_key(self, version: int) -> str | None:
        """A signing key by version."""
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT secret FROM token_keys WHERE version = %s", (version,)
            ).fetchone()
        return str(row[0]) if row else None
