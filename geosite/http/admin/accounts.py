"""``/arcgis/admin/security/users`` and ``/security/roles``: the built-in identity store."""

from __future__ import annotations

from typing import Any

from geosite.core import accounts
from geosite.http.routing import OPERATION, Call, Endpoint, Field
from geosite.http.tokens import decrypted

_USER = Field("username", "Username", required=True)
_ROLE = Field("rolename", "Role name", required=True)
_PRIVILEGE = Field(
    "privilege", "Privilege", kind="select", options=("ACCESS", "PUBLISH", "ADMINISTER")
)


def _store(call: Call) -> Any:
    return call.state.require_site().site.store


def _success() -> dict[str, Any]:
    return {"status": "success"}


def _page(call: Call) -> tuple[int, int]:
    start = call.params.integer("startIndex", 0, minimum=0, maximum=1_000_000) or 0
    size = call.params.integer("pageSize", 10, minimum=1, maximum=10_000) or 10
    return start, size


# -- users --------------------------------------------------------------------------------------


def get_users(call: Call) -> dict[str, Any]:
    """``users/getUsers`` (``startIndex``, ``pageSize``)."""
    start, size = _page(call)
    found, more = _store(call).search_users("", start + size)
    return {"users": [u.public() for u in found[start:]], "hasMore": more}


def add_user(call: Call) -> dict[str, Any]:
    """``users/add`` (``username``, ``password``, ``fullname``, ``description``, ``email``);
    the password may come encrypted (``encrypted=true``)."""
    p = decrypted(call, ("password",))
    accounts.add_user(
        _store(call),
        p.get("username"),
        p.get("password"),
        p.get("fullname"),
        p.get("description"),
        p.get("email"),
    )
    return _success()


def update_user(call: Call) -> dict[str, Any]:
    """``users/update`` (profile fields; ``password`` optional, and may come encrypted;
    ``disabled`` true or false, geosite's way to disable a user other than the primary site
    administrator)."""
    p = decrypted(call, ("password",))
    disabling = None
    if call.params.get("disabled") is not None:
        disabling = accounts.Disabling(
            call.params.boolean("disabled"),
            call.principal.username if call.principal else "",
            call.state.require_site().auth.privilege_of,
        )
    accounts.update_user(
        _store(call),
        p.get("username"),
        p.get("fullname"),
        p.get("description"),
        p.get("email"),
        p.get("password"),
        disabling,
    )
    return _success()


def remove_user(call: Call) -> dict[str, Any]:
    """``users/remove``."""
    accounts.remove_user(
        _store(call),
        call.params.get("username"),
        call.principal.username if call.principal else "",
        call.state.require_site().auth.privilege_of,
    )
    return _success()


def change_password(call: Call) -> dict[str, Any]:
    """``users/changePassword`` (``username``, ``password``, which may come encrypted): the
    user's tokens end."""
    p = decrypted(call, ("password",))
    accounts.change_password(_store(call), p.get("username"), p.get("password"))
    return _success()


def get_user_roles(call: Call) -> dict[str, Any]:
    """``users/getRoles`` and ``roles/getRolesForUser`` (``username``, ``filter``, ``maxCount``).

    The names of the user's roles; ``filter`` keeps those whose name contains it (any case),
    ``maxCount`` cuts the list, and ``hasMore`` says whether it did.
    """
    found = accounts.user(_store(call), call.params.get("username"))
    wanted = (call.params.get("filter") or "").casefold()
    size = call.params.integer("maxCount", 100_000, minimum=1, maximum=100_000) or 100_000
    names = [r for r in _store(call).user_roles(found.username) if wanted in r.casefold()]
    return {"roles": names[:size], "hasMore": len(names) > size}


def assign_roles(call: Call) -> dict[str, Any]:
    """``users/assignRoles`` (``username``, ``roles``: comma-separated)."""
    accounts.assign_roles(
        _store(call), call.params.get("username"), accounts.names(call.params.get("roles"))
    )
    return _success()


