"""Cached map services: tileInfo, tiles drawn once and kept, ETags, invalidation by edits,
and seeding or deleting tiles as a job (services-api §5.7)."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import httpx
import mapnik
import pytest

from geosite.engines.render import tiles
from tests.conftest import LiveSite
from tests.http.test_map_service import DATA_DIR, painted, rest
from tests.http.test_publishing import publish

FEATURE_ACCESS = [
    {"typeName": "FeatureServer", "enabled": "true", "capabilities": "Query,Create,Update,Delete"}
]


@pytest.fixture(scope="module")
def cached(site: LiveSite, admin_token: str) -> LiveSite:
    answer = publish(
        site,
        admin_token,
        DATA_DIR / "naturalearth_cities.zip",
        "World",
        kind="MapServer",
        isCached="true",
    )
    assert answer["status"] == "success", answer
    edit = httpx.post(
        site.admin + "/services/World.MapServer/edit",
        data={"f": "json", "token": admin_token,
              "service": json.dumps({"extensions": FEATURE_ACCESS})},
    ).json()  # fmt: skip
    assert edit["status"] == "success", edit
    return site


def tile(site: LiveSite, level: int, row: int, col: int, **headers: str) -> httpx.Response:
    return httpx.get(
        f"{rest(site)}/World/MapServer/tile/{level}/{row}/{col}", headers=headers, timeout=60
    )


def drawn_count(site: LiveSite, token: str) -> float:
    text = httpx.get(site.admin + "/metrics", params={"token": token}).text
    found = re.search(r'^geosite_map_tiles_total\{outcome="drawn"\} ([0-9.e+]+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def test_tile_info_is_the_standard_web_mercator_grid(cached: LiveSite) -> None:
    root = httpx.get(rest(cached) + "/World/MapServer", params={"f": "json"}).json()
    assert root["singleFusedMapCache"] is True
    assert root["spatialReference"] == {"wkid": 102100, "latestWkid": 3857}
    info = root["tileInfo"]
    assert (info["rows"], info["cols"], info["format"]) == (256, 256, "PNG32")
    assert info["origin"] == {"x": -20037508.342787, "y": 20037508.342787}
    assert len(info["lods"]) == 24
    assert info["lods"][0]["resolution"] == 156543.03392800014
    assert info["lods"][23]["scale"] == pytest.approx(70.5310735, rel=1e-6)
    assert root["fullExtent"]["spatialReference"]["latestWkid"] == 3857
    # Leaflet's resolutions, which esri-leaflet compares the levels with.
    for lod in info["lods"]:
        assert lod["resolution"] == pytest.approx(2 * 20037508.342789244 / 256 / 2 ** lod["level"])


def test_a_tile_is_drawn_once_and_then_read(cached: LiveSite, admin_token: str) -> None:
    before = drawn_count(cached, admin_token)
    cold = tile(cached, 3, 2, 4)  # Europe
    assert cold.status_code == 200 and cold.headers["content-type"] == "image/png"
    image = mapnik.Image.from_string(cold.content)
    assert (image.width(), image.height()) == (256, 256)
    assert painted(image) > 100
    warm = tile(cached, 3, 2, 4)
    assert warm.content == cold.content
    assert drawn_count(cached, admin_token) == before + 1
    assert warm.headers["etag"] and "cache-control" in warm.headers
    again = tile(cached, 3, 2, 4, **{"If-None-Match": warm.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_concurrent_first_requests_draw_a_tile_once(cached: LiveSite, admin_token: str) -> None:
    before = drawn_count(cached, admin_token)
    answers: list[bytes] = []
    gate = threading.Barrier(8)

    def fetch() -> None:
        gate.wait()
        answers.append(tile(cached, 5, 11, 16).content)

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 8 and len(set(answers)) == 1
    assert drawn_count(cached, admin_token) == before + 1


def test_an_edit_in_a_tile_changes_it(cached: LiveSite, admin_token: str) -> None:
    level, row, col = 6, 22, 33  # over the Atlantic off Portugal: empty
    box = tiles.tile_box(level, row, col)
    empty = tile(cached, level, row, col).content
    elsewhere = tile(cached, 6, 10, 10).content
    # A city added in that tile through the map service's feature access.
    x, y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    added = httpx.post(
        rest(cached) + "/World/FeatureServer/0/addFeatures",
        data={"f": "json", "token": admin_token, "features": json.dumps([
            {"attributes": {"name": "Atlantis"},
             "geometry": {"x": x, "y": y, "spatialReference": {"wkid": 3857}}}])},
    ).json()  # fmt: skip
    assert added["addResults"][0]["success"], added
    oid = added["addResults"][0]["objectId"]
    changed = tile(cached, level, row, col).content
    assert changed != empty
    assert painted(mapnik.Image.from_string(changed)) > painted(mapnik.Image.from_string(empty))
    assert tile(cached, 6, 10, 10).content == elsewhere  # untouched tiles are kept
    deleted = httpx.post(
        rest(cached) + "/World/FeatureServer/0/deleteFeatures",
        data={"f": "json", "token": admin_token, "objectIds": str(oid)},
    ).json()
    assert deleted["deleteResults"][0]["success"], deleted
    assert tile(cached, level, row, col).content == empty


def test_bad_tiles_and_uncached_services(cached: LiveSite, admin_token: str) -> None:
    for path in ("24/0/0", "3/8/0", "3/0/8", "x/0/0", "-1/0/0"):
        answer = httpx.get(f"{rest(cached)}/World/MapServer/tile/{path}")
        assert answer.status_code == 404, path
    assert publish(cached, admin_token, DATA_DIR / "naturalearth_cities.zip", "Plain",
                   kind="MapServer")["status"] == "success"  # fmt: skip
    answer = httpx.get(f"{rest(cached)}/Plain/MapServer/tile/0/0/0")
    assert answer.status_code == 404
    root = httpx.get(rest(cached) + "/Plain/MapServer", params={"f": "json"}).json()
    assert "tileInfo" not in root and root["singleFusedMapCache"] is False


def test_feature_access_of_a_map_service(cached: LiveSite) -> None:
    catalog = httpx.get(rest(cached), params={"f": "json"}).json()["services"]
    assert {"name": "World", "type": "MapServer"} in catalog
    assert {"name": "World", "type": "FeatureServer"} in catalog
    layer = httpx.get(rest(cached) + "/World/FeatureServer/0", params={"f": "json"}).json()
    assert "Create" in layer["capabilities"]
    count = httpx.get(
        rest(cached) + "/World/FeatureServer/0/query",
        params={"f": "json", "where": "1=1", "returnCountOnly": "true"},
    ).json()
    assert count["count"] >= 243


def _job(site: LiveSite, token: str, answer: dict[str, Any]) -> dict[str, Any]:
    assert answer.get("status") == "submitted", answer
    for _ in range(600):
        job = httpx.get(
            f"{site.admin}/system/jobs/{answer['jobId']}", params={"f": "json", "token": token}
        ).json()
        if job["status"] != "EXECUTING":
            return dict(job)
        threading.Event().wait(0.1)
    raise AssertionError("the job did not finish")


def test_seed_and_delete_tiles_as_a_job(cached: LiveSite, admin_token: str) -> None:
    url = cached.admin + "/services/World.MapServer/manageMapCacheTiles"
    root = Path(cached.data_dir) / "directories" / "arcgiscache" / "World_MapServer" / "_alllayers"
    token = {"f": "json", "token": admin_token}
    asked = httpx.post(url, data={**token, "levels": "0-2", "updateMode": "RECREATE_EMPTY_TILES"})
    seeded = _job(cached, admin_token, asked.json())
    assert seeded["status"] == "COMPLETED", seeded
    assert seeded["result"]["tiles"] == 1 + 4 + 16
    assert len(list(root.glob("L0[0-2]/*/*.png"))) == 21
    assert any("21 of 21 tiles (100 %)" in m for m in seeded["messages"])
    codes = json.dumps({"codes": [7210]})
    logs = httpx.post(
        cached.admin + "/logs/query", data={**token, "level": "INFO", "filter": codes}
    ).json()
    assert any("World.MapServer" in m["message"] for m in logs["logMessages"]), logs
    # Only Europe at level 4, then delete it.
    europe = {"f": "json", "token": admin_token, "levels": "4", "updateExtent": "-10,35,30,60",
              "extentSR": "4326", "runAsync": "false"}  # fmt: skip
    done = httpx.post(url, data=europe).json()
    assert done["tiles"] == 9 and done["tilesDrawn"] == 9, done  # 3 rows of 3
    gone = httpx.post(url, data={**europe, "updateMode": "DELETE_TILES"}).json()
    assert gone["tilesDeleted"] == 9
    assert not list(root.glob("L04/*/*.png"))
    for bad in ({"levels": "0-30"}, {"levels": "a"}, {"updateMode": "SOMETIMES"},
                {"levels": "0-20"}, {"updateExtent": "1,2,3"}):  # fmt: skip
        refused = httpx.post(url, data={"f": "json", "token": admin_token, **bad}).json()
        assert refused["status"] == "error", bad
