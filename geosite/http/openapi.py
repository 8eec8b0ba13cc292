"""The OpenAPI 3 document of the whole API, generated from the route tables (so it cannot
drift from what the server answers): served at ``/arcgis/rest/openapi.json``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from geosite import ARCGIS_FULL_VERSION
from geosite.http.routing import OPERATION, Endpoint

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_FORMATS = ["json", "pjson", "html"]
_SECURITY: list[dict[str, list[str]]] = [
    {"token": []},
    {"esriHeader": []},
    {"bearer": []},
    {"cookie": []},
]
_ANSWER = {
    "200": {
        "description": "The ArcGIS JSON answer. Errors come with HTTP 200 too, as ArcGIS's "
        'envelopes: {"status": "error", "code", "messages"} on the Administrator API, '
        '{"error": {"code", "message", "details"}} elsewhere.',
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


def _parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    path_names = _PLACEHOLDER.findall(endpoint.pattern)
    out: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in path_names
    ]
    out.append(
        {
            "name": "f",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "enum": [*_FORMATS, *endpoint.formats]},
        }
    )
    return out


def _form(endpoint: Endpoint) -> dict[str, Any]:
    properties = {
        field.name: {
            "type": "string",
            **({"format": "binary"} if field.kind == "file" else {}),
            **({"enum": list(field.options)} if field.options else {}),
            "description": field.label or field.name,
        }
        for field in endpoint.fields
    }
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    required = [field.name for field in endpoint.fields if field.required]
    if required:
        schema["required"] = required
    media = "multipart/form-data" if endpoint.accepts_files else "application/x-www-form-urlencoded"
    return {"required": bool(required), "content": {media: {"schema": schema}}}


def _operation(endpoint: Endpoint, method: str, area: str) -> dict[str, Any]:
    title = endpoint.title or endpoint.pattern.rsplit("/", 1)[-1] or "root"
    operation: dict[str, Any] = {
        "operationId": f"{method}:{area}{endpoint.pattern}",
        "summary": title,
        "tags": [area.strip("/").split("/")[-1] or "arcgis"],
        "parameters": _parameters(endpoint),
        "responses": _ANSWER,
    }
    if endpoint.description:
        operation["description"] = endpoint.description
    if method == "post" and endpoint.fields:
        operation["requestBody"] = _form(endpoint)
    if endpoint.privilege is not None:
        operation["security"] = _SECURITY
        operation["x-arcgis-privilege"] = endpoint.privilege.name
    return operation


def document(areas: Sequence[tuple[str, Sequence[Endpoint]]]) -> dict[str, Any]:
    """The OpenAPI document of ``(prefix, endpoints)`` areas."""
    paths: dict[str, dict[str, Any]] = {}
    for prefix, endpoints in areas:
        for endpoint in endpoints:
            path = prefix + ("" if endpoint.pattern == "/" else endpoint.pattern)
            item = paths.setdefault(path or "/", {})
            methods = ["post"] if endpoint.kind == OPERATION else ["get", "post"]
            if endpoint.kind == OPERATION and endpoint.allow_get:
                methods.append("get")
            for method in methods:
                item.setdefault(method, _operation(endpoint, method, prefix))
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "geosite: ArcGIS Server Administrator, REST and token APIs",
            "version": ARCGIS_FULL_VERSION,
            "description": "Every resource and operation of the server, from its route tables. "
            "Resources answer GET and POST; operations POST.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "token": {"type": "apiKey", "in": "query", "name": "token"},
                "esriHeader": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Esri-Authorization",
                    "description": "Bearer <token>",
                },
                "bearer": {"type": "http", "scheme": "bearer"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "AGS_ADMIN_TOKEN"},
            }
        },
    }
