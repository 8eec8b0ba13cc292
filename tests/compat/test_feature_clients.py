"""Real clients reading every feature of a layer larger than its ``maxRecordCount``.

The layer is ``cities.geojson`` (34,006 GeoNames points) published with ``maxRecordCount``
2000, so every client has to page. Each test lets one real client fetch the whole layer its
own way and compares what it got with the source file, read here with the ``json`` module:

* pyesridump 1.13.0: ``resultOffset`` paging by POST (it trusts ``count`` and never looks at
  ``exceededTransferLimit``), and its ``where``-clause paging over ``returnIdsOnly``;
* GDAL's ESRIJSON driver (``ogrinfo``, ``ogr2ogr``): paging driven by the first page's
  ``exceededTransferLimit``, counts by ``returnCountOnly``, the extent by
  ``returnExtentOnly&f=geojson``;
* the ArcGIS API for Python 2.4.4 (``FeatureLayer.query``): count, ids, then 200-id batches
  on 5 threads; with ``order_by_fields``, ``resultOffset`` paging that must keep the order;
* ArcGIS REST JS 4.10.2 (``queryAllFeatures``, ``getFeature``, in Node; ``js/features.mjs``).

The tests also check the requests each client made (or the strategy it logged), so that a
client silently taking another path (a single capped page, say) cannot pass.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.conftest import LiveSite
from tests.http.test_publishing import publish

CITIES = Path("/work/shared/data/cities.geojson")
CITY_COUNT = 34_006
MAX_RECORD_COUNT = 2000
FIELDS = ("geonameid", "name", "countrycode", "population", "timezone", "admin1code")
JS_DIR = Path(__file__).parent / "js"
JS_SCRIPT = JS_DIR / "features.mjs"
JS_PACKAGE = JS_DIR / "node_modules" / "@esri" / "arcgis-rest-feature-service" / "package.json"
REST_JS_VERSION = "4.10.2"
# A feature for getFeature and the spot checks, by GeoNames id (object ids are the server's).
SHANGHAI = 1796236
SPOT_CHECKS = {
    3040051: ("les Escaldes", "AD", 15853, "Europe/Andorra", "08", (1.53414, 42.50729)),
    SHANGHAI: ("Shanghai", "CN", 24874500, "Asia/Shanghai", "23", (121.45806, 31.22222)),
    2636714: ("Stratford", "GB", 36666, "Europe/London", "ENG", (0.0, 51.53333)),
}

pytestmark = [
    pytest.mark.compat,
    pytest.mark.skipif(
        not CITIES.is_file(),
        reason=f"{CITIES} is missing: these tests need the 34,006-city GeoJSON sample "
        "(GeoNames cities over 15,000 people) to page through a layer larger than "
        "maxRecordCount",
    ),
]


@dataclass(frozen=True)
class City:
    """One feature of the source file."""

    attributes: dict[str, Any]
    x: float
    y: float


@pytest.fixture(scope="module")
def cities() -> dict[int, City]:
    """The source features by GeoNames id (which the file holds once each)."""
    features = json.loads(CITIES.read_bytes())["features"]
    out: dict[int, City] = {}
    for feature in features:
        properties = feature["properties"]
        x, y = feature["geometry"]["coordinates"]
        out[properties["geonameid"]] = City({k: properties[k] for k in FIELDS}, x, y)
    assert len(features) == len(out) == CITY_COUNT
    for geonameid, (name, country, population, zone, admin1, xy) in SPOT_CHECKS.items():
        city = out[geonameid]
        assert [*city.attributes.values(), (city.x, city.y)] == [
            geonameid,
            name,
            country,
            population,
            zone,
            admin1,
            xy,
        ]
    return out


def _source_extent(cities: dict[int, City]) -> tuple[float, float, float, float]:
    xs = [c.x for c in cities.values()]
    ys = [c.y for c in cities.values()]
    return min(xs), min(ys), max(xs), max(ys)


@pytest.fixture(scope="module")
def layer_url(site: LiveSite, admin_token: str) -> str:
    """``cities.geojson`` published as ``Cities`` with ``maxRecordCount`` 2000."""
    answer = publish(site, admin_token, CITIES, "Cities", maxRecordCount=MAX_RECORD_COUNT)
    assert answer["status"] == "success", answer
    url = site.http + "/arcgis/rest/services/Cities/FeatureServer/0"
    layer = httpx.get(url, params={"f": "json"}).json()
    assert layer["maxRecordCount"] == MAX_RECORD_COUNT
    assert layer["advancedQueryCapabilities"]["supportsPagination"] is True
    count = httpx.get(
        url + "/query", params={"where": "1=1", "returnCountOnly": "true", "f": "json"}
    )
    assert count.json() == {"count": CITY_COUNT}
    return url


def _mismatches(
    cities: dict[int, City],
    found: list[tuple[dict[str, Any], tuple[float, float] | None]],
    *,
    tolerance: float = 1e-9,
) -> list[str]:
    """How ``found`` (attributes, x/y) differs from the source, feature by feature.

    Every source feature must be there exactly once, with the same attribute values and
    coordinates (within ``tolerance``); ``OBJECTID``s must be distinct.
    """
    problems: list[str] = []
    object_ids = Counter(attributes["OBJECTID"] for attributes, _ in found)
    repeated = [oid for oid, n in object_ids.items() if n > 1]
    if repeated:
        problems.append(f"{len(repeated)} OBJECTIDs repeated, e.g. {repeated[:5]}")
    by_geonameid = Counter(attributes["geonameid"] for attributes, _ in found)
    missing = cities.keys() - by_geonameid.keys()
    extra = by_geonameid.keys() - cities.keys()
    twice = [g for g, n in by_geonameid.items() if n > 1]
    for label, ids in (("missing", missing), ("unknown", extra), ("repeated", twice)):
        if ids:
            problems.append(f"{len(ids)} geonameids {label}, e.g. {sorted(ids)[:5]}")
    for attributes, xy in found:
        city = cities.get(attributes["geonameid"])
        if city is None:
            continue
        got = {k: v for k, v in attributes.items() if k != "OBJECTID"}
        if got != city.attributes:
            problems.append(f"attributes {got} != source {city.attributes}")
        if xy is None or not (
            math.isclose(xy[0], city.x, abs_tol=tolerance)
            and math.isclose(xy[1], city.y, abs_tol=tolerance)
        ):
            problems.append(f"geonameid {city.attributes['geonameid']}: {xy} != source {city}")
        if len(problems) > 10:
            break
    return problems


# -- pyesridump -------------------------------------------------------------------------------


def _esridump(url: str, **options: Any) -> list[dict[str, Any]]:
    dumper = pytest.importorskip(
        "esridump.dumper",
        reason="esridump is not installed: install the test extras with "
        "`pip install -e '.[dev,compat]'`",
    )
    # pause_seconds=0: by default the client sleeps 10 s every 5 pages (70 s for this layer).
    return list(dumper.EsriDumper(url, pause_seconds=0, **options))


def _esridump_found(
    features: list[dict[str, Any]],
) -> list[tuple[dict[str, Any], tuple[float, float] | None]]:
    found: list[tuple[dict[str, Any], tuple[float, float] | None]] = []
    for feature in features:
        geometry = feature["geometry"]
        xy = None if geometry is None else (geometry["coordinates"][0], geometry["coordinates"][1])
        found.append((feature["properties"], xy))
    return found


def _without_geometry(features: list[dict[str, Any]]) -> set[int]:
    return {f["properties"]["geonameid"] for f in features if f["geometry"] is None}


def _on_an_axis(cities: dict[int, City]) -> set[int]:
    """Cities with x or y exactly 0, whose point esridump drops (see below)."""
    return {g for g, c in cities.items() if c.x == 0 or c.y == 0}


@pytest.mark.parametrize(
    ("options", "strategy"),
    # With supportsStatistics, esridump asks for min/max OBJECTID (outStatistics) and pages
    # with "OBJECTID >= a AND OBJECTID <= b" clauses.
    [({}, "resultOffset"), ({"paginate_oid": True}, "OID where clause")],
    ids=["result-offset", "oid-where-clauses"],
)
def test_esridump_dumps_every_feature_once(
    layer_url: str,
    cities: dict[int, City],
    caplog: pytest.LogCaptureFixture,
    options: dict[str, Any],
    strategy: str,
) -> None:
    """``EsriDumper(layer_url)``: every feature once, attributes and points as in the source.

    By default the client pages with ``resultOffset`` and ``resultRecordCount`` =
    min(1000, maxRecordCount), POSTing ``returnGeometry=True`` (a capitalised Python bool),
    ``outSR=4326`` and ``geometryPrecision=7``; ``paginate_oid=True`` makes it ask for the
    smallest and largest OBJECTID (``outStatistics``, as the layer supports statistics) and
    page with ``where=OBJECTID >= a AND OBJECTID <= b``.
    """
    caplog.set_level(logging.INFO, logger="esridump")
    features = _esridump(layer_url, **options)
    pages = math.ceil(CITY_COUNT / 1000)
    assert f"Built {pages} requests using {strategy} method" in caplog.text
    assert len(features) == CITY_COUNT
    # esridump's esri2geojson turns a point into no geometry when x or y is 0
    # (``if x_coord and y_coord``): a client bug, so those two cities come without one.
    on_an_axis = _on_an_axis(cities)
    assert _without_geometry(features) == on_an_axis != set()
    found = [
        (attributes, xy)
        for attributes, xy in _esridump_found(features)
        if attributes["geonameid"] not in on_an_axis
    ]
    kept = {g: c for g, c in cities.items() if g not in on_an_axis}
    assert _mismatches(kept, found) == []
    assert len({f["properties"]["OBJECTID"] for f in features}) == CITY_COUNT
    for geonameid, (name, _, population, *_) in SPOT_CHECKS.items():
        [attributes] = [
            f["properties"] for f in features if f["properties"]["geonameid"] == geonameid
        ]
        assert (attributes["name"], attributes["population"]) == (name, population)


# -- GDAL (ESRIJSON driver) -------------------------------------------------------------------


def _gdal(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(
            f"{tool} is not installed: the GDAL tests need GDAL's command-line tools "
            "(Debian: apt-get install gdal-bin)"
        )
    return path


def _query_url(layer_url: str) -> str:
    # As GDAL's documentation recommends for paging: a stable order, in the URL.
    return layer_url + "/query?where=1=1&outFields=*&f=json&orderByFields=OBJECTID+ASC"


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"{args[0]} failed ({done.returncode}):\n{done.stderr[-4000:]}"
    return done


def _fetched(stderr: str) -> list[dict[str, list[str]]]:
    """The query strings of the URLs GDAL fetched (from ``--debug on``)."""
    return [parse_qs(urlsplit(url).query) for url in re.findall(r"HTTP: Fetch\((\S+)\)", stderr)]


def test_ogrinfo_counts_and_extent(layer_url: str, cities: dict[int, City]) -> None:
    """``ogrinfo -ro -al -so``: the count by ``returnCountOnly``, the extent by
    ``returnExtentOnly&f=geojson``, both equal to the source's."""
    done = _run([_gdal("ogrinfo"), "-ro", "-al", "-so", "--debug", "on", _query_url(layer_url)])
    assert "using driver `ESRIJSON' successful" in done.stdout
    assert "Geometry: Point" in done.stdout
    count = re.search(r"^Feature Count: (\d+)$", done.stdout, re.MULTILINE)
    assert count is not None, done.stdout
    assert int(count.group(1)) == CITY_COUNT
    extent = re.search(r"^Extent: \((\S+), (\S+)\) - \((\S+), (\S+)\)$", done.stdout, re.MULTILINE)
    assert extent is not None, done.stdout
    assert [float(v) for v in extent.groups()] == pytest.approx(_source_extent(cities), abs=1e-6)
    for name in ("geonameid: Integer", "name: String", "population: Integer"):
        assert name in done.stdout
    fetched = _fetched(done.stderr)
    assert any(q.get("returnCountOnly") == ["true"] for q in fetched)
    assert any(q.get("returnExtentOnly") == ["true"] and q.get("f") == ["geojson"] for q in fetched)


