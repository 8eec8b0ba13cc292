"""``site.users``, ``site.roles`` and ``site.security``: the built-in user and role stores and
the security settings (``/admin/security``)."""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable, Iterator
from typing import Any

from geosite.client._session import Session

#: The privileges a role can hold, most powerful first.
PRIVILEGES = ("ADMINISTER", "PUBLISH", "ACCESS")
_PAGE = 1000


def _names(values: Iterable[str]) -> str:
    return ",".join(v.strip() for v in values if v.strip())


def _pages(session: Session, path: str, key: str) -> Iterator[dict[str, Any]]:
    """Every item of a paged listing (``startIndex``, ``pageSize``, ``hasMore``)."""
    start = 0
    while True:
        page = session.get_json(path, {"startIndex": start, "pageSize": _PAGE})
        items = page.get(key, [])
        yield from (dict(item) for item in items)
        if not page.get("hasMore") or not items:
            return
        start += len(items)


class Users:
    """User accounts (``/admin/security/users``)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def list(self) -> Iterator[dict[str, Any]]:
        """Every user (``username``, ``fullname``, ``email``, ``description`` ...), page by page."""
        return _pages(self._session, "admin/security/users/getUsers", "users")

    def search(self, text: str = "", max_count: int = 100) -> builtins.list[dict[str, Any]]:
        """Users whose name contains ``text``."""
        page = self._session.post_json(
            "admin/security/users/search", {"filter": text, "maxCount": max_count}, idempotent=True
        )
        return list(page.get("users", []))

    def add(
        self,
        username: str,
        password: str,
        *,
        fullname: str = "",
        email: str = "",
        description: str = "",
    ) -> None:
        """Create a user (the site's password policy applies)."""
        self._session.post_json(
            "admin/security/users/add",
            {
                "username": username,
                "password": password,
                "fullname": fullname,
                "email": email,
                "description": description,
            },
        )

    def update(self, username: str, **fields: str) -> None:
        """Change ``fullname``, ``email``, ``description`` or ``password``."""
        self._session.post_json("admin/security/users/update", {"username": username, **fields})

    def remove(self, username: str) -> None:
        """Delete a user."""
        self._session.post_json("admin/security/users/remove", {"username": username})

    def change_password(self, username: str, password: str) -> None:
        """Set a user's password (its tokens stop working)."""
        self._session.post_json(
            "admin/security/users/changePassword", {"username": username, "password": password}
        )

    def roles(self, username: str) -> builtins.list[str]:
        """The roles a user is in."""
        answer = self._session.get_json(
            "admin/security/users/getRoles", {"username": username, "maxCount": _PAGE}
        )
        return [str(r) for r in answer.get("roles", [])]

    def assign_roles(self, username: str, roles: Iterable[str]) -> None:
        """Add a user to roles."""
        self._session.post_json(
            "admin/security/users/assignRoles", {"username": username, "roles": _names(roles)}
        )

    def remove_roles(self, username: str, roles: Iterable[str]) -> None:
        """Take a user out of roles."""
        self._session.post_json(
            "admin/security/users/removeRoles", {"username": username, "roles": _names(roles)}
        )

    def privilege(self, username: str) -> str:
        """The strongest privilege the user's roles give (``ACCESS`` when none)."""
        answer = self._session.get_json("admin/security/users/getPrivilege", {"username": username})
        return str(answer.get("privilege", "ACCESS"))


class Roles:
    """Roles and their privileges (``/admin/security/roles``)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def list(self) -> Iterator[dict[str, Any]]:
        """Every role (``rolename``, ``description``), page by page."""
        return _pages(self._session, "admin/security/roles/getRoles", "roles")

    def add(self, rolename: str, description: str = "", privilege: str | None = None) -> None:
        """Create a role, with a privilege when given."""
        self._session.post_json(
            "admin/security/roles/add", {"rolename": rolename, "description": description}
        )
        if privilege:
            self.assign_privilege(rolename, privilege)

    def update(self, rolename: str, description: str) -> None:
        """Change a role's description."""
        self._session.post_json(
            "admin/security/roles/update", {"rolename": rolename, "description": description}
        )

    def remove(self, rolename: str) -> None:
        """Delete a role."""
        self._session.post_json("admin/security/roles/remove", {"rolename": rolename})

    def assign_privilege(self, rolename: str, privilege: str) -> None:
        """Give a role ``ADMINISTER``, ``PUBLISH`` or ``ACCESS``."""
        self._session.post_json(
            "admin/security/roles/assignPrivilege",
            {"rolename": rolename, "privilege": privilege.upper()},
        )

    def privilege(self, rolename: str) -> str:
        """A role's privilege."""
        answer = self._session.get_json("admin/security/roles/getPrivilege", {"rolename": rolename})
        return str(answer.get("privilege", "ACCESS"))

    def users(self, rolename: str) -> builtins.list[str]:
        """The users in a role."""
        answer = self._session.get_json(
            "admin/security/roles/getUsersWithinRole", {"rolename": rolename, "maxCount": 100_000}
        )
        return [str(u) for u in answer.get("users", [])]

    def add_users(self, rolename: str, users: Iterable[str]) -> None:
        """Put users in a role."""
        self._session.post_json(
            "admin/security/roles/addUsersToRole", {"rolename": rolename, "users": _names(users)}
        )

    def remove_users(self, rolename: str, users: Iterable[str]) -> None:
        """Take users out of a role."""
        self._session.post_json(
            "admin/security/roles/removeUsersFromRole",
            {"rolename": rolename, "users": _names(users)},
        )


class Security:
    """The site's security settings: its configuration, token policy and password policy."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def config(self) -> dict[str, Any]:
        """``sslEnabled``, ``httpEnabled``, ``allowedAdminAccessProtocol``,
        ``allowedAdminAccessIPs`` ... (``/admin/security/config``)."""
        return dict(self._session.get_json("admin/security/config"))

    def update_config(self, **fields: Any) -> None:
        """Change the fields given (the others keep their values)."""
        self._session.post_json(
            "admin/security/config/update", {"securityConfig": json.dumps(fields)}
        )

    def token_policy(self) -> dict[str, Any]:
        """``shortTimeout`` and ``longTimeout`` (minutes), ``allowHttpGet``."""
        answer = self._session.get_json("admin/security/tokens")
        return dict(answer.get("properties") or {})

    def update_token_policy(self, **properties: Any) -> None:
        """Change the token policy's properties given (``sharedKey``: rotate the signing key,
        which ends every token)."""
        config = {"type": "BUILTIN", "properties": properties}
        self._session.post_json(
            "admin/security/tokens/update", {"tokenManagerConfig": json.dumps(config)}
        )

    def password_policy(self) -> dict[str, Any]:
        """``type`` (default or custom), ``minLength``, ``minUpper``, ``minLower``,
        ``minDigit``, ``minOther``."""
        answer = self._session.get_json("admin/security/passwordPolicy")
        return dict(answer.get("passwordPolicy") or {})

    def update_password_policy(self, **fields: Any) -> None:
        """Change the fields given (``type="default"`` puts the default policy back)."""
        self._session.post_json(
            "admin/security/passwordPolicy/update", {"passwordPolicy": json.dumps(fields)}
        )
