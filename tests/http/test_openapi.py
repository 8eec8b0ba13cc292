"""The OpenAPI document: generated from the route tables, complete, and honest about access."""

from __future__ import annotations

import re

import httpx

from geosite.http import admin, rest
from geosite.http.routing import OPERATION
from tests.conftest import LiveSite


def test_openapi_document(site: LiveSite) -> None:
    answer = httpx.get(f"{site.http}/arcgis/rest/openapi.json")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    spec = answer.json()
    assert spec["openapi"] == "3.0.3"
    paths = spec["paths"]
    tables = [
        ("/arcgis/admin", admin.ENDPOINTS),
        ("/arcgis/rest", rest.REST_ENDPOINTS),
        ("/arcgis/tokens", rest.TOKEN_ENDPOINTS),
    ]
    for prefix, endpoints in tables:
        for endpoint in endpoints:
            path = prefix + ("" if endpoint.pattern == "/" else endpoint.pattern)
            item = paths[path]  # every route is documented
            assert "post" in item
            assert ("get" in item) == (endpoint.kind != OPERATION or endpoint.allow_get)
            declared = {p["name"] for p in item["post"]["parameters"] if p["in"] == "path"}
            assert declared == set(re.findall(r"\{(\w+)\}", endpoint.pattern))
            assert ("security" in item["post"]) == (endpoint.privilege is not None)
    # Without a token, only these admin routes are open.
    open_admin = sorted(
        path
        for path, item in paths.items()
        if path.startswith("/arcgis/admin") and "security" not in item["post"]
    )
    assert open_admin == [
        "/arcgis/admin/acceptSite",
        "/arcgis/admin/createNewSite",
        "/arcgis/admin/generateToken",
        "/arcgis/admin/info/healthCheck",
        "/arcgis/admin/joinInfo",
        "/arcgis/admin/joinSite",
        "/arcgis/admin/login",
        "/arcgis/admin/logout",
        "/arcgis/admin/publicKey",
    ]
    edit = paths["/arcgis/admin/services/{folder}/{service}.{type}/edit"]["post"]
    assert edit["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"][
        "required"
    ] == ["service"]
