"""``/admin/usagereports``: reports, their data against the request records, CSV, settings."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from geosite.core.logs import LogCode
from tests.conftest import LiveSite, make_site
from tests.http.test_publishing import publish

REQUESTS = {"Roads": 5, "Maps/Rivers": 3}
FAILURES = {"Roads": 2, "Maps/Rivers": 0}


def _points(folder: Path) -> Path:
    path = folder / "p.geojson"
    point = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [point]}))
    return path


@pytest.fixture(scope="module")
def used(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveSite, int, int]]:
    """A site with two services that got known requests; the window around them."""
    folder = tmp_path_factory.mktemp("usage")
    site = make_site(folder / "site")
    token = site.token()
    points = _points(folder)
    assert publish(site, token, points, "Roads")["status"] == "success"
    assert publish(site, token, points, "Rivers", folder="Maps")["status"] == "success"
    start = site.clock.now_ms()
    for service, count in REQUESTS.items():
        url = f"{site.http}/arcgis/rest/services/{service}/FeatureServer/0/query"
        for _ in range(count):
            assert httpx.get(url, params={"f": "json", "where": "1=1"}).json()["features"]
        for _ in range(FAILURES[service]):
            assert "error" in httpx.get(url, params={"f": "json", "where": "nope("}).json()
    site.flush_logs()
    end = site.clock.now_ms()
    try:
        yield site, start, end
    finally:
        site.stop()


def _post(site: LiveSite, path: str, **data: Any) -> dict[str, Any]:
    fields = {"f": "json", "token": site.token(), **data}
    return httpx.post(site.admin + path, data=fields).json()  # type: ignore[no-any-return]


def _add(site: LiveSite, **report: Any) -> dict[str, Any]:
    return _post(site, "/usagereports/add", usagereport=json.dumps(report))


def _records(site: LiveSite, source: str, start: int, end: int) -> tuple[int, int]:
    """Requests and failures of a service, counted from its request log records."""
    found = site.log_store.query(
        newest_ms=end, oldest_ms=start, levels=["SEVERE", "WARNING", "FINE"], limit=100_000
    )
    mine = [r for r in found if r.source == source]
    failed = [r for r in mine if r.code != LogCode.REQUEST_COMPLETED]
    return len(mine), len(failed)


def test_report_data_equals_the_request_records(used: tuple[LiveSite, int, int]) -> None:
    site, start, end = used
    queries = [
        {"resourceURIs": ["services/Roads.FeatureServer", "services/Maps/Rivers.FeatureServer"],
         "metrics": ["RequestCount", "RequestsFailed"]},
        {"resourceURIs": ["services/", "services/Maps"],
         "metrics": ["RequestCount", "RequestMaxResponseTime", "ServiceActiveInstances"]},
    ]  # fmt: skip
    window = {"since": "CUSTOM", "from": start - 60_000, "to": end + 60_000}
    assert _add(site, reportname="exact", aggregationInterval=1, queries=queries, **window) == {
        "status": "success"
    }
    data = _post(site, "/usagereports/exact/data")["report"]
    assert data["reportname"] == "exact"
    slices = data["time-slices"]
    assert slices == sorted(slices) and len(slices) >= 3
    first, second = data["report-data"]
    totals = {(s["resourceURI"], s["metric-type"]): s["data"] for s in first + second}
    for uri, source in (
        ("services/Roads.FeatureServer", "Roads.FeatureServer"),
        ("services/Maps/Rivers.FeatureServer", "Maps/Rivers.FeatureServer"),
    ):
        requests, failures = _records(site, source, start - 60_000, end + 60_000)
        assert requests == REQUESTS[source.split(".")[0]] + FAILURES[source.split(".")[0]]
        assert sum(v or 0 for v in totals[(uri, "RequestCount")]) == requests
        assert sum(v or 0 for v in totals[(uri, "RequestsFailed")]) == failures
        assert all(v is None or v > 0 for v in totals[(uri, "RequestCount")])
    everything = sum(v or 0 for v in totals[("services/", "RequestCount")])
    assert everything == sum(REQUESTS.values()) + sum(FAILURES.values())
    assert sum(v or 0 for v in totals[("services/Maps", "RequestCount")]) == 3
    assert max(v or 0 for v in totals[("services/", "ServiceActiveInstances")]) == 1
    assert 0 < max(v or 0 for v in totals[("services/", "RequestMaxResponseTime")]) < 60
    # Another machine's filter sees nothing.
    other = _post(site, "/usagereports/exact/data", filter='{"machines": ["ELSEWHERE"]}')
    assert all(v is None for s in other["report"]["report-data"][0] for v in s["data"])


def test_csv_and_report_lifecycle(used: tuple[LiveSite, int, int]) -> None:
    site, _, _ = used
    query = {"resourceURIs": ["services/"], "metrics": ["RequestCount"]}
    assert _add(site, reportname="daily", since="LAST_DAY", queries=[query]) == {
        "status": "success"
    }
    assert _add(site, reportname="DAILY", since="LAST_DAY", queries=[query])["code"] == 409
    listed = _post(site, "/usagereports")["metrics"]
    assert "daily" in [r["reportname"] for r in listed]
    shown = _post(site, "/usagereports/daily")
    assert shown["aggregationInterval"] == 30 and shown["since"] == "LAST_DAY"
    response = httpx.get(
        site.admin + "/usagereports/daily/data", params={"f": "csv", "token": site.token()}
    )
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:2] == ["resourceURI", "metric"] and len(rows[0]) == 2 + 49
    assert rows[1][:2] == ["services/", "RequestCount"]
    assert sum(int(v) for v in rows[1][2:] if v) == sum(REQUESTS.values()) + sum(FAILURES.values())
    week = {"reportname": "daily", "since": "LAST_WEEK", "queries": [query]}
    assert _post(site, "/usagereports/daily/edit", usagereport=json.dumps(week))["status"] == (
        "success"
    )
    assert _post(site, "/usagereports/daily")["aggregationInterval"] == 240
    renamed = {**week, "reportname": "other"}
    assert _post(site, "/usagereports/daily/edit", usagereport=json.dumps(renamed))["code"] == 400
    assert _post(site, "/usagereports/daily/delete") == {"status": "success"}
    assert _post(site, "/usagereports/daily")["code"] == 404
    assert _post(site, "/usagereports/daily/data")["code"] == 404


@pytest.mark.parametrize(
    "report",
    [
        {
            "reportname": "",
            "queries": [{"resourceURIs": ["services/"], "metrics": ["RequestCount"]}],
        },
        {
            "reportname": "settings",
            "queries": [{"resourceURIs": ["services/"], "metrics": ["RequestCount"]}],
        },
        {
            "reportname": "x",
            "since": "LAST_CENTURY",
            "queries": [{"resourceURIs": ["services/"], "metrics": ["RequestCount"]}],
        },
        {
            "reportname": "x",
            "since": "CUSTOM",
            "from": 10,
            "to": 5,
            "queries": [{"resourceURIs": ["services/"], "metrics": ["RequestCount"]}],
        },
        {
            "reportname": "x",
            "queries": [{"resourceURIs": ["machines/M"], "metrics": ["RequestCount"]}],
        },
        {"reportname": "x", "queries": [{"resourceURIs": ["services/"], "metrics": ["Happiness"]}]},
        {"reportname": "x", "queries": []},
        {
            "reportname": "x",
            "aggregationInterval": "0",
            "queries": [{"resourceURIs": ["services/"], "metrics": ["RequestCount"]}],
        },
        "not an object",
    ],
)
def test_bad_reports(used: tuple[LiveSite, int, int], report: Any) -> None:
    site, _, _ = used
    answer = _post(site, "/usagereports/add", usagereport=json.dumps(report))
    assert answer["status"] == "error" and answer["code"] == 400, answer


def test_too_many_slices_and_bad_filters(used: tuple[LiveSite, int, int]) -> None:
    site, _, _ = used
    query = {"resourceURIs": ["services/"], "metrics": ["RequestCount"]}
    assert _add(site, reportname="fine", since="LAST_YEAR", aggregationInterval=1,
                queries=[query])["status"] == "success"  # fmt: skip
    assert _post(site, "/usagereports/fine/data")["code"] == 400
    assert _add(site, reportname="ok", since="LAST_DAY", queries=[query])["status"] == "success"
    for bad in ("not json", '{"codes": [1]}', '{"machines": 5}'):
        assert _post(site, "/usagereports/ok/data", filter=bad)["code"] == 400, bad
    assert _post(site, "/usagereports/nothing/data")["code"] == 404


def test_settings(used: tuple[LiveSite, int, int]) -> None:
    site, _, _ = used
    assert _post(site, "/usagereports/settings") == {
        "samplingInterval": 1, "maxHistory": 0, "enabled": True
    }  # fmt: skip
    edited = _post(site, "/usagereports/settings/edit", maxHistory="30")
    assert edited["status"] == "success" and edited["maxHistory"] == 30
    for bad in ({"maxHistory": "-1"}, {"samplingInterval": "5"}, {"enabled": "false"}):
        assert _post(site, "/usagereports/settings/edit", **bad)["code"] == 400
    assert _post(site, "/usagereports/settings/edit", maxHistory="0")["maxHistory"] == 0


def test_the_chart_page(used: tuple[LiveSite, int, int]) -> None:
    """``data`` as a page: one server-drawn SVG chart per metric, a line per resource."""
    site, start, end = used
    queries = [{"resourceURIs": ["services/Roads.FeatureServer", "services/Maps"],
                "metrics": ["RequestCount", "RequestAvgResponseTime"]}]  # fmt: skip
    window = {"since": "CUSTOM", "from": start - 120_000, "to": end + 120_000}
    _add(site, reportname="charted", aggregationInterval=1, queries=queries, **window)
    page = httpx.get(
        site.admin + "/usagereports/charted/data", params={"f": "html", "token": site.token()}
    )
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    body = page.text
    assert body.count("<svg xmlns") == 2  # RequestCount and RequestAvgResponseTime
    assert body.count("<polyline") >= 4  # two resources in each chart
    assert "services/Roads.FeatureServer" in body and "services/Maps" in body
    assert "<script" not in body and "style=" not in body  # nothing the CSP would block
    assert "f=csv" in body
