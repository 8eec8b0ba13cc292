"""FeatureServer query: where, fields, paging, counts, ids, extents, projections, GeoJSON."""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx
import numpy as np
import pyogrio
import pyogrio.raw
import pytest
import shapely
from pyproj import Transformer

from geosite.demo import DATA_DIR
from tests.conftest import LiveSite
from tests.http.test_publishing import publish


@pytest.fixture(scope="module")
def countries(site: LiveSite, admin_token: str) -> str:
    assert (
        publish(
            site, admin_token, DATA_DIR / "naturalearth_lowres.zip", "World", maxRecordCount=50
        )["status"]
        == "success"
    )
    assert publish(site, admin_token, DATA_DIR / "nybb_16a.zip", "NYC")["status"] == "success"
    return site.http + "/arcgis/rest/services/World/FeatureServer/0/query"


def q(url: str, **params: Any) -> dict[str, Any]:
    params.setdefault("f", "json")
    return httpx.get(url, params=params).json()  # type: ignore[no-any-return]


def test_where_fields_and_order(countries: str) -> None:
    body = q(
        countries,
        where="continent = 'Europe' AND pop_est > 50000000",
        outFields="NAME,pop_est",
        returnGeometry="false",
        orderByFields="pop_est DESC",
    )
    names = [f["attributes"]["name"] for f in body["features"]]
    rows = _source_rows()
    expected = sorted(
        (r for r in rows if r["continent"] == "Europe" and r["pop_est"] > 5e7),
        key=lambda r: -r["pop_est"],
    )
    assert names == [r["name"] for r in expected] and names[0] == "Russia"
    assert [f["name"] for f in body["fields"]] == ["name", "pop_est"]
    assert body["exceededTransferLimit"] is False and "geometry" not in body["features"][0]


def _source_rows() -> list[dict[str, Any]]:
    """The countries as the shapefile has them, read with pyogrio (the reference)."""
    meta, _, _, columns = pyogrio.raw.read(f"/vsizip/{DATA_DIR / 'naturalearth_lowres.zip'}")
    names = list(meta["fields"])
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


@pytest.mark.parametrize(
    ("where", "reference"),
    [
        ("1=1", lambda r: True),
        ("", lambda r: True),
        ("1=0", lambda r: False),
        ("iso_a3 IN ('FRA', 'DEU', 'ITA')", lambda r: r["iso_a3"] in ("FRA", "DEU", "ITA")),
        ("iso_a3 NOT IN ('FRA')", lambda r: r["iso_a3"] != "FRA"),
        ("name LIKE 'United%'", lambda r: r["name"].startswith("United")),
        ("name LIKE 'united%'", lambda r: r["name"].startswith("united")),
        ("UPPER(name) LIKE 'UNITED%'", lambda r: r["name"].upper().startswith("UNITED")),
        ("pop_est BETWEEN 1000000 AND 2000000", lambda r: 1e6 <= r["pop_est"] <= 2e6),
        (
            "NOT (continent = 'Africa') AND continent <> 'Asia'",
            lambda r: r["continent"] not in ("Africa", "Asia"),
        ),
        ("CHAR_LENGTH(name) > 20", lambda r: len(r["name"]) > 20),
        ("gdp_md_est * 2 > 20000000", lambda r: r["gdp_md_est"] * 2 > 2e7),
        ("name = 'Côte d''Ivoire'", lambda r: r["name"] == "Côte d'Ivoire"),
        (
            "(pop_est > 1e8 OR name LIKE '%land') AND NOT continent = 'Europe'",
            lambda r: (
                (r["pop_est"] > 1e8 or r["name"].endswith("land")) and r["continent"] != "Europe"
            ),
        ),
    ],
)
def test_where_counts(countries: str, where: str, reference: Any) -> None:
    expected = sum(1 for r in _source_rows() if reference(r))
    assert q(countries, where=where, returnCountOnly="true") == {"count": expected}
    ids = q(countries, where=where, returnIdsOnly="true")["objectIds"]
    assert len(ids) == expected