def test_ogr2ogr_pages_through_everything(
    layer_url: str, cities: dict[int, City], tmp_path: Path
) -> None:
    """``ogr2ogr -f GeoJSON``: GDAL learns of paging from the first page's
    ``exceededTransferLimit``, then asks for ``resultRecordCount=<page 1's size>`` at
    ``resultOffset`` 2000, 4000, ... until a page comes without the flag."""
    out = tmp_path / "out.geojson"
    done = _run(
        [_gdal("ogr2ogr"), "--debug", "on", "-f", "GeoJSON", str(out), _query_url(layer_url)]
    )
    offsets = [int(q["resultOffset"][0]) for q in _fetched(done.stderr) if "resultOffset" in q]
    assert offsets == list(range(MAX_RECORD_COUNT, CITY_COUNT, MAX_RECORD_COUNT))
    assert {q["resultRecordCount"][0] for q in _fetched(done.stderr) if "resultOffset" in q} == {
        str(MAX_RECORD_COUNT)
    }
    features = json.loads(out.read_bytes())["features"]
    assert len(features) == CITY_COUNT
    found = [(f["properties"], tuple(f["geometry"]["coordinates"])) for f in features]
    assert _mismatches(cities, found) == []


# -- ArcGIS API for Python --------------------------------------------------------------------


