"""The Python client library: speaks the HTTP contract only (httpx), never server modules.

It works against geosite and against ArcGIS Server alike::

    from geosite.client import Site

    with Site.connect("https://gis.example.com:6443/arcgis", "admin", password) as site:
        for service in site.services.match(["Maps/*"]):
            site.services.stop(service)
        for record in site.logs.query(level="SEVERE", limit=50):
            print(record["time"], record["source"], record["message"])

Errors are raised whenever an answer is one of the two ArcGIS error envelopes, even inside
an HTTP 200 (the tree is in ``geosite.client._errors``).
"""

from __future__ import annotations

from geosite.client._errors import (
    ClientError,
    ConnectionFailed,
    InvalidToken,
    LoginFailed,
    LoginRequired,
    NotFound,
    PermissionDenied,
    ServerError,
    TokenRequired,
)
from geosite.client._services import ServiceRef
from geosite.client._session import Session, Token, site_root
from geosite.client._site import Site

__all__ = [
    "ClientError",
    "ConnectionFailed",
    "InvalidToken",
    "LoginFailed",
    "LoginRequired",
    "NotFound",
    "PermissionDenied",
    "ServerError",
    "ServiceRef",
    "Session",
    "Site",
    "Token",
    "TokenRequired",
    "site_root",
]
