"""Users and roles of the built-in identity store, as ``/admin/security`` manages them.

Usernames and role names are checked (letters, digits and ``_ . @ -``, at most 128); passwords
follow the site's password policy (``password_policy``).
Removing a user, changing its password or its roles (membership, a removed role, a role
privilege that changes its own), or disabling it ends its tokens: the store moves its
credential version, or the user is gone. A user made again under a removed user's name (in any
case) gets a new random identifier (``User.user_id``), which the old tokens do not name.
The primary site administrator cannot be removed here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from geosite.core import password_policy, passwords
from geosite.core.models import Privilege, Role, User
from geosite.errors import Conflict, InvalidParameter, NotFound
from geosite.storage.base import SiteStore

_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,128}$")
_TEXT_LIMIT = 4096


def _name(value: str | None, what: str) -> str:
    name = (value or "").strip()
    if not _NAME.match(name):
        raise InvalidParameter(
            f"Invalid {what} '{name[:64]}'. Use 1 to 128 letters, digits, '_', '.', '@' or '-'."
        )
    return name


def _text(value: str | None, what: str) -> str:
    text = value or ""
    if len(text) > _TEXT_LIMIT:
        raise InvalidParameter(f"The {what} is too long.")
    return text


def names(value: str | None) -> list[str]:
    """A comma-separated list of names (users or roles), each checked."""
    return [_name(part, "name") for part in (value or "").split(",") if part.strip()]


def user(store: SiteStore, username: str | None) -> User:
    """An existing user, or NotFound."""
    found = store.get_user(_name(username, "username"))
    if found is None:
        raise NotFound(f"User '{(username or '')[:64]}' does not exist.")
    return found


def role(store: SiteStore, rolename: str | None) -> Role:
    """An existing role, or NotFound."""
    found = store.get_role(_name(rolename, "role name"))
    if found is None:
        raise NotFound(f"Role '{(rolename or '')[:64]}' does not exist.")
    return found


def add_user(
    store: SiteStore,
    username: str | None,
    password: str | None,
    fullname: str | None = "",
    description: str | None = "",
    email: str | None = "",
) -> User:
    """``users/add``."""
    name = _name(username, "username")
    secret = password_policy.check(store, name, password)
    created = User(
        username=name,
        password_hash=passwords.hash_password(secret),
        fullname=_text(fullname, "full name"),
        description=_text(description, "description"),
        email=_text(email, "email"),
    )
    store.add_user(created)
    return created


def update_user(
    store: SiteStore,
    username: str | None,
    fullname: str | None,
    description: str | None,
    email: str | None,
    password: str | None = None,
    disabled: Disabling | None = None,
) -> None:
    """``users/update``: the profile, the password when one is given, and (geosite's
    ``disabled``) whether the user may sign in; everything is checked before anything changes."""
    found = user(store, username)
    texts = (
        _text(fullname if fullname is not None else found.fullname, "full name"),
        _text(description if description is not None else found.description, "description"),
        _text(email if email is not None else found.email, "email"),
    )
    secret = password_policy.check(store, found.username, password) if password else None
    if disabled is not None:
        _check_disabling(store, found, disabled)
    store.update_user(found.username, *texts)
    if secret:
        store.set_password(found.username, passwords.hash_password(secret))
    if disabled is not None and found.disabled != disabled.disabled:
        store.set_user_disabled(found.username, disabled.disabled)


@dataclass(frozen=True)
class Disabling:
    """A ``disabled`` value of ``users/update``, with what deciding it needs: who asks, and
    each user's privilege."""

    disabled: bool
    caller: str
    privilege_of: Callable[[User], Any]


def _check_disabling(store: SiteStore, found: User, change: Disabling) -> None:
    """Refuse disabling the primary site administrator (``psa/disable`` is its own operation),
    the caller's own account, or the last enabled account that can administer the site."""
    if found.disabled == change.disabled:
        return
    if found.is_psa:
        raise InvalidParameter(
            "The primary site administrator is disabled and enabled with security/psa/disable "
            "and security/psa/enable."
        )
    if not change.disabled:
        return
    if found.username.lower() == change.caller.lower():
        raise InvalidParameter("You cannot disable your own account: you would be locked out.")
    _keep_an_administrator(store, found, change.privilege_of)


