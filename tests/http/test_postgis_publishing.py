"""Publishing into PostGIS (issue 18, item 2): a site whose machine has a data store
(``--data-store postgresql://...``) loads new services into a schema of their own, and a
service can be published into a registered database (``properties.dataStore``). The same
data published into a GeoPackage answers every query, edit and rollback the same way."""

from __future__ import annotations

import json
import secrets
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests import pg
from tests.conftest import LiveSite, make_site
from tests.pg import PgServer

ROLE = "gs_publisher"


def _features() -> list[dict[str, Any]]:
    kinds = ("river", "lake", "sea", None)
    return [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [i % 10 - 5.0, i // 10 - 2.5]},
            "properties": {
                "name": f"Ort {i:02d}" if i % 9 else f"ÖRT {i:02d}",
                "kind": kinds[i % 4],
                "n": i,
                "v": None if i % 6 == 5 else i / 4,
                "day": f"2021-03-{1 + i % 28:02d}T12:00:00Z",
            },
        }
        for i in range(50)
    ]


@pytest.fixture(scope="module")
def pg_site(postgres: PgServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    url = postgres.create_database("published")
    site = make_site(tmp_path_factory.mktemp("pgsite"), data_store=url)
    yield site
    site.stop()


@pytest.fixture(scope="module")
def token(pg_site: LiveSite) -> str:
    return pg_site.token()


def _post(site: LiveSite, path: str, token: str, **data: Any) -> dict[str, Any]:
    answer = httpx.post(site.admin + path, data={"f": "json", "token": token, **data}, timeout=120)
    return answer.json()  # type: ignore[no-any-return]


def _upload(site: LiveSite, token: str, tmp_path: Path, features: list[dict[str, Any]]) -> Any:
    """An upload of ``features`` as places.geojson (the layer's name: the same every time)."""
    path = tmp_path / "places.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return httpx.post(
        site.admin + "/uploads/upload",
        data={"f": "json", "token": token},
        files={"itemFile": (path.name, path.read_bytes())},
    ).json()["item"]


def _publish(
    site: LiveSite,
    token: str,
    name: str,
    tmp_path: Path,
    kind: str = "FeatureServer",
    **properties: str,
) -> None:
    item = _upload(site, token, tmp_path, _features())
    service = {
        "serviceName": name,
        "type": kind,
        "capabilities": "Query,Create,Update,Delete" if kind == "FeatureServer" else "",
        "properties": {"itemID": item["itemID"], **properties},
    }
    answer = _post(site, "/services/createService", token, service=json.dumps(service))
    assert answer.get("status") == "success", answer


def _rest(site: LiveSite, name: str, path: str, method: str = "GET", **params: Any) -> Any:
    url = f"{site.http}/arcgis/rest/services/{name}/FeatureServer/{path}"
    fields = {"f": "json", **params}
    if method == "GET":
        return httpx.get(url, params=fields, timeout=60).json()
    return httpx.post(url, data=fields, timeout=60).json()


def _map(site: LiveSite) -> httpx.Response:
    """An image of the whole of FaultyMap."""
    url = f"{site.http}/arcgis/rest/services/FaultyMap/MapServer/export"
    params = {"bbox": "-180,-90,180,90", "bboxSR": "4326", "size": "200,100", "f": "image"}
    return httpx.get(url, params=params, timeout=60)


