"""The GeometryServer over HTTP (issue 17, item 2): every operation routed, GET and POST,
``f=json``/``pjson``, an HTML form per operation, errors as ArcGIS's envelopes, the input
limits, and the service's state and permissions applied to its operations."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from geosite.engines.geometry_server import OPERATIONS
from tests.conftest import LiveSite

SERVICE = "/arcgis/rest/services/Utilities/Geometry/GeometryServer"
SQUARE = {"rings": [[[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]]]}
POINTS = json.dumps({"geometryType": "esriGeometryPoint", "geometries": [{"x": 10, "y": 20}]})


def _call(site: LiveSite, operation: str, method: str = "POST", **params: str) -> Any:
    url = site.http + SERVICE + "/" + operation
    data = {"f": "json", **params}
    if method == "GET":
        return httpx.get(url, params=data, timeout=60).json()
    return httpx.post(url, data=data, timeout=60).json()


def test_every_operation_is_routed_with_its_form(site: LiveSite) -> None:
    root = httpx.get(site.http + SERVICE).text
    for name, operation in OPERATIONS.items():
        assert f"{SERVICE}/{name}" in root, name
        page = httpx.get(site.http + SERVICE + "/" + name)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        for parameter, _label in operation.parameters:
            assert f'name="{parameter}"' in page.text, (name, parameter)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_project_by_get_and_post(site: LiveSite, method: str) -> None:
    answer = _call(site, "project", method, geometries=POINTS, inSR="4326", outSR="4326")
    assert answer == {"geometries": [{"x": 10.0, "y": 20.0}]}
    pretty = httpx.get(
        site.http + SERVICE + "/project",
        params={"f": "pjson", "geometries": POINTS, "inSR": "4326", "outSR": "3857"},
    )
    assert "\n" in pretty.text and json.loads(pretty.text)["geometries"][0]["x"] > 1e6


@pytest.mark.parametrize(
    ("operation", "params", "named"),
    [
        ("project", {"geometries": POINTS, "inSR": "4326"}, "outSR"),
        ("project", {"geometries": "{not json", "inSR": "4326", "outSR": "3857"}, "geometries"),
        ("buffer", {"geometries": POINTS, "inSR": "4326", "distances": "x"}, "distances"),
        ("areasAndLengths", {"polygons": json.dumps([SQUARE]), "sr": "999999"}, "sr"),
    ],
)
def test_bad_input_is_an_envelope(
    site: LiveSite, operation: str, params: dict[str, str], named: str
) -> None:
    answer = _call(site, operation, **params)
    assert answer["error"]["code"] == 400, answer
    assert named in json.dumps(answer["error"]), answer


def test_too_many_geometries(site: LiveSite) -> None:
    """Refused by the parameter size limit or by the GeometryServer's own (100,000)."""
    many = ",".join(f"{i % 90},{i % 45}" for i in range(100_001))
    answer = _call(site, "project", geometries=many, inSR="4326", outSR="3857")
    assert answer["error"]["code"] == 400 and "'geometries'" in json.dumps(answer), answer


def test_state_and_permissions_apply(fresh_site: LiveSite) -> None:
    token = fresh_site.token()
    admin = fresh_site.admin + "/services/Utilities/Geometry.GeometryServer"
    httpx.post(admin + "/stop", data={"f": "json", "token": token})
    stopped = _call(fresh_site, "project", geometries=POINTS, inSR="4326", outSR="3857")
    assert "not started" in stopped["error"]["message"]
    httpx.post(admin + "/start", data={"f": "json", "token": token})
    httpx.post(
        admin + "/permissions/add",
        data={"f": "json", "token": token, "principal": "esriEveryone", "isAllowed": "false"},
    )
    private = _call(fresh_site, "project", geometries=POINTS, inSR="4326", outSR="3857")
    assert private["error"]["code"] == 499
    allowed = _call(
        fresh_site, "project", geometries=POINTS, inSR="4326", outSR="4326", token=token
    )
    assert allowed == {"geometries": [{"x": 10.0, "y": 20.0}]}