def remove_roles(call: Call) -> dict[str, Any]:
    """``users/removeRoles`` (``username``, ``roles``)."""
    store = _store(call)
    found = accounts.user(store, call.params.get("username"))
    for rolename in accounts.names(call.params.get("roles")):
        accounts.remove_members(store, rolename, [found.username])
    return _success()


def user_privilege(call: Call) -> dict[str, Any]:
    """``users/getPrivilege`` (``username``)."""
    store = _store(call)
    found = accounts.user(store, call.params.get("username"))
    level = call.state.require_site().auth.privilege_of(found)
    return {"privilege": level.name if level else "ACCESS"}


# -- roles --------------------------------------------------------------------------------------


def roles(call: Call) -> dict[str, Any]:
    """``GET /admin/security/roles``."""
    _store(call)
    return {"roleStoreType": "BUILTIN"}


def get_roles(call: Call) -> dict[str, Any]:
    """``roles/getRoles`` (``startIndex``, ``pageSize``)."""
    start, size = _page(call)
    found, more = _store(call).search_roles("", start + size)
    return {"roles": [r.public() for r in found[start:]], "hasMore": more}


def search_roles(call: Call) -> dict[str, Any]:
    """``roles/search`` (``filter``, ``maxCount``)."""
    size = call.params.integer("maxCount", 100, minimum=1, maximum=10_000) or 100
    found, more = _store(call).search_roles(call.params.get("filter") or "", size)
    return {"roles": [r.public() for r in found], "hasMore": more}


def add_role(call: Call) -> dict[str, Any]:
    """``roles/add`` (``rolename``, ``description``)."""
    accounts.add_role(_store(call), call.params.get("rolename"), call.params.get("description"))
    return _success()


def update_role(call: Call) -> dict[str, Any]:
    """``roles/update`` (``rolename``, ``description``)."""
    found = accounts.role(_store(call), call.params.get("rolename"))
    _store(call).update_role(found.rolename, description=call.params.get("description") or "")
    return _success()


def remove_role(call: Call) -> dict[str, Any]:
    """``roles/remove``: its members lose what it gave them, at once."""
    found = accounts.role(_store(call), call.params.get("rolename"))
    _store(call).delete_role(found.rolename)
    return _success()


def users_within_role(call: Call) -> dict[str, Any]:
    """``roles/getUsersWithinRole`` (``rolename``, ``maxCount``)."""
    found = accounts.role(_store(call), call.params.get("rolename"))
    size = call.params.integer("maxCount", 1000, minimum=1, maximum=100_000) or 1000
    members = _store(call).role_members(found.rolename)
    return {"users": members[:size], "hasMore": len(members) > size}


def add_users_to_role(call: Call) -> dict[str, Any]:
    """``roles/addUsersToRole`` (``rolename``, ``users``: comma-separated)."""
    members = accounts.names(call.params.get("users"))
    accounts.add_members(_store(call), call.params.get("rolename"), members)
    return _success()


def remove_users_from_role(call: Call) -> dict[str, Any]:
    """``roles/removeUsersFromRole`` (``rolename``, ``users``)."""
    members = accounts.names(call.params.get("users"))
    accounts.remove_members(_store(call), call.params.get("rolename"), members)
    return _success()


def assign_privilege(call: Call) -> dict[str, Any]:
    """``roles/assignPrivilege`` (``rolename``, ``privilege``)."""
    found = accounts.role(_store(call), call.params.get("rolename"))
    level = accounts.privilege(call.params.get("privilege"))
    _store(call).update_role(found.rolename, privilege=level)
    return _success()


def role_privilege(call: Call) -> dict[str, Any]:
    """``roles/getPrivilege`` (``rolename``)."""
    found = accounts.role(_store(call), call.params.get("rolename"))
    return {"privilege": found.privilege.name}


def roles_by_privilege(call: Call) -> dict[str, Any]:
    """``roles/getRolesByPrivilege`` (``privilege``)."""
    level = accounts.privilege(call.params.get("privilege"))
    found, _ = _store(call).search_roles("", 100_000)
    return {"roles": [r.rolename for r in found if r.privilege == level]}