QUERIES: list[dict[str, str]] = [
    {"where": "1=1", "outFields": "*", "orderByFields": "n"},
    {"where": "kind = 'lake' AND v > 2", "outFields": "name,v", "orderByFields": "v DESC"},
    {"where": "UPPER(name) LIKE 'ÖRT%'", "returnCountOnly": "true"},
    {"where": "kind IS NULL OR n BETWEEN 3 AND 7", "returnIdsOnly": "true"},
    {"where": "day >= DATE '2021-03-15'", "outFields": "n,day", "orderByFields": "day,n"},
    {"where": "1=1", "outFields": "kind", "returnDistinctValues": "true", "orderByFields": "kind"},
    {
        "where": "n < 40",
        "groupByFieldsForStatistics": "kind",
        "orderByFields": "kind",
        "outStatistics": json.dumps(
            [
                {"statisticType": t, "onStatisticField": f, "outStatisticFieldName": f"{t}_{f}"}
                for t, f in (("count", "n"), ("sum", "v"), ("avg", "v"), ("stddev", "n"))
            ]
        ),
    },
    {
        "geometry": "-2.5,-1.5,1.5,0.5",
        "geometryType": "esriGeometryEnvelope",
        "outFields": "n",
        "orderByFields": "n",
    },
    {
        "geometry": json.dumps({"rings": [[[-5, -3], [0, 2], [3, -3], [-5, -3]]]}),
        "geometryType": "esriGeometryPolygon",
        "spatialRel": "esriSpatialRelContains",
        "returnCountOnly": "true",
    },
    {"where": "1=1", "outFields": "n", "resultOffset": "10", "resultRecordCount": "7"},
    {"where": "n > 45", "outSR": "3857", "returnGeometry": "true", "outFields": "n"},
    {"where": "1=1", "returnExtentOnly": "true"},
]


