"""MapServer ``identify`` and ``find`` through ArcGIS REST JS 4.10.2 (``@esri/arcgis-rest-request``,
``js/map.mjs``, form POSTs) and through httpx (GET, as esri-leaflet sends them), on Natural
Earth's cities and countries published as MapServers (issue 20).

* identify at a city's longitude and latitude (``sr=4326``, a 2-degree ``mapExtent``, a
  400 x 400 ``imageDisplay``, ``tolerance=3``, ``layers=all``) returns that city, and on the
  countries the country it is in;
* find ``searchText=<country name>`` on the countries' layer returns that country; "Niger"
  with ``contains=false`` finds Niger alone, and with the default ``contains=true`` Nigeria too.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from geosite.demo import DATA_DIR
from tests.compat.test_esri_leaflet import read_points
from tests.compat.test_feature_clients import _node, run_js
from tests.conftest import LiveSite
from tests.http.test_publishing import publish

pytestmark = pytest.mark.compat

CITY, COUNTRY = "Reykjavík", "Iceland"


@pytest.fixture(scope="module")
def maps(site: LiveSite, admin_token: str) -> str:
    """``Cities`` and ``Countries`` as MapServers; the services' root URL."""
    for path, name in (
        (DATA_DIR / "naturalearth_cities.zip", "Cities"),
        (DATA_DIR / "naturalearth_lowres.zip", "Countries"),
    ):
        answer = publish(site, admin_token, path, name, kind="MapServer")
        assert answer.get("status") == "success", answer
    return site.http + "/arcgis/rest/services"


@pytest.fixture(scope="module")
def city() -> tuple[float, float]:
    """Reykjavík's longitude and latitude in the published file."""
    return read_points(DATA_DIR / "naturalearth_cities.zip")[CITY]


def _identify_params(point: tuple[float, float]) -> dict[str, Any]:
    x, y = point
    return {
        "geometry": json.dumps({"x": x, "y": y, "spatialReference": {"wkid": 4326}}),
        "geometryType": "esriGeometryPoint",
        "sr": "4326",
        "layers": "all",
        "tolerance": "3",
        "mapExtent": f"{x - 1},{y - 1},{x + 1},{y + 1}",
        "imageDisplay": "400,400,96",
        "returnGeometry": "true",
    }


def _name(result: dict[str, Any]) -> Any:
    """The ``name`` attribute of an identify or find result (its key may be an alias)."""
    names = [v for k, v in result["attributes"].items() if k.lower() == "name"]
    assert len(names) == 1, result
    return names[0]


def _check_identify_city(answer: dict[str, Any], point: tuple[float, float]) -> None:
    results = answer["results"]
    assert [(r["layerId"], _name(r)) for r in results] == [(0, CITY)], answer
    (found,) = results
    assert found["geometryType"] == "esriGeometryPoint", found
    geometry = found["geometry"]
    assert (geometry["x"], geometry["y"]) == pytest.approx(point, abs=1e-6), geometry
    assert geometry["spatialReference"]["wkid"] == 4326, geometry


def _check_identify_country(answer: dict[str, Any]) -> None:
    assert [(r["layerId"], _name(r)) for r in answer["results"]] == [(0, COUNTRY)], answer


def _check_find(answer: dict[str, Any]) -> None:
    results = answer["results"]
    assert [(r["layerId"], _name(r), r["value"]) for r in results] == [(0, COUNTRY, COUNTRY)]
    (found,) = results
    assert found["foundFieldName"].lower() == "name", found
    assert found["geometryType"] == "esriGeometryPolygon" and found["geometry"]["rings"], found


def _found(answer: dict[str, Any]) -> list[str]:
    return sorted(_name(r) for r in answer["results"])


def test_identify_and_find_through_rest_js(maps: str, city: tuple[float, float]) -> None:
    _node()  # skips, with the reason, when Node or REST JS is missing
    out = run_js(
        "map.mjs",
        {
            "GEOSITE_CITIES_MAP": f"{maps}/Cities/MapServer",
            "GEOSITE_COUNTRIES_MAP": f"{maps}/Countries/MapServer",
            "GEOSITE_POINT": json.dumps(list(city)),
            "GEOSITE_COUNTRY": COUNTRY,
        },
    )
    for step in out.values():
        assert step["ok"], step
        assert [r["method"] for r in step["requests"]] == ["POST"], step
    _check_identify_city(out["identifyCity"]["answer"], city)
    _check_identify_country(out["identifyCountry"]["answer"])
    _check_find(out["find"]["answer"])
    assert _found(out["findContains"]["answer"]) == ["Niger", "Nigeria"]
    assert _found(out["findExact"]["answer"]) == ["Niger"]


def test_identify_and_find_with_get(maps: str, city: tuple[float, float]) -> None:
    def get(service: str, operation: str, **params: str) -> dict[str, Any]:
        response = httpx.get(
            f"{maps}/{service}/MapServer/{operation}", params={"f": "json", **params}
        )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        assert "error" not in answer, answer
        return answer

    _check_identify_city(get("Cities", "identify", **_identify_params(city)), city)
    _check_identify_country(get("Countries", "identify", **_identify_params(city)))
    _check_find(
        get("Countries", "find", searchText=COUNTRY, layers="0", sr="4326", returnGeometry="true")
    )
    niger = {"searchText": "Niger", "searchFields": "name", "layers": "0"}
    assert _found(get("Countries", "find", **niger)) == ["Niger", "Nigeria"]
    assert _found(get("Countries", "find", contains="false", **niger)) == ["Niger"]
