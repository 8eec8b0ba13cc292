"""The one place where domain errors become ArcGIS error envelopes.

Two faces, both sent with HTTP 200 as ArcGIS does (HTML pages get a real status):

* the Administrator API: ``{"status":"error","messages":[...],"code":N}``
* the REST services and the token service: ``{"error":{"code":N,"message":"...","details":[...]}}``
"""

from __future__ import annotations

from typing import Any

from geosite.errors import GeositeError, InvalidToken, TokenRequired

ADMIN = "admin"
REST = "rest"

# HTTP statuses for HTML pages (JSON answers always use 200, as ArcGIS does).
_HTML_STATUS = {400: 400, 403: 403, 404: 404, 405: 405, 409: 409, 498: 401, 499: 401, 500: 500}


def html_status(error: GeositeError) -> int:
    """The HTTP status of an HTML error page."""
    return _HTML_STATUS.get(error.code, 400 if error.code < 500 else 500)


def envelope(error: GeositeError, area: str) -> dict[str, Any]:
    """The error body for ``area`` (``admin`` or ``rest``)."""
    if area == ADMIN:
        return {"status": "error", "messages": error.messages + error.details, "code": error.code}
    if isinstance(error, TokenRequired):
        return {
            "error": {
                "code": 499,
                "message": "Token Required",
                "messageCode": "GWM_0003",
                "details": ["Token Required"],
            }
        }
    if isinstance(error, InvalidToken):
        return {
            "error": {
                "code": 498,
                "message": "Invalid Token",
                "details": error.messages + error.details,
            }
        }
    return {
        "error": {
            "code": error.code,
            "message": error.messages[0],
            "details": error.messages[1:] + error.details,
        }
    }