def test_paging_returns_every_feature_once(countries: str) -> None:
    seen: list[int] = []
    offset = 0
    while True:  # bounded: 177 features, 50 per page
        page = q(
            countries,
            where="1=1",
            outFields="OBJECTID",
            returnGeometry="false",
            resultOffset=offset,
            orderByFields="continent",
        )
        seen += [f["attributes"]["OBJECTID"] for f in page["features"]]
        offset += len(page["features"])
        if not page["exceededTransferLimit"]:
            break
        assert offset < 1000
    assert sorted(seen) == list(range(1, 178))
    small = q(
        countries, where="1=1", resultRecordCount=10, resultOffset=170, returnGeometry="false"
    )
    assert len(small["features"]) == 7 and small["exceededTransferLimit"] is False
    capped = q(countries, where="1=1", resultRecordCount=5000, returnGeometry="false")
    assert len(capped["features"]) == 50 and capped["exceededTransferLimit"] is True


def test_ids_and_object_ids(countries: str) -> None:
    ids = q(countries, where="1=1", returnIdsOnly="true")
    assert ids["objectIdFieldName"] == "OBJECTID" and len(ids["objectIds"]) == 177
    picked = q(countries, objectIds="3, 5,7", outFields="OBJECTID", returnGeometry="false")
    assert [f["attributes"]["OBJECTID"] for f in picked["features"]] == [3, 5, 7]


def test_envelope_filters(countries: str) -> None:
    box = "2,46,3,47"  # central France
    hits = q(
        countries,
        geometry=box,
        geometryType="esriGeometryEnvelope",
        inSR="4326",
        outFields="name",
        returnGeometry="false",
    )
    assert [f["attributes"]["name"] for f in hits["features"]] == ["France"]
    json_box = '{"xmin":2,"ymin":46,"xmax":3,"ymax":47,"spatialReference":{"wkid":4326}}'
    assert q(countries, geometry=json_box, returnCountOnly="true") == {"count": 1}
    point = q(
        countries, geometry="2.35,48.85", geometryType="esriGeometryPoint", returnCountOnly="true"
    )
    assert point == {"count": 1}
    loose = q(
        countries,
        geometry=box,
        spatialRel="esriSpatialRelEnvelopeIntersects",
        returnCountOnly="true",
    )
    assert loose["count"] >= 1


def test_extent_only(countries: str) -> None:
    body = q(countries, where="iso_a3 = 'FRA'", returnExtentOnly="true")
    extent = body["extent"]
    assert extent["xmin"] == pytest.approx(-54.52, abs=0.01)
    assert extent["spatialReference"]["wkid"] == 4326
    both = q(countries, where="iso_a3 = 'FRA'", returnExtentOnly="true", returnCountOnly="true")
    assert both["count"] == 1 and both["extent"] == extent
    geojson = q(countries, where="iso_a3 = 'FRA'", returnExtentOnly="true", f="geojson")
    assert geojson["extent"]["bbox"][0] == pytest.approx(-54.52, abs=0.01)


def test_geojson(countries: str) -> None:
    answer = httpx.get(
        countries, params={"where": "iso_a3='FRA'", "outFields": "name", "f": "geojson"}
    )
    assert answer.headers["content-type"].startswith("application/geo+json")
    body = answer.json()
    assert body["type"] == "FeatureCollection"
    assert body["properties"] == {"exceededTransferLimit": False}
    feature = body["features"][0]
    assert feature["id"] == 44 and feature["properties"] == {"name": "France"}
    assert feature["geometry"]["type"] == "MultiPolygon"
    ring = feature["geometry"]["coordinates"][0][0]
    area = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in itertools.pairwise(ring))
    assert area > 0  # RFC 7946: exterior rings counter-clockwise


def test_projection_round_trip(countries: str) -> None:
    """nybb (EPSG:2263, US feet) comes out in WGS84 matching pyproj on the source file."""
    url = countries.replace("World", "NYC")
    body = q(url, where="BoroName = 'Staten Island'", outSR="4326", geometryPrecision="6")
    assert body["spatialReference"] == {"wkid": 4326, "latestWkid": 4326}
    served = shapely.MultiLineString(body["features"][0]["geometry"]["rings"])
    _, _, geometry, fields = pyogrio.raw.read(f"/vsizip/{DATA_DIR / 'nybb_16a.zip'}/nybb.shp")
    names = list(fields[1])
    source = shapely.from_wkb(geometry[names.index("Staten Island")])
    move = Transformer.from_crs(2263, 4326, always_xy=True)
    expected = shapely.transform(
        source, lambda c: np.column_stack(move.transform(c[:, 0], c[:, 1]))
    )
    # every ring, every vertex: within the 6 decimals asked for
    assert shapely.hausdorff_distance(served, shapely.boundary(expected)) < 1e-6
    assert len(served.geoms) == shapely.get_num_geometries(shapely.boundary(expected))
    native = q(
        url, where="BoroName = 'Staten Island'", returnGeometry="false", outFields="Shape_Area"
    )
    assert native["features"][0]["attributes"]["Shape_Area"] == pytest.approx(1623827424, rel=1e-3)


