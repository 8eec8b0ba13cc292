"""The site's transport rules, applied before a request is authenticated.

With HTTPS only (or an Administrator API limited to HTTPS) a plain HTTP request that carries
a token or a password is refused with ArcGIS's 403 "SSL Required", so that it is never
accepted, and any other GET is redirected to the same URL on this machine's HTTPS port. The
Administrator API also answers only the addresses ``allowedAdminAccessIPs`` lists.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from geosite.errors import Forbidden, SslRequired
from geosite.http.errors import ADMIN
from geosite.http.origin import Origin, without_port
from geosite.http.params import Params
from geosite.http.render import SECURITY_HEADERS
from geosite.http.state import AppState

_SECRET_PARAMS = ("token", "password")


def _carries_secret(request: Request, params: Params) -> bool:
    if any(params.get(name) for name in _SECRET_PARAMS):
        return True
    return any(
        request.headers.get(header, "")[:7].lower() == "bearer "
        for header in ("x-esri-authorization", "authorization")
    )


def check_transport(
    request: Request, state: AppState, area_name: str, params: Params, where: Origin
) -> Response | None:
    """A redirect to HTTPS when the request must move there; raise when it must be refused.

    Behind a trusted proxy the scheme and host are the ones the client used (the proxy
    terminates TLS), and so is the address the admin address list is checked against.
    """
    runtime = state.open_site()
    if runtime is None:
        return None
    config = runtime.security_config()
    admin = area_name == ADMIN
    if admin and not config.admin_ip_allowed(where.client_ip):
        raise Forbidden(details=["The Administrator API is not open to this address."])
    if where.scheme == "https":
        return None
    if not (config.https_only or (admin and config.admin_needs_https())):
        return None
    if _carries_secret(request, params) or request.method not in ("GET", "HEAD"):
        raise SslRequired(details=["This site accepts tokens and passwords only over HTTPS."])
    public = runtime.system_properties().web_context_url
    context = state.settings.context_path
    if public.startswith("https://") and request.url.path.startswith(context):
        query = "?" + request.url.query if request.url.query else ""
        target = public + request.url.path[len(context) :] + query
    elif where.proxied:  # the proxy's own HTTPS address, not this machine's port
        target = str(request.url.replace(scheme="https", netloc=without_port(where.host)))
    else:
        target = str(request.url.replace(scheme="https", port=state.settings.https_port))
    return RedirectResponse(target, status_code=301, headers=SECURITY_HEADERS)
