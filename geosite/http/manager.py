"""``/arcgis/manager``: Server Manager, the web app built from ``manager/`` (``make manager``).

The app is static files and calls only the public Administrator API and token service, so
whatever it does a script can do too. This module serves ``index.html`` (never cached, under
a CSP that allows no inline script and no other origin) and the built assets (named by their
content, so cached for a year), compressed with gzip when the browser accepts it. The page
follows the Administrator API's transport rules: HTTPS only moves it to HTTPS, and
``allowedAdminAccessIPs`` applies to it as to the API it calls.
"""

from __future__ import annotations

import gzip
import os
import re
from functools import lru_cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from geosite.errors import GeositeError
from geosite.http import pages
from geosite.http.dispatch import Area, origin_of
from geosite.http.params import Params
from geosite.http.policy import check_transport
from geosite.http.render import HTML_HEADERS, SECURITY_HEADERS
from geosite.http.state import AppState

SHIPPED = Path(__file__).parent / "static" / "manager"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
PAGE_HEADERS = {**SECURITY_HEADERS, **HTML_HEADERS, "content-security-policy": CSP}
# Assets are named by their content hash (build.mjs), so a name never changes its bytes.
ASSET_HEADERS = {**SECURITY_HEADERS, "cache-control": "public, max-age=31536000, immutable"}
_ASSET = re.compile(r"^/assets/([A-Za-z0-9_-]+\.[a-z0-9]+)$")
_TYPES = {
    "js": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "png": "image/png",
    "svg": "image/svg+xml",
    "html": "text/html; charset=utf-8",
}
# Text compresses; images are compressed already.
_COMPRESSED = ("js", "css", "svg", "html")


def built() -> Path:
    """Where the built Manager is: the package's copy, or ``$GEOSITE_MANAGER_BUILD`` (a
    directory ``node manager/build.mjs DIR`` wrote, to try a change without replacing it)."""
    return Path(os.environ.get("GEOSITE_MANAGER_BUILD") or SHIPPED)


@lru_cache(maxsize=64)
def _read(path: Path, changed_ns: int) -> tuple[bytes, bytes]:
    """A built file's bytes and their gzip (level 9, no timestamp), read once per version."""
    body = path.read_bytes()
    return body, gzip.compress(body, compresslevel=9, mtime=0)


def _file(request: Request, name: str, headers: dict[str, str]) -> Response | None:
    path = built() / name
    try:
        found = _read(path, path.stat().st_mtime_ns) if path.is_file() else None
    except OSError:
        found = None
    if found is None:
        return None
    body, packed = found
    kind = name.rsplit(".", 1)[-1]
    extra = {"vary": "Accept-Encoding"} if kind in _COMPRESSED else {}
    if kind in _COMPRESSED and "gzip" in request.headers.get("accept-encoding", "").lower():
        body, extra = packed, {**extra, "content-encoding": "gzip"}
    return Response(body, media_type=_TYPES.get(kind), headers={**headers, **extra})


async def serve(request: Request, state: AppState, admin: Area, prefix: str) -> Response | None:
    """The Manager's answer to ``request`` under ``prefix`` (``/arcgis/manager``), or None
    when the path is none of its files (the caller answers that as any unknown resource)."""
    rel = request.url.path[len(prefix) :]
    if request.method not in ("GET", "HEAD"):
        return None
    try:
        moved = check_transport(request, state, admin.name, Params({}), origin_of(request))
    except GeositeError as error:
        return pages.error_page(admin, "/manager", error, state, None)
    if moved is not None:
        return moved
    if rel == "":
        return RedirectResponse(prefix + "/", status_code=302, headers=SECURITY_HEADERS)
    if rel in ("/", "/index.html"):
        return _file(request, "index.html", PAGE_HEADERS)
    asset = _ASSET.match(rel)
    if asset is None:
        return None
    return _file(request, "assets/" + asset.group(1), ASSET_HEADERS)