@pytest.mark.parametrize(
    "params",
    [
        {"where": "name = 'x'; DROP TABLE naturalearth_lowres"},
        {"where": "name = 'x' OR 1=1 --"},
        {"where": "name = 'x' /* */"},
        {"where": "pop_est > (SELECT max(pop_est) FROM naturalearth_lowres)"},
        {"where": "sqlite_version() = 1"},
        {"where": 'name = "name" UNION SELECT * FROM gpkg_contents'},
        {"where": "nope = 1"},
        {"where": "name ="},
        {"where": "((((" * 100},
        {"outFields": "name, (SELECT 1)"},
        {"outFields": "name;DROP"},
        {"orderByFields": "name; DROP TABLE x"},
        {"orderByFields": "name ASC, 1"},
        {"orderByFields": "name SIDEWAYS"},
        {"objectIds": "1,2) OR (1=1"},
        {"resultOffset": "-1"},
        {"resultRecordCount": "ten"},
        {"geometry": "{bad json"},
        {"geometry": "1,2,3"},
        {"spatialRel": "esriSpatialRelRelation"},
        {"outSR": "not-a-crs"},
        {"sqlFormat": "native"},
        {"returnCountOnly": "maybe"},
        # Found by tests/fuzz/test_parser_fuzz.py (each was a 500):
        {"inSR": "²", "geometry": "2,46,3,47"},  # isdigit() but not int()
        {"outSR": "9" * 5000},  # beyond int()'s 4300-digit limit
        {"geometry": "0,91", "inSR": "4326", "distance": "10"},  # buffered beyond the pole
        {"geometry": "0,0", "inSR": "4326", "distance": "5e-324"},  # a NaN buffer
        {"outSR": '"1e999"'},  # not a 500, but PROJ searched its database for 300 ms
    ],
)
def test_bad_and_hostile_input(countries: str, params: dict[str, str]) -> None:
    answer = httpx.get(countries, params={"f": "json", **params})
    assert answer.status_code == 200
    error = answer.json()["error"]
    assert error["code"] == 400 and isinstance(error["details"], list)
    text = answer.text.lower()
    assert "sqlite" not in text.replace("sqlite_version", "") and "traceback" not in text
    assert q(countries, where="1=1", returnCountOnly="true") == {"count": 177}


def test_fuzz_findings_answer_normally(countries: str) -> None:
    """Inputs the parser fuzzer found crashing the query (500s), now answered."""
    leading_zeros = "0" * 5000 + "1"  # int() counts the zeros towards its digit limit
    assert q(countries, where=f"OBJECTID = {leading_zeros}", returnCountOnly="true") == {"count": 1}
    # A zero-size box in another spatial reference (segmentize with a zero length).
    point_box = q(countries, geometry="261601,6251140,261601,6251140", inSR="3857")
    assert "error" not in point_box and point_box["features"]


def test_literal_reading_of_quotes(countries: str) -> None:
    """An injection attempt inside a string literal is just a string."""
    assert q(countries, where="name = 'x'' OR ''1''=''1'", returnCountOnly="true") == {"count": 0}


def test_layer_advertises_what_it_serves(countries: str) -> None:
    layer = httpx.get(countries.rsplit("/query", 1)[0], params={"f": "json"}).json()
    assert layer["supportedQueryFormats"] == "JSON, geoJSON"
    assert layer["advancedQueryCapabilities"]["supportsPagination"] is True
    advanced = layer["advancedQueryCapabilities"]
    assert advanced["supportsStatistics"] and advanced["supportsDistinct"]
    assert advanced["supportsCountDistinct"] is False  # COUNT(DISTINCT x) is not served


