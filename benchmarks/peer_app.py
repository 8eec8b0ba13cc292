"""The framework floor: a trivial Starlette app answering a small JSON dict.

Served by ``uvicorn --workers 2 --http httptools`` next to geosite, it shows what the stack
(uvicorn, httptools, uvloop, Starlette) costs per request with no application code at all.
The payload has the shape and size of geosite's ``GET /arcgis/admin?f=json`` answer.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

PAYLOAD = {
    "resources": [
        "machines",
        "clusters",
        "system",
        "services",
        "security",
        "data",
        "uploads",
        "logs",
        "mode",
        "usagereports",
        "info",
    ],
    "currentVersion": 11.3,
    "fullVersion": "11.3.0",
    "acceptLanguage": None,
}


async def root(request: Request) -> JSONResponse:
    return JSONResponse(PAYLOAD)


app = Starlette(routes=[Route("/", root)])
