"""Who may use a service: ArcGIS's permissions on the root, folders and services.

ArcGIS Server's continuous inheritance model: a folder or service takes a copy of its
parent's permissions when it is created (in the store transaction that creates it), and each
can be changed afterwards. Adding or removing a permission on the root or a folder applies it
to everything below, as Manager does when a folder is secured. A service is public when
``esriEveryone`` is allowed on it; a private service is open to users with an allowed role,
and to administrators.
"""

from __future__ import annotations

import re

from geosite.core import ownership
from geosite.core.models import Permission, Principal, Service, service_resource
from geosite.errors import Forbidden, GeositeError, InvalidParameter, TokenRequired
from geosite.storage.base import SiteStore

EVERYONE = "esriEveryone"
ROOT = ""
_PRINCIPAL = re.compile(r"^[^\x00-\x1f\x7f]{1,256}$")


_MODEL_SETTING = "permissionsModel"


def seed_root(store: SiteStore) -> None:
    """A new site: everything is public until an administrator secures it."""
    store.set_permission(ROOT, EVERYONE, True)
    store.put_setting(_MODEL_SETTING, 1)


def migrate(store: SiteStore) -> None:
    """A site created before permissions existed: everything it has stays public."""
    if store.get_setting(_MODEL_SETTING) is not None:
        return
    store.set_permission(ROOT, EVERYONE, True)
    for folder in store.list_folders():
        store.set_permission(folder.name, EVERYONE, True)
    for service in store.list_services():
        store.set_permission(service.resource, EVERYONE, True)
    store.put_setting(_MODEL_SETTING, 1)


def parent_of(service: Service) -> str:
    """The resource a service inherits from: its folder, or the root."""
    return service.folder or ROOT


def _principal(name: str) -> str:
    principal = name.strip()
    if not _PRINCIPAL.match(principal):
        raise InvalidParameter("'principal' must name a role, or esriEveryone.")
    return EVERYONE if principal.lower() == EVERYONE.lower() else principal


def _below(store: SiteStore, resource: str) -> list[str]:
    """The resource and everything that inherits from it (root: all; folder: its services)."""
    if resource == ROOT:
        folders = [f.name for f in store.list_folders()]
        services = [s.resource for s in store.list_services()]
        return [ROOT, *folders, *services]
    if "/" in resource:
        return [resource]
    return [resource, *(s.resource for s in store.list_services(resource))]


def add(store: SiteStore, resource: str, principal: str, is_allowed: bool) -> None:
    """``permissions/add``: allow or deny a principal on the resource and below it."""
    name = _principal(principal)
    for target in _below(store, resource):
        # Only on what still exists: one deleted meanwhile keeps no permission row.
        store.grant_permission(target, name, is_allowed)


def remove(store: SiteStore, resource: str, principal: str) -> None:
    """``permissions/remove``: forget a principal's permission on the resource and below it."""
    name = _principal(principal)
    for target in _below(store, resource):
        store.remove_permission(target, name)


def listing(store: SiteStore, resource: str) -> list[Permission]:
    """The permissions set on a resource."""
    return store.list_permissions(resource)


def is_private(permissions: list[Permission]) -> bool:
    """Whether the resource is closed to anonymous users."""
    return not any(p.is_allowed and p.principal.lower() == EVERYONE.lower() for p in permissions)


def may_use(store: SiteStore, service: Service, principal: Principal | None) -> bool:
    """Whether ``principal`` (None: anonymous) may use the service."""
    permissions = store.list_permissions(
        service_resource(service.folder, service.name, service.type)
    )
    if not is_private(permissions):
        return True
    if principal is None:
        return False
    if ownership.may_manage(principal, service.owner):
        return True  # administrators, and the publisher of the service
    allowed = {p.principal.lower() for p in permissions if p.is_allowed}
    return any(role.lower() in allowed for role in store.user_roles(principal.username))


def check_access(
    store: SiteStore,
    service: Service,
    principal: Principal | None,
    token_error: GeositeError | None = None,
) -> None:
    """Raise ArcGIS's answer when the caller may not use the service.

    Anonymous callers get 499 (or the reason their token was refused, e.g. 498); signed-in
    users without an allowed role get 403.
    """
    if may_use(store, service, principal):
        return
    if principal is None:
        raise token_error if token_error is not None else TokenRequired()
    raise Forbidden()