def test_html_query_form(countries: str) -> None:
    form = httpx.get(countries)
    assert form.headers["content-type"].startswith("text/html")
    assert 'name="where"' in form.text and "Results" not in form.text
    done = httpx.get(
        countries,
        params={"where": "iso_a3 = 'FRA'", "outFields": "name,iso_a3", "returnGeometry": "false"},
    )
    assert "<th>name</th>" in done.text and "<td>France</td>" in done.text
    assert "1 feature." in done.text
    hostile = httpx.get(
        countries, params={"where": "name = '<script>x</script>'", "outFields": "name"}
    )
    assert "<script>" not in hostile.text and "0 features." in hostile.text
    bad = httpx.get(countries, params={"where": "nope = 1"})
    assert "Unknown field &#39;nope&#39;" in bad.text


def test_layer_page_lists_fields(countries: str) -> None:
    page = httpx.get(countries.rsplit("/query", 1)[0])
    assert "<td>pop_est</td><td>(type: esriFieldTypeDouble)</td>" in page.text
    assert 'href="/arcgis/rest/services/World/FeatureServer/0/query"' in page.text


def test_statistics(countries: str) -> None:
    rows = _source_rows()
    stats = json.dumps(
        [
            {
                "statisticType": "count",
                "onStatisticField": "OBJECTID",
                "outStatisticFieldName": "n",
            },
            {"statisticType": "sum", "onStatisticField": "pop_est", "outStatisticFieldName": "pop"},
            {"statisticType": "max", "onStatisticField": "name", "outStatisticFieldName": "last"},
            {"statisticType": "avg", "onStatisticField": "gdp_md_est"},
            {
                "statisticType": "stddev",
                "onStatisticField": "pop_est",
                "outStatisticFieldName": "sd",
            },
        ]
    )
    body = q(
        countries,
        outStatistics=stats,
        groupByFieldsForStatistics="continent",
        orderByFields="n DESC, continent",
        havingClause="COUNT(OBJECTID) > 5",
    )
    continents = sorted({r["continent"] for r in rows})
    expected = []
    for continent in continents:
        members = [r for r in rows if r["continent"] == continent]
        if len(members) > 5:
            expected.append((-len(members), continent, members))
    expected.sort(key=lambda e: (e[0], e[1]))
    got = [f["attributes"] for f in body["features"]]
    assert [a["continent"] for a in got] == [e[1] for e in expected]
    first, members = got[0], expected[0][2]
    assert first["n"] == len(members)
    assert first["pop"] == pytest.approx(sum(r["pop_est"] for r in members))
    assert first["last"] == max(r["name"] for r in members)
    assert first["AVG_GDP_MD_EST"] == pytest.approx(
        sum(r["gdp_md_est"] for r in members) / len(members)
    )
    assert first["sd"] == pytest.approx(float(np.std([r["pop_est"] for r in members], ddof=1)))
    assert [f["name"] for f in body["fields"]] == [
        "continent",
        "n",
        "pop",
        "last",
        "AVG_GDP_MD_EST",
        "sd",
    ]
    assert [f["type"] for f in body["fields"]][1:3] == [
        "esriFieldTypeInteger",
        "esriFieldTypeDouble",
    ]
    assert body["exceededTransferLimit"] is False


def test_statistics_without_groups_and_with_filters(countries: str) -> None:
    """pyesridump's min/max object id query, and a filtered count."""
    body = q(
        countries,
        outFields="",
        outStatistics=json.dumps(
            [
                {
                    "statisticType": "min",
                    "onStatisticField": "OBJECTID",
                    "outStatisticFieldName": "lo",
                },
                {
                    "statisticType": "max",
                    "onStatisticField": "OBJECTID",
                    "outStatisticFieldName": "hi",
                },
            ]
        ),
    )
    assert body["features"] == [{"attributes": {"lo": 1, "hi": 177}}]
    europe = q(
        countries,
        where="continent = 'Europe'",
        outStatistics=json.dumps([{"statisticType": "count", "onStatisticField": "name"}]),
    )
    expected = sum(1 for r in _source_rows() if r["continent"] == "Europe")
    assert europe["features"][0]["attributes"] == {"COUNT_NAME": expected}


def test_distinct_values(countries: str) -> None:
    body = q(
        countries,
        where="1=1",
        outFields="continent",
        returnDistinctValues="true",
        returnGeometry="false",
        orderByFields="continent",
    )
    values = [f["attributes"]["continent"] for f in body["features"]]
    assert values == sorted({r["continent"] for r in _source_rows()})
    count = q(countries, outFields="continent", returnDistinctValues="true", returnCountOnly="true")
    assert count == {"count": len(values)}