def _keep_an_administrator(
    store: SiteStore, going: User, privilege_of: Callable[[User], Any]
) -> None:
    """Refuse taking ``going`` away when no other enabled account could administer the site."""
    if going.disabled or not (going.is_psa or privilege_of(going) == Privilege.ADMINISTER):
        return
    others, _ = store.search_users("", 100_000)
    if not any(
        not u.disabled
        and u.username != going.username
        and (u.is_psa or privilege_of(u) == Privilege.ADMINISTER)
        for u in others
    ):
        raise Conflict("The site must keep an enabled user who can administer it.")


def change_password(store: SiteStore, username: str | None, password: str | None) -> None:
    """A new password: every token of the user ends."""
    found = user(store, username)
    secret = password_policy.check(store, found.username, password)
    store.set_password(found.username, passwords.hash_password(secret))


def remove_user(
    store: SiteStore,
    username: str | None,
    caller: str = "",
    privilege_of: Callable[[User], Any] | None = None,
) -> None:
    """``users/remove``: its tokens end with it (they name an identifier no user will have).
    Not the primary site administrator, not the caller's own account, and (given
    ``privilege_of``) not the last enabled account that can administer the site."""
    found = user(store, username)
    if found.is_psa:
        raise Conflict("The primary site administrator cannot be removed.")
    if caller and found.username.lower() == caller.lower():
        raise InvalidParameter("You cannot remove your own account: you would be locked out.")
    if privilege_of is not None:
        _keep_an_administrator(store, found, privilege_of)
    store.delete_user(found.username)


def add_role(store: SiteStore, rolename: str | None, description: str | None) -> Role:
    """``roles/add`` (privilege ACCESS until one is assigned)."""
    name = _name(rolename, "role name")
    if name.lower() == "esrieveryone":
        raise InvalidParameter("'esriEveryone' is reserved.")
    store.add_role(name, _text(description, "description"), Privilege.ACCESS)
    found = store.get_role(name)
    if found is None:  # removed by another request in between
        raise Conflict(f"Role '{name}' was removed while it was being added.")
    return found


def privilege(value: str | None) -> Privilege:
    """A privilege by name (ADMINISTER, PUBLISH or ACCESS)."""
    text = (value or "").strip().upper()
    if text not in Privilege.__members__:
        raise InvalidParameter("'privilege' must be ADMINISTER, PUBLISH or ACCESS.")
    return Privilege[text]


def add_members(store: SiteStore, rolename: str | None, usernames: Sequence[str]) -> None:
    """Put users in a role (each must exist)."""
    found = role(store, rolename)
    members = [user(store, name).username for name in usernames]
    store.add_role_members(found.rolename, members)


def assign_roles(store: SiteStore, username: str | None, rolenames: Sequence[str]) -> None:
    """Put a user in roles: every role must exist, or none is changed."""
    found = user(store, username)
    for checked in [role(store, name) for name in rolenames]:
        store.add_role_members(checked.rolename, [found.username])


def remove_members(store: SiteStore, rolename: str | None, usernames: Sequence[str]) -> None:
    """Take users out of a role."""
    found = role(store, rolename)
    store.remove_role_members(found.rolename, list(usernames))


def psa(store: SiteStore) -> User:
    """The primary site administrator's account."""
    site = store.get_setting("site") or {}
    found = store.get_user(str(site.get("psa", "")))
    if found is None:
        raise NotFound("The site has no primary site administrator.")
    return found


def update_psa(store: SiteStore, username: str | None, password: str | None) -> None:
    """``psa/update``: a new name and/or password; the account's tokens end."""
    account = psa(store)
    name = _name(username, "username") if username else account.username
    if password:
        password_policy.check(store, name, password)
    if name != account.username:
        store.rename_user(account.username, name)
        site = dict(store.get_setting("site") or {})
        store.put_setting("site", {**site, "psa": name})
    if password:
        store.set_password(name, passwords.hash_password(password))


def set_psa_disabled(store: SiteStore, disabled: bool, privilege_of: Callable[[User], Any]) -> None:
    """``psa/disable`` and ``psa/enable``.

    Disabling is refused unless another enabled user holds ADMINISTER through a role: the site
    must keep someone who can administer it. Asking for the state it is in changes nothing
    (its tokens go on working).
    """
    account = psa(store)
    if account.disabled == disabled:
        return
    if disabled:
        others, _ = store.search_users("", 100_000)
        administrators = [
            u
            for u in others
            if not u.is_psa and not u.disabled and privilege_of(u) == Privilege.ADMINISTER
        ]
        if not administrators:
            raise Conflict(
                "Give another user a role with the ADMINISTER privilege before disabling the "
                "primary site administrator."
            )
    store.set_user_disabled(account.username, disabled)
