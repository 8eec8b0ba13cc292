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


def tag(request: Request, response: Response, *, public: bool) -> str | None:
    """The ``ETag`` of a public answer (None for anything that must not be stored).

    Computed in the worker thread, not on the event loop: SHA-1 (a validator, not a
    signature) runs at about 2 GB/s here and releases the GIL while it hashes.
    """
    body = getattr(response, "body", None)
    if (
        not public
        or request.method not in ("GET", "HEAD")
        or response.status_code != 200
        or not isinstance(body, bytes)
    ):
        return None
    return '"' + hashlib.sha1(body, usedforsecurity=False).hexdigest() + '"'


def _matches(header: str, tag: str) -> bool:
    if header.strip() == "*":
        return True
    return any(item.strip().removeprefix("W/") == tag for item in header.split(","))


def apply(request: Request, response: Response, etag: str | None) -> Response:
    """Set the caching headers: ``private, no-store`` without a tag; else the tag, and a 304
    in place of the answer when the client already has it."""
    if etag is None:
        response.headers["cache-control"] = PRIVATE
        return response
    if _matches(request.headers.get("if-none-match", ""), etag):
        headers = {
            name: value
            for name, value in response.headers.items()
            if name not in ("content-length", "content-type")
        }
        response = Response(status_code=304, headers=headers)
    response.headers["etag"] = etag
    response.headers["cache-control"] = REVALIDATE
    response.headers["vary"] = VARY
    return response
