"""Publishing uploaded files as FeatureServers, and reading them through the REST API."""

import itertools
import json
from pathlib import Path

import httpx
import pytest

from geosite.demo import DATA_DIR
from tests.conftest import ON_POSTGIS, LiveSite


def publish(
    site: LiveSite,
    token: str,
    path: Path,
    name: str,
    folder: str = "",
    capabilities: str = "Query",
    *,
    kind: str = "FeatureServer",
    **properties: object,
) -> dict:  # type: ignore[type-arg]
    item = httpx.post(
        site.admin + "/uploads/upload",
        data={"f": "json", "token": token},
        files={"itemFile": (path.name, path.read_bytes())},
    ).json()["item"]
    service = {
        "serviceName": name,
        "type": kind,
        "folderName": folder,
        "capabilities": capabilities if kind == "FeatureServer" else "",
        "properties": {"itemID": item["itemID"], **properties},
    }
    answer = httpx.post(
        site.admin + "/services/createService",
        data={"f": "json", "token": token, "service": json.dumps(service)},
        timeout=120,
    ).json()
    published = answer.get("status") == "success" and "dataStore" not in properties
    if ON_POSTGIS and published and site.settings.data_store:
        # The second pass of make test really serves from PostGIS.
        made = site.store.get_service(folder, name, kind)
        assert made.data.location.startswith("postgis://"), made.data.location
    return answer  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def published(site: LiveSite, admin_token: str) -> LiveSite:
    assert (
        publish(site, admin_token, DATA_DIR / "naturalearth_cities.zip", "Cities")["status"]
        == "success"
    )
    assert (
        publish(
            site, admin_token, DATA_DIR / "nybb_16a.zip", "Boroughs", "NewYork", maxRecordCount=3
        )["status"]
        == "success"
    )
    assert (
        publish(site, admin_token, DATA_DIR / "naturalearth_lowres.zip", "Countries")["status"]
        == "success"
    )
    return site


def test_catalogs(published: LiveSite) -> None:
    root = httpx.get(published.http + "/arcgis/rest/services", params={"f": "json"}).json()
    assert root["folders"] == ["NewYork", "Utilities"]
    assert root["services"] == [
        {"name": "Cities", "type": "FeatureServer"},
        {"name": "Countries", "type": "FeatureServer"},
    ]
    folder = httpx.get(
        published.http + "/arcgis/rest/services/newyork", params={"f": "json"}
    ).json()
    assert folder["services"] == [{"name": "NewYork/Boroughs", "type": "FeatureServer"}]
    missing = httpx.get(published.http + "/arcgis/rest/services/Nope", params={"f": "json"})
    assert missing.json()["error"]["code"] == 404


def test_admin_listing(published: LiveSite, admin_token: str) -> None:
    root = httpx.get(
        published.admin + "/services", params={"f": "json", "token": admin_token}
    ).json()
    assert root["folders"] == ["System", "Utilities", "NewYork"]
    assert {s["serviceName"] for s in root["services"]} == {"Cities", "Countries"}
    folder = httpx.get(
        published.admin + "/services/NEWYORK", params={"f": "json", "token": admin_token}
    ).json()
    assert folder["services"] == [
        {
            "folderName": "NewYork",
            "serviceName": "Boroughs",
            "type": "FeatureServer",
            "description": "",
            "isDefault": False,
        }
    ]


def test_service_and_layer_json(published: LiveSite) -> None:
    base = published.http + "/arcgis/rest/services/NewYork/Boroughs/FeatureServer"
    root = httpx.get(base, params={"f": "json"}).json()
    assert root["maxRecordCount"] == 3 and root["capabilities"] == "Query"
    assert root["spatialReference"] == {"wkid": 2263, "latestWkid": 2263}
    assert root["layers"][0]["geometryType"] == "esriGeometryPolygon"
    layer = httpx.get(base + "/0/", params={"f": "json"}).json()
    assert layer["objectIdField"] == "OBJECTID"
    assert [f["name"] for f in layer["fields"]] == [
        "OBJECTID",
        "BoroCode",
        "BoroName",
        "Shape_Leng",
        "Shape_Area",
    ]
    assert layer["fields"][0]["type"] == "esriFieldTypeOID"
    assert layer["fields"][1]["type"] == "esriFieldTypeInteger"
    assert layer["extent"]["xmin"] == pytest.approx(913175.109, abs=0.01)
    assert layer["drawingInfo"]["renderer"]["type"] == "simple"
    both = httpx.get(base + "/layers", params={"f": "json"}).json()
    assert both["layers"][0] == layer