def _op(path: str, handler: Any, title: str, *fields: Field, read: bool = False) -> Endpoint:
    return Endpoint(path, handler, kind=OPERATION, title=title, fields=fields, allow_get=read)


_PASSWORD = Field("password", "Password", kind="password")
_PROFILE = (Field("fullname", "Full name"), Field("description"), Field("email", "Email"))

USER_OPERATIONS = (
    "search",
    "getUsers",
    "add",
    "update",
    "remove",
    "changePassword",
    "getRoles",
    "assignRoles",
    "removeRoles",
    "getPrivilege",
)
ROLE_OPERATIONS = (
    "getRoles",
    "search",
    "add",
    "update",
    "remove",
    "getUsersWithinRole",
    "addUsersToRole",
    "removeUsersFromRole",
    "assignPrivilege",
    "getPrivilege",
    "getRolesByPrivilege",
    "getRolesForUser",
)

ENDPOINTS = [
    _op(
        "/security/users/getUsers",
        get_users,
        "Get Users",
        Field("startIndex"),
        Field("pageSize"),
        read=True,
    ),
    _op("/security/users/add", add_user, "Add User", _USER, _PASSWORD, *_PROFILE),
    _op(
        "/security/users/update",
        update_user,
        "Update User",
        _USER,
        *_PROFILE,
        _PASSWORD,
        Field("disabled", "Disabled", kind="select", options=("", "false", "true")),
    ),
    _op("/security/users/remove", remove_user, "Remove User", _USER),
    _op("/security/users/changePassword", change_password, "Change Password", _USER, _PASSWORD),
    _op(
        "/security/users/getRoles",
        get_user_roles,
        "Get Roles",
        _USER,
        Field("filter"),
        Field("maxCount"),
        read=True,
    ),
    _op(
        "/security/users/assignRoles", assign_roles, "Assign Roles", _USER, Field("roles", "Roles")
    ),
    _op(
        "/security/users/removeRoles", remove_roles, "Remove Roles", _USER, Field("roles", "Roles")
    ),
    _op("/security/users/getPrivilege", user_privilege, "Get Privilege", _USER, read=True),
    Endpoint("/security/roles", roles, title="Roles", operations=ROLE_OPERATIONS),
    _op(
        "/security/roles/getRoles",
        get_roles,
        "Get Roles",
        Field("startIndex"),
        Field("pageSize"),
        read=True,
    ),
    _op(
        "/security/roles/search",
        search_roles,
        "Search Roles",
        Field("filter"),
        Field("maxCount"),
        read=True,
    ),
    _op("/security/roles/add", add_role, "Add Role", _ROLE, Field("description")),
    _op("/security/roles/update", update_role, "Update Role", _ROLE, Field("description")),
    _op("/security/roles/remove", remove_role, "Remove Role", _ROLE),
    _op(
        "/security/roles/getUsersWithinRole",
        users_within_role,
        "Users Within Role",
        _ROLE,
        Field("maxCount"),
        read=True,
    ),
    _op(
        "/security/roles/addUsersToRole",
        add_users_to_role,
        "Add Users To Role",
        _ROLE,
        Field("users", "Users"),
    ),
    _op(
        "/security/roles/removeUsersFromRole",
        remove_users_from_role,
        "Remove Users From Role",
        _ROLE,
        Field("users", "Users"),
    ),
    _op("/security/roles/assignPrivilege", assign_privilege, "Assign Privilege", _ROLE, _PRIVILEGE),
    _op("/security/roles/getPrivilege", role_privilege, "Get Privilege", _ROLE, read=True),
    _op(
        "/security/roles/getRolesForUser",
        get_user_roles,
        "Get Roles For User",
        _USER,
        Field("filter"),
        Field("maxCount"),
        read=True,
    ),
    _op(
        "/security/roles/getRolesByPrivilege",
        roles_by_privilege,
        "Roles By Privilege",
        _PRIVILEGE,
        read=True,
    ),
]
