"""Which answer a query's flags give when several are set (issue 17, item 5).

The REST reference: ``returnCountOnly`` supersedes ``returnIdsOnly`` and, with
``returnExtentOnly``, answers count and extent; with ``returnDistinctValues`` it counts the
distinct values; ``outStatistics`` is used only with ``where``, ``groupByFieldsForStatistics``,
``having``, ``orderByFields`` and ``time``. The ArcGIS Maps SDK for JavaScript 4.x counts
features with ``returnCountOnly=true&returnIdsOnly=true`` and reads ``count``.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from geosite.demo import DATA_DIR
from tests.conftest import LiveSite
from tests.http.test_publishing import publish

STATS = json.dumps(
    [{"statisticType": "count", "onStatisticField": "OBJECTID", "outStatisticFieldName": "n"}]
)
C, ID, E = "returnCountOnly", "returnIdsOnly", "returnExtentOnly"
D, G, S = "returnDistinctValues", "returnGeometry", "outStatistics"
IDS = {"objectIdFieldName", "objectIds"}

# (flags set to true, returnGeometry, the answer's shape)
CASES: list[tuple[tuple[str, ...], bool, str]] = [
    ((), True, "features"),
    ((C,), True, "count"),
    ((ID,), True, "ids"),
    ((E,), True, "extent"),
    ((C, ID), True, "count"),  # the ArcGIS Maps SDK's queryFeatureCount
    ((C, ID), False, "count"),
    ((C, E), True, "count+extent"),
    ((C, ID, E), True, "count+extent"),
    ((ID, E), True, "ids"),
    ((D,), False, "distinct"),
    ((D, C), False, "distinct-count"),
    ((D, C, ID), False, "distinct-count"),
    ((D, ID), False, "ids"),
    ((D, E), False, "distinct"),
    ((S,), False, "statistics"),
    ((S, C), False, "statistics"),
    ((S, ID), False, "statistics"),
    ((S, E), False, "statistics"),
    ((S, C, ID, E, D), False, "statistics"),
]


@pytest.fixture(scope="module")
def layer(site: LiveSite, admin_token: str) -> str:
    cities = DATA_DIR / "naturalearth_cities.zip"
    assert publish(site, admin_token, cities, "Precedence")["status"] == "success"
    return f"{site.http}/arcgis/rest/services/Precedence/FeatureServer/0/query"


def _query(url: str, method: str = "GET", **params: str) -> dict[str, Any]:
    params = {"f": "json", "where": "1=1", **params}
    if method == "GET":
        return httpx.get(url, params=params).json()  # type: ignore[no-any-return]
    return httpx.post(url, data=params).json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(("flags", "geometry", "shape"), CASES)
def test_precedence(
    layer: str, flags: tuple[str, ...], geometry: bool, shape: str, method: str
) -> None:
    total = _query(layer, returnCountOnly="true")["count"]
    names = {f["attributes"]["name"] for f in _query(layer, outFields="name")["features"]}
    params = {flag: "true" for flag in flags}
    params[G] = "true" if geometry else "false"
    if D in flags:
        params["outFields"] = "name"
    if S in flags:
        params[S] = STATS
    answer = _query(layer, method, **params)
    assert "error" not in answer, answer
    if shape == "count":
        assert answer == {"count": total}
    elif shape == "count+extent":
        assert set(answer) == {"count", "extent"} and answer["count"] == total
        assert answer["extent"]["xmin"] < answer["extent"]["xmax"]
    elif shape == "ids":
        assert set(answer) == IDS and len(answer["objectIds"]) == total
    elif shape == "extent":
        assert set(answer) == {"extent"}
    elif shape == "distinct":
        assert {f["attributes"]["name"] for f in answer["features"]} == names
        assert len(answer["features"]) == len(names)
    elif shape == "distinct-count":
        assert answer == {"count": len(names)}
    elif shape == "statistics":
        assert [f["attributes"] for f in answer["features"]] == [{"n": total}]
    else:
        assert shape == "features"
        assert len(answer["features"]) == total and "geometry" in answer["features"][0]


def test_delete_features_ignores_the_answer_flags(site: LiveSite, admin_token: str) -> None:
    """deleteFeatures chooses features as query does; count, extent and statistics flags
    do not change what it deletes."""
    cities = DATA_DIR / "naturalearth_cities.zip"
    answer = publish(site, admin_token, cities, "Deletable", capabilities="Query,Delete")
    assert answer["status"] == "success", answer
    base = f"{site.http}/arcgis/rest/services/Deletable/FeatureServer/0"
    before = _query(base + "/query", returnCountOnly="true")["count"]
    done = httpx.post(
        base + "/deleteFeatures",
        data={
            "f": "json",
            "token": admin_token,
            "where": "OBJECTID <= 2",
            C: "true",
            E: "true",
            S: STATS,
        },
    ).json()
    assert [r["objectId"] for r in done["deleteResults"]] == [1, 2], done
    assert _query(base + "/query", returnCountOnly="true")["count"] == before - 2
