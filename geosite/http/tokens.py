"""generateToken, shared by ``/arcgis/admin/generateToken`` and ``/arcgis/tokens``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from geosite.core.logs import LogCode
from geosite.core.models import Privilege
from geosite.core.security import LOCKED, IssuedToken
from geosite.errors import Forbidden, GeositeError, LoginFailed, MethodNotAllowed
from geosite.http import metrics
from geosite.http.params import Params
from geosite.http.routing import Call, Field

TOKEN_FIELDS = (
    Field("username", "Username", required=True),
    Field("password", "Password", kind="password", required=True),
    Field("client", "Client", kind="select", options=("requestip", "referer", "ip")),
    Field("referer", "Webapp URL (referer)"),
    Field("ip", "IP address"),
    Field("expiration", "Expiration (minutes)", kind="number"),
)
NO_CREDENTIALS_IN_URL = (
    "Generate Token request should not contain username and password in the query string."
)
POST_ONLY = (
    "Generate Token accepts only POST requests: send username and password in the request "
    "body (the token policy's allowHttpGet is false)."
)


#: The token parameters a client may send encrypted with the site's public key (published
#: libraries encrypt every one they send).
ENCRYPTABLE = ("username", "password", "client", "referer", "ip", "expiration")


def decrypted(call: Call, names: Sequence[str]) -> Params:
    """The call's parameters, with ``names`` decrypted when it says ``encrypted=true``
    (``/admin/publicKey``); a 400 naming the first that does not decrypt."""
    if not call.params.boolean("encrypted"):
        return call.params
    keys = call.state.keys()
    values = {name: call.params.get(name) for name in names}
    return call.params.replaced(
        {name: keys.decrypt(name, value) for name, value in values.items() if value is not None}
    )


def login(call: Call, source: str, minimum: Privilege | None) -> IssuedToken:
    """Check the credentials in ``call`` and issue a token (used by every login route)."""
    runtime = call.state.require_site()
    params = decrypted(call, ENCRYPTABLE)
    username = params.get("username") or ""
    try:
        user = runtime.auth.authenticate(username, params.get("password") or "", call.client_ip)
    except LoginFailed as exc:
        locked = LOCKED in exc.details
        runtime.log.log(
            "SEVERE" if locked else "WARNING",
            LogCode.ACCOUNT_LOCKED if locked else LogCode.LOGIN_FAILED,
            source,
            "Login refused: account or address locked."
            if locked
            else f"Failed login attempt for user '{username[:128]}'.",
            request_id=call.request_id,
        )
        raise
    privilege = runtime.auth.privilege_of(user)
    if minimum is not None and (privilege is None or privilege < minimum):
        raise Forbidden(
            "Unable to generate token.",
            details=["The user has no administrative or publisher privileges."],
        )
    client = params.get("client")
    if client is None:
        client = "referer" if params.get("referer") else "requestip"
    expiration = params.integer("expiration")
    issued = runtime.auth.issue_token(
        user,
        client=client,
        referer=params.get("referer") or "",
        ip=params.get("ip") or "",
        request_ip=call.client_ip,
        expiration_min=expiration if expiration is not None and expiration > 0 else None,
    )
    runtime.log.log(
        "INFO",
        LogCode.TOKEN_ISSUED,
        source,
        f"Token issued to user '{user.username}'.",
        user=user.username,
        request_id=call.request_id,
    )
    return issued


def generate_token(call: Call, *, source: str, minimum: Privilege | None) -> dict[str, Any]:
    """The generateToken operation: ``{"token", "expires", "ssl"}``."""
    runtime = call.state.require_site()
    allow_get = runtime.auth.token_policy().allow_http_get
    if not allow_get and (call.method != "POST" or call.params.in_query("password")):
        in_url = call.params.in_query("password") or call.params.in_query("username")
        raise MethodNotAllowed(
            "Method not supported.", details=[NO_CREDENTIALS_IN_URL if in_url else POST_ONLY]
        )
    try:
        issued = login(call, source, minimum)
    except GeositeError:
        metrics.LOGINS.labels("failure").inc()
        raise
    metrics.LOGINS.labels("success").inc()
    return {"token": issued.token, "expires": issued.expires_ms, "ssl": call.is_https}