@pytest.fixture(scope="module")
def feature_layer(site: LiveSite, layer_url: str) -> Iterator[Any]:
    """``FeatureLayer(url, gis=<connection>)`` over an anonymous ``ServicesDirectory``.

    Without ``gis=`` the client would build an anonymous ``GIS()`` for www.arcgis.com
    (clients.md §2). ``verify_cert=True`` only keeps the client from switching off
    certificate checks process-wide (``ssl._create_default_https_context``); this is HTTP.
    """
    try:
        from arcgis.features import FeatureLayer
        from arcgis.gis.server import ServicesDirectory
    except ImportError as exc:  # pragma: no cover - depends on the environment
        pytest.skip(
            f"the ArcGIS API for Python is not installed ({exc}); "
            "install the test extras with `pip install -e '.[dev,compat]'`"
        )
    directory = ServicesDirectory(
        url=site.http + "/arcgis/rest/services", all_ssl=False, verify_cert=True
    )
    layer = FeatureLayer(layer_url, gis=directory._con)
    yield layer
    # Its keep-alive connections would otherwise hold up the live site's shutdown.
    directory._con._session.close()


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The parameters of every query request the ArcGIS API for Python sends."""
    from arcgis._impl.common._query import Query

    requests: list[dict[str, Any]] = []
    original = Query._send_request

    def recording(self: Any, session: Any, encoded_parameters: dict[str, Any]) -> Any:
        requests.append(dict(encoded_parameters))
        return original(self, session, encoded_parameters)

    monkeypatch.setattr(Query, "_send_request", recording)
    return requests


def _arcgis_found(
    features: list[Any],
) -> list[tuple[dict[str, Any], tuple[float, float] | None]]:
    return [(f.attributes, (f.geometry["x"], f.geometry["y"])) for f in features]


def test_arcgis_query_returns_every_feature(
    feature_layer: Any, cities: dict[int, City], sent: list[dict[str, Any]]
) -> None:
    """``query()``: a first page, the count, every id, then 200-id batches on 5 threads."""
    result = feature_layer.query()
    assert len(result.features) == CITY_COUNT
    assert _mismatches(cities, _arcgis_found(result.features)) == []
    assert result.spatial_reference["wkid"] == 4326
    assert sum(q.get("returnCountOnly") == "true" for q in sent) == 1
    [ids_query] = [q for q in sent if q.get("returnIdsOnly") == "true"]
    assert "resultOffset" not in ids_query  # every id in one answer
    batches = [q["objectIds"].split(",") for q in sent if "objectIds" in q]
    assert len(batches) == math.ceil(CITY_COUNT / 200)
    assert max(len(b) for b in batches) == 200
    assert sorted(int(i) for b in batches for i in b) == sorted(
        f.attributes["OBJECTID"] for f in result.features
    )


@pytest.mark.parametrize(
    "order",
    ["population DESC", "countrycode ASC, population DESC"],
    ids=["population", "country-population"],
)
def test_arcgis_query_keeps_the_order_across_pages(
    feature_layer: Any, cities: dict[int, City], sent: list[dict[str, Any]], order: str
) -> None:
    """``query(order_by_fields=...)`` pages single-threaded with ``resultOffset`` = features
    so far; the concatenated pages must be in order and hold every feature once."""
    result = feature_layer.query(order_by_fields=order)
    features = result.features
    assert len(features) == CITY_COUNT
    assert _mismatches(cities, _arcgis_found(features)) == []

    def key(attributes: dict[str, Any]) -> tuple[Any, ...]:
        if order.startswith("population"):
            return (-attributes["population"],)
        return (attributes["countrycode"], -attributes["population"])

    got = [key(f.attributes) for f in features]
    assert got == sorted(key(c.attributes) for c in cities.values())
    pages = [q for q in sent if q.get("returnCountOnly") != "true"]
    assert [q.get("resultOffset") for q in pages] == [
        None,
        *range(MAX_RECORD_COUNT, CITY_COUNT, MAX_RECORD_COUNT),
    ]
    assert all(q["orderByFields"] == order for q in pages)
    assert sum(q.get("returnCountOnly") == "true" for q in sent) == 1


@pytest.fixture(scope="module")
def all_ids(layer_url: str) -> list[int]:
    """Every object id, ascending (the server's default order)."""
    answer = httpx.get(
        layer_url + "/query", params={"where": "1=1", "returnIdsOnly": "true", "f": "json"}
    ).json()
    assert len(answer["objectIds"]) == CITY_COUNT  # not capped by maxRecordCount
    return sorted(answer["objectIds"])


def test_ids_are_paged_only_when_asked(layer_url: str, all_ids: list[int]) -> None:
    """``returnIdsOnly`` honours ``resultOffset`` and ``resultRecordCount`` (above
    ``maxRecordCount`` too), as the ArcGIS API for Python expects (next test)."""
    answer = httpx.get(
        layer_url + "/query",
        params={
            "where": "1=1",
            "returnIdsOnly": "true",
            "resultOffset": 100,
            "resultRecordCount": 5000,
            "f": "json",
        },
    ).json()
    assert answer["objectIds"] == all_ids[100:5100]
    tail = httpx.get(
        layer_url + "/query",
        params={"where": "1=1", "returnIdsOnly": "true", "resultOffset": 33000, "f": "json"},
    ).json()
    assert tail["objectIds"] == all_ids[33000:]


@pytest.mark.parametrize(
    ("offset", "count"),
    [(None, 5000), (30000, 3000), (33000, None)],
    ids=["count", "offset-and-count", "offset"],
)
def test_arcgis_query_with_offset_and_count(
    feature_layer: Any,
    cities: dict[int, City],
    sent: list[dict[str, Any]],
    all_ids: list[int],
    offset: int | None,
    count: int | None,
) -> None:
    """``query(result_offset=, result_record_count=)`` without an order: after a first page
    short of what was asked, the client reads the ids with the same offset and count
    (``_fetch_all_ids``), then fetches those ids in 200-id batches. It keeps every id the
    server sends, so ids that ignore the offset and count made it return all 34,006."""
    options = {"result_offset": offset, "result_record_count": count}
    result = feature_layer.query(**{k: v for k, v in options.items() if v is not None})
    start = offset or 0
    expected = all_ids[start : None if count is None else start + count]
    assert sorted(f.attributes["OBJECTID"] for f in result.features) == expected
    got = {f.attributes["geonameid"] for f in result.features}
    assert _mismatches({g: cities[g] for g in got}, _arcgis_found(result.features)) == []
    [ids_query] = [q for q in sent if q.get("returnIdsOnly") == "true"]
    assert (ids_query.get("resultOffset"), ids_query.get("resultRecordCount")) == (offset, count)


def test_arcgis_query_as_dataframe(feature_layer: Any, cities: dict[int, City]) -> None:
    """``query(as_df=True)``: the same paging, then a spatially enabled DataFrame."""
    frame = feature_layer.query(as_df=True)
    assert len(frame) == CITY_COUNT
    assert frame["OBJECTID"].is_unique
    assert set(frame["geonameid"]) == cities.keys()
    row = frame[frame["geonameid"] == SHANGHAI].iloc[0]
    assert (row["name"], row["population"]) == ("Shanghai", 24874500)
    assert (row["SHAPE"]["x"], row["SHAPE"]["y"]) == (121.45806, 31.22222)


# -- ArcGIS REST JS ---------------------------------------------------------------------------


def run_js(script: str, env: dict[str, str], timeout: float = 120) -> Any:
    """Run ``tests/compat/js/<script>`` with Node and ``env`` added to the environment; the
    JSON document it prints (the test fails with its stderr when it exits non-zero)."""
    done = subprocess.run(
        [_node(), str(JS_DIR / script)],
        cwd=JS_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"node failed ({done.returncode}):\n{done.stderr}"
    return json.loads(done.stdout)


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the ArcGIS REST JS tests need Node.js 18 or later")
    if not JS_PACKAGE.is_file():
        pytest.skip(
            f"@esri/arcgis-rest-feature-service is not installed in {JS_DIR / 'node_modules'}: "
            "run `make js-deps` (npm ci --prefix tests/compat/js)"
        )
    return node


@pytest.fixture(scope="module")
def shanghai_id(layer_url: str) -> int:
    """Shanghai's object id, as the server assigned it."""
    answer = httpx.get(
        layer_url + "/query",
        params={"where": f"geonameid = {SHANGHAI}", "returnIdsOnly": "true", "f": "json"},
    ).json()
    [object_id] = answer["objectIds"]
    return int(object_id)


@pytest.fixture(scope="module")
def rest_js(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Run ``js/features.mjs`` once against the published layer; its parsed output."""
    node = _node()  # skip before publishing for nothing
    layer_url: str = request.getfixturevalue("layer_url")
    feature_id: int = request.getfixturevalue("shanghai_id")
    env = {**os.environ, "GEOSITE_LAYER": layer_url, "GEOSITE_FEATURE_ID": str(feature_id)}
    done = subprocess.run(
        [node, str(JS_SCRIPT)],
        cwd=JS_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, f"node failed ({done.returncode}):\n{done.stderr}"
    output: dict[str, Any] = json.loads(done.stdout)
    return output


def test_rest_js_pinned_version() -> None:
    _node()
    assert json.loads(JS_PACKAGE.read_text())["version"] == REST_JS_VERSION


@pytest.mark.parametrize("step", ["queryAllJSON", "queryAllGeoJSON"])
def test_rest_js_query_all_features(
    rest_js: dict[str, Any], layer_url: str, cities: dict[int, City], step: str
) -> None:
    """``queryAllFeatures``: ``GET <layer>?f=json`` for ``maxRecordCount``, then pages of
    2000 at ``resultOffset`` 0, 2000, ... while ``exceededTransferLimit`` is true (at the top
    for JSON, under ``properties`` for GeoJSON) and the page is full."""
    answer = rest_js[step]
    assert answer["ok"], answer
    assert answer["count"] == CITY_COUNT
    assert len(set(answer["objectIds"])) == CITY_COUNT
    assert sorted(answer["geonameids"]) == sorted(cities)
    for end in ("first", "last"):
        feature = answer[end]
        geometry = feature["geometry"]
        xy = (geometry["x"], geometry["y"]) if "x" in geometry else tuple(geometry["coordinates"])
        assert (
            _mismatches(
                {feature["attributes"]["geonameid"]: cities[feature["attributes"]["geonameid"]]},
                [(feature["attributes"], xy)],
            )
            == []
        )
    urls = [r["url"] for r in answer["requests"]]
    assert urls[0] == layer_url + "?f=json"
    pages = [parse_qs(urlsplit(url).query) for url in urls[1:]]
    assert all(urlsplit(url).path.endswith("/FeatureServer/0/query") for url in urls[1:])
    assert [int(q["resultOffset"][0]) for q in pages] == list(
        range(0, CITY_COUNT, MAX_RECORD_COUNT)
    )
    assert {q["resultRecordCount"][0] for q in pages} == {str(MAX_RECORD_COUNT)}


def test_rest_js_get_feature(
    rest_js: dict[str, Any], layer_url: str, cities: dict[int, City], shanghai_id: int
) -> None:
    """``getFeature({url, id})``: ``GET <layer>/<id>?f=json``, answered with ``feature``."""
    answer = rest_js["getFeature"]
    assert answer["ok"], answer
    assert [r["url"] for r in answer["requests"]] == [f"{layer_url}/{shanghai_id}?f=json"]
    feature = answer["feature"]
    assert feature["attributes"]["OBJECTID"] == shanghai_id
    geometry = feature["geometry"]
    assert geometry["spatialReference"]["wkid"] == 4326
    assert (
        _mismatches(
            {SHANGHAI: cities[SHANGHAI]}, [(feature["attributes"], (geometry["x"], geometry["y"]))]
        )
        == []
    )
