"""The one place where domain errors become ArcGIS error envelopes.

Two faces, both sent with HTTP 200 as ArcGIS does (HTML pages get a real status):

* the Administrator API: ``{"status":"error","messages":[...],"code":N}``
* the REST services and the token service: ``{"error":{"code":N,"message":"...","details":[...]}}``

No answer carries a file-system path, SQL text or a traceback: every message passes through
``geosite.errors.redact`` (paths cut to their last part; a text quoting SQL or a traceback is
left out). When something was left out, when the error keeps private detail, or when the
failure was unexpected, the answer ends with the request's id, under which the log keeps
the whole story.
"""

from __future__ import annotations

from typing import Any

from geosite.errors import GeositeError, InternalError, InvalidToken, TokenRequired, redact

ADMIN = "admin"
REST = "rest"

# HTTP statuses for HTML pages (JSON answers always use 200, as ArcGIS does).
_HTML_STATUS = {
    400: 400,
    403: 403,
    404: 404,
    405: 405,
    409: 409,
    498: 401,
    499: 401,
    500: 500,
    503: 503,
}


def html_status(error: GeositeError) -> int:
    """The HTTP status of an HTML error page."""
    return _HTML_STATUS.get(error.code, 400 if error.code < 500 else 500)


def log_reference(request_id: str) -> str:
    """The line of an answer that points to the log."""
    return f"Request ID {request_id}: the server log has the details."


def _public(texts: list[str]) -> tuple[list[str], bool]:
    """The texts an answer may carry, and whether any was changed or left out."""
    out = []
    for text in texts:
        shown = redact(text)
        if shown is not None:
            out.append(shown)
    return out, out != texts


def public_texts(error: GeositeError, request_id: str = "") -> tuple[list[str], list[str]]:
    """The error's messages and details as an answer shows them (see the module's text)."""
    messages, changed = _public(error.messages)
    details, changed_details = _public(error.details)
    if not messages:
        messages = [GeositeError.default_message]
    withheld = changed or changed_details or bool(error.private)
    if request_id and (withheld or isinstance(error, InternalError)):
        details.append(log_reference(request_id))
    return messages, details


def envelope(error: GeositeError, area: str, request_id: str = "") -> dict[str, Any]:
    """The error body for ``area`` (``admin`` or ``rest``); ``request_id`` is named in it when
    the log holds more than the answer shows."""
    messages, details = public_texts(error, request_id)
    if area == ADMIN:
        return {"status": "error", "messages": messages + details, "code": error.code}
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
                "details": messages + details,
            }
        }
    return {
        "error": {
            "code": error.code,
            "message": messages[0],
            "details": messages[1:] + details,
        }
    }
