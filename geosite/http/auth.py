"""Where a request's token comes from, and who it stands for.

Sources, in order: the ``token`` parameter (query or form), ``X-Esri-Authorization: Bearer``,
``Authorization: Bearer``, and the login cookie of the Administrator Directory.
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.requests import Request

from geosite.http.params import Params

COOKIE = "AGS_ADMIN_TOKEN"


def token_from(request: Request, params: Params) -> tuple[str | None, bool]:
    """Return (token, came_from_cookie)."""
    token = params.get("token")
    if token:
        return token.strip(), False
    for header in ("x-esri-authorization", "authorization"):
        value = request.headers.get(header, "")
        if value[:7].lower() == "bearer " and value[7:].strip():
            return value[7:].strip(), False
    cookie = request.cookies.get(COOKIE)
    if cookie:
        return cookie, True
    return None, False


def csrf_token_for(token: str) -> str:
    """The CSRF token that forms must echo when the login lives in a cookie.

    It is derived from the (HttpOnly) cookie token itself, so another site can neither read
    nor compute it, and every worker computes the same value.
    """
    return hashlib.sha256(b"geosite-csrf:" + token.encode()).hexdigest()[:40]


def csrf_ok(expected: str, presented: str | None) -> bool:
    """Constant-time check of a presented CSRF token against the expected one."""
    return bool(expected) and presented is not None and hmac.compare_digest(expected, presented)
