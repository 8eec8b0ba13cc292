"""Caching headers: nothing personal is ever stored by a cache; public answers revalidate.

* Answers that depend on who asks (any request that carries a token or the login cookie, the
  Administrator API, the token service), errors, redirects and anything but GET or HEAD carry
  ``Cache-Control: private, no-store``: a proxy or a desktop client that caches by URL (QGIS
  does) never shows one user's answer to another.
* Public answers (service metadata, query results, the Services Directory, asked for without a
  token) carry a strong ``ETag`` made from the answer's bytes, so it changes exactly when the
  service or its data changes, with ``Cache-Control: no-cache`` (keep it, but ask first) and
  ``Vary`` on the headers that carry a token. ``If-None-Match`` with the current tag answers
  ``304 Not Modified`` without a body.
"""

from __future__ import annotations

import hashlib

from starlette.requests import Request
from starlette.responses import Response

PRIVATE = "private, no-store"
REVALIDATE = "no-cache"
VARY = "X-Esri-Authorization, Authorization, Cookie"


def _tag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def _matches(header: str, tag: str) -> bool:
    if header.strip() == "*":
        return True
    return any(item.strip().removeprefix("W/") == tag for item in header.split(","))


def apply(request: Request, response: Response, *, public: bool) -> Response:
    """Set the caching headers of ``response``; a 304 replaces it when the client is current."""
    body = getattr(response, "body", None)
    if (
        not public
        or request.method not in ("GET", "HEAD")
        or response.status_code != 200
        or not isinstance(body, bytes)
    ):
        response.headers["cache-control"] = PRIVATE
        return response
    tag = _tag(body)
    if _matches(request.headers.get("if-none-match", ""), tag):
        headers = {
            name: value
            for name, value in response.headers.items()
            if name not in ("content-length", "content-type")
        }
        response = Response(status_code=304, headers=headers)
    response.headers["etag"] = tag
    response.headers["cache-control"] = REVALIDATE
    response.headers["vary"] = VARY
    return response