@pytest.mark.parametrize(
    "params",
    [
        {"outStatistics": "not json"},
        {"outStatistics": "[]"},
        {"outStatistics": '[{"statisticType": "median", "onStatisticField": "pop_est"}]'},
        {"outStatistics": '[{"statisticType": "sum", "onStatisticField": "name"}]'},
        {"outStatistics": '[{"statisticType": "count", "onStatisticField": "pop_est) FROM x --"}]'},
        {
            "outStatistics": '[{"statisticType": "count", "onStatisticField": "name", '
            '"outStatisticFieldName": "x\\" FROM gpkg_contents --"}]'
        },
        {
            "outStatistics": '[{"statisticType": "count", "onStatisticField": "name"}]',
            "groupByFieldsForStatistics": "continent; DROP TABLE x",
        },
        {
            "outStatistics": '[{"statisticType": "count", "onStatisticField": "name"}]',
            "havingClause": "COUNT(name) > (SELECT 1)",
        },
        {
            "outStatistics": '[{"statisticType": "count", "onStatisticField": "name"}]',
            "orderByFields": "nope",
        },
        {"havingClause": "COUNT(name) > 1"},
        {"returnDistinctValues": "true", "outFields": "*"},
        {"where": "COUNT(name) > 1"},
    ],
)
def test_hostile_statistics(countries: str, params: dict[str, str]) -> None:
    error = q(countries, **params)["error"]
    assert error["code"] == 400 and "sqlite" not in json.dumps(error).lower()


def _source_shapes() -> dict[str, Any]:
    meta, _, geometry, columns = pyogrio.raw.read(f"/vsizip/{DATA_DIR / 'naturalearth_lowres.zip'}")
    names = list(columns[list(meta["fields"]).index("name")])
    return dict(zip(names, shapely.from_wkb(geometry), strict=True))


def _names(countries: str, **params: Any) -> set[str]:
    body = q(countries, outFields="name", returnGeometry="false", resultRecordCount=2000, **params)
    assert "error" not in body, body
    return {f["attributes"]["name"] for f in body["features"]}


TRIANGLE = {"rings": [[[0, 40], [20, 60], [20, 40], [0, 40]]], "spatialReference": {"wkid": 4326}}


@pytest.mark.parametrize(
    "relation",
    ["Intersects", "Contains", "Within", "Touches", "Overlaps", "Crosses", "EnvelopeIntersects"],
)
def test_polygon_query_geometry(countries: str, relation: str) -> None:
    shape = shapely.Polygon(TRIANGLE["rings"][0])
    tests = {
        "Intersects": shapely.intersects,
        "Contains": shapely.contains,
        "Within": shapely.within,
        "Touches": shapely.touches,
        "Overlaps": shapely.overlaps,
        "Crosses": shapely.crosses,
        "EnvelopeIntersects": lambda a, b: shapely.intersects(
            shapely.envelope(a), shapely.envelope(b)
        ),
    }
    expected = {
        name for name, country in _source_shapes().items() if tests[relation](shape, country)
    }
    got = _names(
        countries,
        geometry=json.dumps(TRIANGLE),
        geometryType="esriGeometryPolygon",
        spatialRel=f"esriSpatialRel{relation}",
    )
    assert got == expected
    if relation == "Intersects":
        assert {"Germany", "Switzerland", "Austria"} <= got


def test_within_means_the_feature_contains_the_query(countries: str) -> None:
    paris = json.dumps({"x": 2.35, "y": 48.86})
    assert _names(
        countries,
        geometry=paris,
        geometryType="esriGeometryPoint",
        spatialRel="esriSpatialRelWithin",
    ) == {"France"}
    assert (
        _names(
            countries,
            geometry=paris,
            geometryType="esriGeometryPoint",
            spatialRel="esriSpatialRelContains",
        )
        == set()
    )


def test_polyline_and_multipoint(countries: str) -> None:
    line = {"paths": [[[2.35, 48.86], [13.4, 52.52]]]}  # Paris to Berlin
    shape = shapely.MultiLineString(line["paths"])
    expected = {n for n, c in _source_shapes().items() if shapely.intersects(shape, c)}
    assert (
        _names(countries, geometry=json.dumps(line), geometryType="esriGeometryPolyline")
        == expected
    )
    assert {"France", "Germany"} <= expected
    points = {"points": [[2.35, 48.86], [139.69, 35.69]]}
    assert _names(
        countries, geometry=json.dumps(points), geometryType="esriGeometryMultipoint"
    ) == {"France", "Japan"}


