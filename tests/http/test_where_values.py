"""Where clauses whose values SQLite converts and PostgreSQL refuses (issue 18: the same
answers on GeoPackage and PostGIS, and never a 5xx).

SQLite answers NULL for ``MOD(n, 0)`` or the logarithm of zero, turns text into a number in a
``CAST`` and an overflowing integer into a double, and compares an integer with a string by
converting one of them; PostgreSQL raises an error for each. Where the PostgreSQL dialect can
give SQLite's answer it does (a zero divisor or a logarithm outside its domain gives NULL, a
CAST to an integer truncates); the others are value-dependent, and PostGIS answers them with
ArcGIS's 400 envelope naming the problem. Run on both backends
(``GEOSITE_TEST_FEATURE_DATA=postgis``, ``make test``'s second pass).
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import ON_POSTGIS, LiveSite
from tests.http.test_publishing import publish

#: where -> the object ids a GeoPackage answers; PostGIS answers the same ids, or a 400
#: when ``same`` is False.
CASES: list[tuple[str, list[int], bool]] = [
    ("MOD(n, 0) = 1", [], True),
    ("MOD(n, 0) IS NULL", [1, 2, 3, 4, 5], True),
    ("LOG(0) > 0", [], True),
    ("LOG(n - 3) > 0", [5], True),
    ("LOG10(n - 4) >= 0", [5], True),
    ("CAST(v AS INTEGER) = 0", [1, 2], True),  # toward zero, not rounded
    ("CAST(-v AS INTEGER) = 0", [1, 2], True),
    ("n / 0 = 1", [], True),
    ("(n / (n - 2)) IS NULL", [2], True),
    ("CAST(name AS INTEGER) = 12", [3], False),
    ("n * 9223372036854775807 > 0", [1, 2, 3, 4, 5], False),
    ("SUBSTRING(name, 1, -2) = 'n'", [], False),
    ("POWER(v, 1000) > 1", [4, 5], False),
    ("n = '1'", [1], False),
    ("n IN (1, '2', 3.0)", [1, 2, 3], False),
    ("name > 5", [1, 2, 4, 5], False),
]


@pytest.fixture(scope="module")
def layer(site: LiveSite, admin_token: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("values") / "values.geojson"
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [i, i]},
            "properties": {"name": f"n{i}" if i % 3 else "12", "n": i, "v": i / 3},
        }
        for i in range(1, 6)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    assert publish(site, admin_token, path, "Values")["status"] == "success"
    return site.http + "/arcgis/rest/services/Values/FeatureServer/0/query"


@pytest.mark.parametrize(("where", "ids", "same"), CASES)
def test_the_same_rows_or_a_clear_refusal(
    layer: str, where: str, ids: list[int], same: bool
) -> None:
    params = {"f": "json", "where": where, "returnIdsOnly": "true"}
    for method in ("ids", "features", "count"):
        if method == "features":
            params = {"f": "json", "where": where, "outFields": "OBJECTID"}
        elif method == "count":
            params = {"f": "json", "where": where, "returnCountOnly": "true"}
        answer = httpx.get(layer, params=params, timeout=30)
        assert answer.status_code < 500
        body = answer.json()
        if "error" in body and ON_POSTGIS and not same:
            assert body["error"]["code"] == 400, body
            assert "where" in body["error"]["message"].lower(), body
            assert body["error"]["details"], body
            continue
        assert "error" not in body, body
        if method == "ids":
            assert sorted(body["objectIds"] or []) == ids
        elif method == "features":
            assert sorted(f["attributes"]["OBJECTID"] for f in body["features"]) == ids
        else:
            assert body["count"] == len(ids)


@pytest.mark.parametrize(
    ("having", "groups"),
    [("SUM(n) > '2'", None), ("SUM(n) / 0 > 1", []), ("SUM(n) >= 4", ["n4", "n5"])],
)
def test_having_the_same_groups_or_a_clear_refusal(
    layer: str, having: str, groups: list[str] | None
) -> None:
    """``groups`` None: GeoPackage answers no group, and PostGIS no group or a 400."""
    statistics = [{"statisticType": "sum", "onStatisticField": "n", "outStatisticFieldName": "s"}]
    params = {
        "f": "json",
        "outStatistics": json.dumps(statistics),
        "groupByFieldsForStatistics": "name",
        "havingClause": having,
        "orderByFields": "name",
    }
    answer = httpx.get(layer, params=params, timeout=30)
    assert answer.status_code < 500
    body = answer.json()
    if "error" in body and ON_POSTGIS and groups is None:
        assert body["error"]["code"] == 400 and body["error"]["details"], body
        return
    assert "error" not in body, body
    assert [f["attributes"]["name"] for f in body["features"]] == (groups or [])


def test_a_refused_where_leaves_the_service_answering(layer: str) -> None:
    """After a refusal the pooled connection serves the next query."""
    for _ in range(3):
        refused = httpx.get(
            layer, params={"f": "json", "where": "CAST(name AS INTEGER) = 12"}, timeout=30
        )
        assert refused.status_code < 500
        counted = httpx.get(
            layer, params={"f": "json", "where": "1=1", "returnCountOnly": "true"}, timeout=30
        ).json()
        assert counted == {"count": 5}