def _same(a: Any, b: Any) -> None:
    """Equal, numbers within a relative 1e-9 (sums of doubles in another order)."""
    if isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-9), (a, b)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), (a, b)
        for key in a:
            _same(a[key], b[key])
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), (a, b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    else:
        assert a == b


def test_published_into_the_data_store_answers_as_a_geopackage(
    pg_site: LiveSite, token: str, tmp_path: Path
) -> None:
    _publish(pg_site, token, "InPostGIS", tmp_path)
    _publish(pg_site, token, "InGeoPackage", tmp_path, dataStore="GeoPackage")
    stored = pg_site.store.get_service("", "InPostGIS", "FeatureServer")
    assert stored is not None and stored.data.location.startswith("postgis://site/s_")
    assert stored.definition["properties"]["dataStore"] == "site"
    embedded = pg_site.store.get_service("", "InGeoPackage", "FeatureServer")
    assert embedded is not None and embedded.data.location.endswith(".gpkg")
    for params in QUERIES:
        for fmt in ("json", "geojson") if "outStatistics" not in params else ("json",):
            a = _rest(pg_site, "InPostGIS", "0/query", **{**params, "f": fmt})
            b = _rest(pg_site, "InGeoPackage", "0/query", **{**params, "f": fmt})
            assert "error" not in a, (params, a)
            _same(a, b)
    assert _rest(pg_site, "InPostGIS", "0") == _rest(pg_site, "InGeoPackage", "0")
    assert _rest(pg_site, "InPostGIS", "0/12") == _rest(pg_site, "InGeoPackage", "0/12")


def test_edits_and_rollback_answer_the_same(pg_site: LiveSite, token: str) -> None:
    edits = [
        (
            "addFeatures",
            {
                "features": json.dumps(
                    [{"attributes": {"n": 100, "name": "neu"}, "geometry": {"x": 20.0, "y": 30.0}}]
                )
            },
        ),
        (
            "updateFeatures",
            {"features": json.dumps([{"attributes": {"OBJECTID": 3, "kind": "sea"}}])},
        ),
        ("deleteFeatures", {"objectIds": "4,5"}),
        ("deleteFeatures", {"where": "n >= 48"}),
        (
            "applyEdits",
            {
                # No add here: a rolled-back add uses up its OBJECTID in PostGIS (a sequence,
                # as ArcGIS's enterprise geodatabases do), which a GeoPackage gives again.
                "updates": json.dumps(
                    [{"attributes": {"OBJECTID": 6, "n": 1}}, {"attributes": {"OBJECTID": 999}}]
                ),
                "deletes": "7",
                "rollbackOnFailure": "true",
            },
        ),
        (
            "applyEdits",
            {
                "adds": json.dumps([{"attributes": {"n": 102}, "geometry": {"x": 2, "y": 2}}]),
                "updates": json.dumps([{"attributes": {"OBJECTID": 999, "n": 1}}]),
                "rollbackOnFailure": "false",
            },
        ),
    ]
    for operation, params in edits:
        a = _rest(pg_site, "InPostGIS", f"0/{operation}", "POST", token=token, **params)
        b = _rest(pg_site, "InGeoPackage", f"0/{operation}", "POST", token=token, **params)
        assert a == b, (operation, a, b)
    query = {"where": "1=1", "outFields": "*", "orderByFields": "OBJECTID"}
    _same(
        _rest(pg_site, "InPostGIS", "0/query", **query),
        _rest(pg_site, "InGeoPackage", "0/query", **query),
    )
    # The extent grew with the point added at (20, 30), in both.
    assert _rest(pg_site, "InPostGIS", "0")["extent"]["xmax"] == 20.0


def test_deleting_the_service_drops_its_schema(
    pg_site: LiveSite, token: str, postgres: PgServer, tmp_path: Path
) -> None:
    _publish(pg_site, token, "ShortLived", tmp_path)
    stored = pg_site.store.get_service("", "ShortLived", "FeatureServer")
    assert stored is not None
    schema = stored.data.location.rsplit("/", 1)[1]
    count = f"SELECT count(*) FROM pg_namespace WHERE nspname = '{schema}'"
    assert postgres.psql(count, "published").strip() == "1"
    answer = _post(pg_site, "/services/ShortLived.FeatureServer/delete", token)
    assert answer["status"] == "success"
    assert postgres.psql(count, "published").strip() == "0"


def test_into_a_registered_database(
    pg_site: LiveSite, token: str, postgres: PgServer, tmp_path: Path
) -> None:
    password = secrets.token_urlsafe(16)
    postgres.psql(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{password}'")
    postgres.create_database("registered")
    postgres.psql(f"GRANT CREATE ON DATABASE registered TO {ROLE}")
    hba = postgres.data / "pg_hba.conf"
    hba.write_text(f"host all {ROLE} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
    postgres.psql("SELECT pg_reload_conf()")
    item = {
        "path": "/enterpriseDatabases/gis",
        "type": "egdb",
        "info": {
            "dataStoreConnectionType": "shared",
            "isManaged": False,
            "connectionString": f"postgresql://{ROLE}:{password}@127.0.0.1:{postgres.port}/registered",
        },
    }
    registered = _post(pg_site, "/data/registerItem", token, item=json.dumps(item))
    assert registered["status"] == "success", registered
    _publish(pg_site, token, "Registered", tmp_path, dataStore="/enterpriseDatabases/gis")
    stored = pg_site.store.get_service("", "Registered", "FeatureServer")
    assert stored is not None
    assert stored.data.location.startswith("postgis:///enterpriseDatabases/gis/s_")
    assert password not in json.dumps(stored.definition)
    counted = _rest(pg_site, "Registered", "0/query", where="n < 10", returnCountOnly="true")
    assert counted == {"count": 10}
    owner = "SELECT nspowner::regrole FROM pg_namespace WHERE nspname LIKE 's\\_%'"
    assert ROLE in postgres.psql(owner, "registered")
    refused = _post(pg_site, "/data/unregisterItem", token, itempath="/enterpriseDatabases/gis")
    assert refused["status"] == "error", refused
    _post(pg_site, "/services/Registered.FeatureServer/delete", token)
    done = _post(pg_site, "/data/unregisterItem", token, itempath="/enterpriseDatabases/gis")
    assert done["status"] == "success", done


def test_refusals(pg_site: LiveSite, token: str, tmp_path: Path) -> None:
    for wrong in ("/enterpriseDatabases/nothing", "/fileShares/x", "elsewhere"):
        item = _upload(pg_site, token, tmp_path, _features()[:2])
        service = {
            "serviceName": "Refused",
            "type": "FeatureServer",
            "properties": {"itemID": item["itemID"], "dataStore": wrong},
        }
        answer = _post(pg_site, "/services/createService", token, service=json.dumps(service))
        assert answer["status"] == "error" and answer["code"] in (400, 404), answer
    assert pg_site.store.get_service("", "Refused", "FeatureServer") is None


def test_a_site_without_a_data_store_refuses_site(tmp_path: Path) -> None:
    site = make_site(tmp_path / "plain", data_store=None)
    try:
        token = site.token()
        item = _upload(site, token, tmp_path, _features()[:2])
        service = {
            "serviceName": "NoStore",
            "type": "FeatureServer",
            "properties": {"itemID": item["itemID"], "dataStore": "site"},
        }
        answer = _post(site, "/services/createService", token, service=json.dumps(service))
        assert answer["status"] == "error" and answer["code"] == 400, answer
        assert "--data-store" in " ".join(answer["messages"])
    finally:
        site.stop()


def test_a_table_published_by_reference(pg_site: LiveSite, token: str, postgres: PgServer) -> None:
    """``properties.dataPath`` = ``/enterpriseDatabases/<name>/<schema.table>`` serves the
    table where it is, under its own key's name; edits write into it; deleting the service
    leaves it; tables that cannot be served are refused with the reason."""
    role, password = "gs_owner", secrets.token_urlsafe(16)
    postgres.psql(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    postgres.create_database("tables")
    postgres.psql(f"GRANT CREATE ON DATABASE tables TO {role}")
    hba = postgres.data / "pg_hba.conf"
    hba.write_text(f"host all {role} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
    postgres.psql("SELECT pg_reload_conf()")
    url = f"postgresql://{role}:{password}@127.0.0.1:{postgres.port}/tables"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA data")
        conn.execute(
            "CREATE TABLE data.places (gid serial PRIMARY KEY, name text, kind varchar(20), "
            "seen date, flag boolean, geom geometry(Point, 4326))"
        )
        conn.execute(
            "INSERT INTO data.places (name, kind, seen, flag, geom) SELECT 'place ' || i, "
            "(ARRAY['a', 'b', 'c'])[1 + i % 3], DATE '2020-01-01' + i, i % 2 = 0, "
            "ST_SetSRID(ST_MakePoint(i, -i), 4326) FROM generate_series(1, 30) AS i"
        )
        conn.execute("CREATE TABLE data.nokey (id integer, geom geometry(Point, 4326))")
        conn.execute("CREATE TABLE data.nosrid (id serial PRIMARY KEY, geom geometry(Point))")
        conn.execute("CREATE TABLE data.fixed (id integer PRIMARY KEY, geom geometry(Point, 4326))")
    item = {
        "path": "/enterpriseDatabases/tables",
        "type": "egdb",
        "info": {"dataStoreConnectionType": "shared", "isManaged": False, "connectionString": url},
    }
    assert _post(pg_site, "/data/registerItem", token, item=json.dumps(item))["status"] == "success"

    def publish(table: str, capabilities: str = "Query,Create,Update,Delete") -> dict[str, Any]:
        service = {
            "serviceName": "ByReference",
            "type": "FeatureServer",
            "capabilities": capabilities,
            "properties": {"dataPath": f"/enterpriseDatabases/tables/{table}"},
        }
        return _post(pg_site, "/services/createService", token, service=json.dumps(service))

    for table, reason in (
        ("data.nokey", "integer key"),
        ("data.nosrid", "no SRID"),
        ("data.missing", "does not exist"),
        ("data.fixed", "no default"),  # adds need a key the database fills in
    ):
        refused = publish(table)
        assert refused["status"] == "error" and refused["code"] == 400, refused
        assert reason in " ".join(refused["messages"]), refused
    assert publish("data.fixed", "Query")["status"] == "success"  # read-only: fine
    _post(pg_site, "/services/ByReference.FeatureServer/delete", token)

    assert publish("data.places")["status"] == "success"
    layer = _rest(pg_site, "ByReference", "0")
    assert layer["objectIdField"] == "gid" and layer["geometryType"] == "esriGeometryPoint"
    assert [f["name"] for f in layer["fields"]] == ["gid", "name", "kind", "seen"]  # no boolean
    assert layer["extent"]["xmax"] == 30 and layer["extent"]["ymin"] == -30
    found = _rest(
        pg_site,
        "ByReference",
        "0/query",
        where="kind = 'a' AND seen < DATE '2020-01-10'",
        outFields="gid,name",
        orderByFields="gid DESC",
    )
    assert found["objectIdFieldName"] == "gid"
    assert [f["attributes"]["gid"] for f in found["features"]] == [6, 3]
    ids = _rest(pg_site, "ByReference", "0/query", where="1=1", returnIdsOnly="true")
    assert ids["objectIdFieldName"] == "gid" and sorted(ids["objectIds"]) == list(range(1, 31))
    geojson = _rest(pg_site, "ByReference", "0/query", objectIds="7", f="geojson", outFields="name")
    assert geojson["features"][0]["id"] == 7
    added = _rest(
        pg_site,
        "ByReference",
        "0/addFeatures",
        "POST",
        token=token,
        features=json.dumps([{"attributes": {"name": "new"}, "geometry": {"x": 50, "y": 50}}]),
    )
    assert added["addResults"][0] == {"objectId": 31, "globalId": None, "success": True}
    changed = _rest(
        pg_site,
        "ByReference",
        "0/updateFeatures",
        "POST",
        token=token,
        features=json.dumps([{"attributes": {"gid": 1, "name": "first"}}]),
    )
    assert changed["updateResults"][0]["success"] is True
    gone = _rest(pg_site, "ByReference", "0/deleteFeatures", "POST", token=token, objectIds="2")
    assert gone["deleteResults"][0]["success"] is True
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM data.places").fetchone() == (30,)
        assert conn.execute("SELECT name FROM data.places WHERE gid = 1").fetchone() == ("first",)
    counted = _rest(pg_site, "ByReference", "0/query", where="1=1", returnCountOnly="true")
    assert counted == {"count": 30}
    refused = _post(pg_site, "/data/unregisterItem", token, itempath="/enterpriseDatabases/tables")
    assert refused["status"] == "error", refused
    assert (
        _post(pg_site, "/services/ByReference.FeatureServer/delete", token)["status"] == "success"
    )
    with psycopg.connect(url) as conn:  # the table is the owner's: it stays
        assert conn.execute("SELECT count(*) FROM data.places").fetchone() == (30,)


def test_a_database_that_stops_and_comes_back(tmp_path: Path) -> None:
    """The site's data store stopped mid-run: queries and edits answer ArcGIS's envelope with
    code 503 within seconds (and the log says so); started again, the service answers as
    before, without a restart of geosite."""
    server = pg.start_server(Path(tempfile.mkdtemp(prefix="geosite-pg-site-")))
    site = make_site(tmp_path / "site", data_store=server.create_database("faulty"))
    try:
        token = site.token()
        _publish(site, token, "Faulty", tmp_path)
        assert _rest(site, "Faulty", "0/query", where="1=1", returnCountOnly="true") == {
            "count": 50
        }
        # A map of the same kind of data, drawn by Mapnik's PostGIS plugin (its own pool).
        _publish(site, token, "FaultyMap", tmp_path, kind="MapServer")
        assert _map(site).headers["content-type"] == "image/png"
        server.stop("immediate")
        started = time.monotonic()
        down = _rest(site, "Faulty", "0/query", where="n > 3", returnCountOnly="true")
        assert down["error"]["code"] == 503, down
        assert "not available" in down["error"]["message"]
        edit = _rest(
            site,
            "Faulty",
            "0/addFeatures",
            "POST",
            token=token,
            features=json.dumps([{"attributes": {"n": 1}, "geometry": {"x": 0, "y": 0}}]),
        )
        assert edit["error"]["code"] == 503, edit
        image = _map(site)
        assert image.headers["content-type"].startswith("application/json")
        assert image.json()["error"]["code"] == 503, image.text
        assert time.monotonic() - started < 30
        logged = _post(site, "/logs/query", token, level="WARNING", filter="{}", pageSize=100)
        assert any("503" in str(m.get("message")) for m in logged["logMessages"]), logged
        server.start()
        # The pool reconnects by itself (its attempts back off): the service answers again
        # within seconds, each request meanwhile a clear 503.
        deadline = time.monotonic() + 30
        while True:
            again = _rest(site, "Faulty", "0/query", where="1=1", returnCountOnly="true")
            if again == {"count": 50} or time.monotonic() > deadline:
                break
            assert again["error"]["code"] == 503, again
            time.sleep(0.5)
        assert again == {"count": 50}
        while True:  # and Mapnik's own connections come back too
            drawn = _map(site)
            if drawn.headers["content-type"] == "image/png" or time.monotonic() > deadline:
                break
            assert drawn.json()["error"]["code"] == 503, drawn.text
            time.sleep(0.5)
        assert drawn.headers["content-type"] == "image/png", drawn.text
    finally:
        site.stop()
        server.remove()