def test_distance_buffers_on_the_ground(countries: str) -> None:
    """100 km around Geneva reaches France and Switzerland, not Germany or Austria."""
    geneva = "6.14,46.2"
    near = _names(
        countries,
        geometry=geneva,
        geometryType="esriGeometryPoint",
        distance="100",
        units="esriSRUnit_Kilometer",
    )
    assert {"France", "Switzerland"} <= near and not {"Germany", "Austria"} & near
    far = _names(
        countries,
        geometry=geneva,
        geometryType="esriGeometryPoint",
        distance="300000",
        units="esriSRUnit_Meter",
    )
    assert {"Germany", "Italy"} <= far


def test_max_allowable_offset_generalizes(countries: str) -> None:
    full = q(countries, where="iso_a3 = 'CAN'", outFields="name")
    coarse = q(countries, where="iso_a3 = 'CAN'", outFields="name", maxAllowableOffset="1")

    def vertices(body: dict[str, Any]) -> int:
        return sum(len(r) for r in body["features"][0]["geometry"]["rings"])

    assert vertices(coarse) < vertices(full) / 2


@pytest.mark.parametrize(
    "params",
    [
        {
            "geometry": '{"rings": [[[0, 0], [1, "x"], [0, 1]]]}',
            "geometryType": "esriGeometryPolygon",
        },
        {"geometry": '{"paths": []}', "geometryType": "esriGeometryPolyline"},
        # Found by make fuzz-parsers: buffers that took minutes and gigabytes.
        {"geometry": "1,2", "geometryType": "esriGeometryPoint", "distance": "5.03e16"},
        {
            "geometry": '{"points": ['
            + ", ".join(f"[{i % 90}, {i % 45}]" for i in range(201))
            + "]}",
            "geometryType": "esriGeometryMultipoint",
            "distance": "1000",
        },
        # Found by make fuzz-parsers: parts too short for shapely.
        {"geometry": '{"paths": [[]]}', "geometryType": "esriGeometryPolyline"},
        {"geometry": '{"paths": [[[1, 2]]]}', "geometryType": "esriGeometryPolyline"},
        {"geometry": '{"rings": [[[1, 2], [3, 4]]]}', "geometryType": "esriGeometryPolygon"},
        {"geometry": '{"x": NaN, "y": 1}', "geometryType": "esriGeometryPoint"},
        {"geometry": '{"x": 1e400, "y": 1}', "geometryType": "esriGeometryPoint"},
        {"geometry": "1,2", "geometryType": "esriGeometryPoint", "distance": "-5"},
        {
            "geometry": "1,2",
            "geometryType": "esriGeometryPoint",
            "distance": "5",
            "units": "cubits",
        },
        {"geometry": "1,2", "inSR": "999999"},
        {"maxAllowableOffset": "-1"},
    ],
)
def test_bad_geometries(countries: str, params: dict[str, str]) -> None:
    error = q(countries, **params)["error"]
    assert error["code"] == 400


def test_service_level_query(countries: str) -> None:
    service = countries.rsplit("/0/query", 1)[0] + "/query"
    forms = [
        json.dumps([{"layerId": 0, "where": "iso_a3 = 'FRA'", "outFields": "name"}]),
        json.dumps({"0": "iso_a3 = 'FRA'"}),
        "0:iso_a3 = 'FRA'",
    ]
    for layer_defs in forms:
        body = q(service, layerDefs=layer_defs, returnGeometry="false", outFields="name")
        assert [layer["id"] for layer in body["layers"]] == [0]
        assert [f["attributes"]["name"] for f in body["layers"][0]["features"]] == ["France"]
    counted = q(
        service, layerDefs=json.dumps({"0": "continent = 'Europe'"}), returnCountOnly="true"
    )
    expected = sum(1 for r in _source_rows() if r["continent"] == "Europe")
    assert counted == {"layers": [{"id": 0, "count": expected}]}
    ids = q(service, geometry="2,46,3,47", returnIdsOnly="true")
    assert ids["layers"][0]["objectIds"] == [44]
    for bad in ("[1, 2]", '{"7": "1=1"}', "x:1=1", '[{"layerId": 0, "where": "nope = 1"}]'):
        assert q(service, layerDefs=bad)["error"]["code"] == 400
