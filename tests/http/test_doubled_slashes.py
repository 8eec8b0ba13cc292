"""Paths with doubled slashes are served as ArcGIS Server serves them (issue 17, item 1).

Scripts build a root service's URL from ``folderName: "/"`` and send
``/arcgis/admin/services//Countries.FeatureServer/stop``; tools that name services
``folder//name`` send ``services/Maps//Cities.FeatureServer/status``. Repeated slashes count
as one in every ``/arcgis/admin``, ``/arcgis/rest`` and ``/arcgis/tokens`` path; a token in
the query string still counts.
"""

from __future__ import annotations

import httpx
import pytest

from geosite.demo import DATA_DIR
from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite
from tests.http.test_publishing import publish


@pytest.fixture(scope="module")
def served(site: LiveSite, admin_token: str) -> LiveSite:
    cities = DATA_DIR / "naturalearth_cities.zip"
    assert publish(site, admin_token, cities, "Countries")["status"] == "success"
    assert publish(site, admin_token, cities, "Cities", "Maps")["status"] == "success"
    return site


def _state(site: LiveSite, token: str, service: str) -> str:
    url = f"{site.admin}/services/{service}.FeatureServer/status"
    return str(httpx.get(url, params={"f": "json", "token": token}).json()["realTimeState"])


def test_root_service_from_folder_name_slash(served: LiveSite, admin_token: str) -> None:
    base = served.http + "/arcgis/admin/services//Countries.FeatureServer"
    # The token in the query string, as the classic scripts send it.
    stopped = httpx.post(f"{base}/stop?token={admin_token}&f=json").json()
    assert stopped == {"status": "success"}
    assert _state(served, admin_token, "Countries") == "STOPPED"
    started = httpx.post(f"{base}/start", data={"f": "json", "token": admin_token}).json()
    assert started == {"status": "success"}
    assert _state(served, admin_token, "Countries") == "STARTED"


def test_folder_double_slash_name(served: LiveSite, admin_token: str) -> None:
    url = served.http + "/arcgis/admin/services/Maps//Cities.FeatureServer/status"
    answer = httpx.get(url, params={"f": "json", "token": admin_token}).json()
    assert answer["realTimeState"] == "STARTED", answer
    listing = httpx.get(
        served.http + "//arcgis//admin//services//Maps", params={"f": "json", "token": admin_token}
    ).json()
    assert [s["serviceName"] for s in listing["services"]] == ["Cities"]


def test_rest_and_tokens(served: LiveSite) -> None:
    query = served.http + "/arcgis/rest/services//Countries//FeatureServer//0//query"
    answer = httpx.get(query, params={"f": "json", "where": "1=1", "returnCountOnly": "true"})
    assert answer.json()["count"] > 0
    token = httpx.post(
        served.http + "/arcgis//tokens//generateToken",
        data={"username": ADMIN_USER, "password": ADMIN_PASSWORD, "f": "json"},
    ).json()
    assert "token" in token, token


def test_still_refused_without_a_token(served: LiveSite) -> None:
    answer = httpx.post(served.http + "/arcgis/admin/services//Countries.FeatureServer/stop?f=json")
    assert answer.json()["code"] == 499
