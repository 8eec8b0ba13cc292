"""What a publisher may touch: the services it published and the files it uploaded.

ADMINISTER may manage everything. PUBLISH may upload, publish, and manage (read, start,
stop, edit, rename, delete) the services it published itself; its uploads are its own too.
Services and uploads record the user who made them (``owner``); those made before owners
were recorded have none, so only administrators manage them.
"""

from __future__ import annotations

from geosite.core.models import Principal, Privilege
from geosite.errors import Forbidden


def is_administrator(principal: Principal | None) -> bool:
    """Whether the caller holds ADMINISTER."""
    return principal is not None and principal.privilege >= Privilege.ADMINISTER


def owner_of_new(principal: Principal | None) -> str:
    """The owner to record for something the caller creates."""
    return principal.username if principal is not None else ""


def may_manage(principal: Principal | None, owner: str) -> bool:
    """Whether the caller may manage a service or upload owned by ``owner``."""
    if is_administrator(principal):
        return True
    return (
        principal is not None
        and principal.privilege >= Privilege.PUBLISH
        and bool(owner)
        and owner.lower() == principal.username.lower()
    )


def check_manage(principal: Principal | None, owner: str) -> None:
    """Raise ArcGIS's 403 unless the caller may manage what ``owner`` made."""
    if not may_manage(principal, owner):
        raise Forbidden()
