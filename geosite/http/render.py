"""Turning a handler's dict into a response: JSON, pretty JSON, JSONP or an HTML page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import Response

FORMATS = ("html", "json", "pjson")
_CALLBACK = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*|\[[0-9]+\])*$")
JSON_TYPE = "application/json; charset=utf-8"

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "access-control-allow-origin": "*",
}
HTML_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def valid_callback(name: str) -> bool:
    """Whether a JSONP callback name is a safe dotted identifier."""
    return len(name) <= 128 and bool(_CALLBACK.match(name))


def dumps(payload: Any, pretty: bool = False) -> bytes:
    """Compact (or indented) JSON, with NaN and infinities written as null by orjson."""
    return orjson.dumps(payload, option=orjson.OPT_INDENT_2 if pretty else 0)


def json_response(
    payload: Any, fmt: str = "json", callback: str | None = None, status: int = 200
) -> Response:
    """A JSON (or JSONP) response."""
    body = dumps(payload, pretty=fmt == "pjson")
    media_type = "application/geo+json" if fmt == "geojson" else JSON_TYPE
    if callback:
        return Response(
            callback.encode() + b"(" + body + b");",
            status_code=status,
            media_type="application/javascript; charset=utf-8",
            headers=SECURITY_HEADERS,
        )
    return Response(body, status_code=status, media_type=media_type, headers=SECURITY_HEADERS)


def html_response(template: str, context: dict[str, Any], status: int = 200) -> Response:
    """An HTML page rendered from ``templates/<template>`` with autoescaping."""
    body = _ENV.get_template(template).render(**context)
    return Response(
        body,
        status_code=status,
        media_type="text/html; charset=utf-8",
        headers={**SECURITY_HEADERS, **HTML_HEADERS},
    )


def pretty(payload: Any) -> str:
    """Indented JSON text, for showing an answer inside an HTML page."""
    return dumps(payload, pretty=True).decode()
