"""``create_app(settings)``: the ASGI application. Nothing is built at import time."""

from __future__ import annotations

import gc
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from geosite.core.clock import Clock, SystemClock
from geosite.engines import repair_pool
from geosite.http import admin, caching, manager, openapi, rest
from geosite.http.dispatch import Area, handle
from geosite.http.errors import ADMIN, REST
from geosite.http.render import SECURITY_HEADERS
from geosite.http.routing import Router
from geosite.http.state import AppState
from geosite.settings import Settings

_STATIC = Path(__file__).parent / "static"
_METHODS = ["GET", "POST", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"]


class CollapseSlashes:
    """Serve ``/arcgis/admin/services//Countries.FeatureServer/stop`` as ArcGIS Server does:
    repeated slashes in a path count as one (scripts build root services' URLs from
    ``folderName: "/"``, and tools name services ``folder//name``). Only the path changes;
    the query string, with any token in it, is passed on as sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with its path's slashes collapsed."""
        if scope["type"] == "http" and "//" in scope["path"]:
            scope = dict(scope)
            scope["path"] = _SLASHES.sub("/", scope["path"])
            raw = scope.get("raw_path")
            if isinstance(raw, bytes):
                scope["raw_path"] = _RAW_SLASHES.sub(b"/", raw)
        await self.app(scope, receive, send)


_SLASHES = re.compile("/{2,}")
_RAW_SLASHES = re.compile(b"/{2,}")


def create_app(settings: Settings, clock: Clock | None = None) -> Starlette:
    """Build the application for one process; the site is opened at startup."""
    state = AppState(settings=settings, clock=clock or SystemClock())
    context = settings.context_path
    areas = [
        Area(ADMIN, f"{context}/admin", Router(admin.ENDPOINTS), "Admin"),
        Area(REST, f"{context}/rest", Router(rest.REST_ENDPOINTS), "Rest", public_answers=True),
        Area(REST, f"{context}/tokens", Router(rest.TOKEN_ENDPOINTS), "Tokens"),
    ]
    folded_context = context.lower()
    manager_prefix = f"{context}/manager"
    # Outside the ArcGIS areas a JSON answer carries a real 404, as ArcGIS Server's web
    # server answers there: arcrest tries /tokens/generateToken first and moves on to the
    # next URL only on an HTTP error.
    elsewhere = Area(REST, "", Router([]), "Rest", error_status=True)
    api = orjson.dumps(openapi.document([(a.prefix, a.router.endpoints) for a in areas]))

    async def entry(request: Request) -> Response:
        path = request.url.path
        folded = path.lower()
        if folded == f"{folded_context}/rest/openapi.json":
            document = Response(api, media_type="application/json", headers=SECURITY_HEADERS)
            return caching.apply(request, document, caching.tag(request, document, public=True))
        for area in areas:
            if folded == area.prefix or folded.startswith(area.prefix + "/"):
                rel = path[len(area.prefix) :].rstrip("/") or "/"
                return await handle(request, state, area, rel)
        if folded in ("/", folded_context, folded_context + "/"):
            return RedirectResponse(f"{context}/admin/", status_code=302, headers=SECURITY_HEADERS)
        if folded == manager_prefix.lower() or folded.startswith(manager_prefix.lower() + "/"):
            found = await manager.serve(request, state, areas[0], path[: len(manager_prefix)])
            if found is not None:
                return found
        if folded == f"{folded_context}/static/geosite.css":
            # FileResponse sends Last-Modified and an ETag; caches keep it an hour.
            headers = {**SECURITY_HEADERS, "cache-control": "public, max-age=3600"}
            return FileResponse(_STATIC / "geosite.css", headers=headers)
        # Anything else is answered as the REST area answers an unknown resource.
        return await handle(request, state, elsewhere, path)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.open_site()
        # What start-up allocated stays for the process's life: keep it out of the garbage
        # collector's full passes (they showed as 40 ms pauses in the query benchmark).
        gc.freeze()
        try:
            yield
        finally:
            state.close()
            repair_pool.shutdown()  # the geometry repair workers of this process

    async def unmatched(request: Request, exc: Exception) -> Response:
        # The route's pattern cannot match a path with a line break (``%0A``): answer it
        # here too, with an envelope, rather than Starlette's plain-text 404.
        return await entry(request)

    app = Starlette(
        routes=[Route("/{path:path}", entry, methods=_METHODS)],
        lifespan=lifespan,
        exception_handlers={404: unmatched},
        middleware=[Middleware(CollapseSlashes)],
    )
    app.state.geosite = state
    return app