def test_feature_by_object_id(published: LiveSite) -> None:
    base = published.http + "/arcgis/rest/services/Cities/FeatureServer/0"
    feature = httpx.get(base + "/1", params={"f": "json"}).json()["feature"]
    assert feature["attributes"]["OBJECTID"] == 1 and feature["attributes"]["name"]
    assert set(feature["geometry"]) == {"x", "y", "spatialReference"}
    assert httpx.get(base + "/99999", params={"f": "json"}).json()["error"]["code"] == 404
    assert httpx.get(base + "/abc", params={"f": "json"}).json()["error"]["code"] == 400
    huge = httpx.get(base + "/" + "9" * 30, params={"f": "json"}).json()
    assert huge["error"]["code"] == 400


def test_polygons_have_clockwise_outer_rings(published: LiveSite) -> None:
    base = published.http + "/arcgis/rest/services/Countries/FeatureServer/0"
    rings = httpx.get(base + "/1", params={"f": "json"}).json()["feature"]["geometry"]["rings"]

    def signed_area(ring: list[list[float]]) -> float:
        return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in itertools.pairwise(ring))

    assert signed_area(rings[0]) < 0  # clockwise


def test_shared_data_publishes_with_counts(published: LiveSite) -> None:
    expected = {"Cities": 243, "Countries": 177, "NewYork/Boroughs": 5}
    for name, count in expected.items():
        service = published.store.get_service(
            *(name.split("/") if "/" in name else ("", name)), "FeatureServer"
        )
        assert service.definition["_geosite"]["layers"][0]["count"] == count


@pytest.mark.parametrize(
    ("service", "message"),
    [
        ({"serviceName": "bad name!", "properties": {"itemID": "x"}}, "Invalid service name"),
        (
            {"serviceName": "X", "type": "GPServer", "properties": {"itemID": "x"}},
            "cannot be published",
        ),
        ({"serviceName": "X"}, "no data source"),
        (
            {"serviceName": "X", "properties": {"itemID": "nope"}},
            "Could not find the uploaded item",
        ),
        (
            {"serviceName": "X", "folderName": "../etc", "properties": {"itemID": "x"}},
            "Invalid folder name",
        ),
        (
            {"serviceName": "X", "capabilities": "Query,Hack", "properties": {"itemID": "x"}},
            "Unknown capability",
        ),
    ],
)
def test_create_service_validation(
    site: LiveSite,
    admin_token: str,
    service: dict,  # type: ignore[type-arg]
    message: str,
) -> None:
    answer = httpx.post(
        site.admin + "/services/createService",
        data={"f": "json", "token": admin_token, "service": json.dumps(service)},
    )
    body = answer.json()
    assert body["status"] == "error"
    assert body["code"] == (404 if "Could not find" in message else 400)
    assert message in " ".join(body["messages"])


def test_duplicate_service_is_refused(published: LiveSite, admin_token: str) -> None:
    answer = publish(published, admin_token, DATA_DIR / "naturalearth_cities.zip", "CITIES")
    assert answer["status"] == "error" and answer["code"] == 409


def test_bad_data_is_refused(site: LiveSite, admin_token: str, tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK not really")
    answer = publish(site, admin_token, junk, "Junk")
    assert answer["status"] == "error" and answer["code"] == 400
    empty = tmp_path / "empty.geojson"
    empty.write_text("{not json")
    assert publish(site, admin_token, empty, "Empty")["code"] == 400
