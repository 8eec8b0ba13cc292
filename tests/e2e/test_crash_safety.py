"""Crash safety of edits: kill -9 the server while applyEdits batches stream in, restart it,
and check that each batch is wholly present or wholly absent, that no acknowledged batch is
lost, and that the data is sound: the maintained count, the counted rows and the spatial index
agree (and SQLite's integrity check passes on a GeoPackage). With
``GEOSITE_TEST_FEATURE_DATA=postgis`` the layer lives in PostGIS. ``GEOSITE_CRASH_ROUNDS`` sets
the rounds (20 in the suite; ``make crash-test`` runs 100)."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import threading
import time
from pathlib import Path

import httpx

from geosite.storage.sqlite import SqliteSiteStore
from tests import pg
from tests.conftest import ON_POSTGIS
from tests.e2e.test_serve import PASSWORD, Server, publish_point

ROUNDS = int(os.environ.get("GEOSITE_CRASH_ROUNDS", "20"))
BATCH = 50


def _stream(
    url: str, token: str, round_no: int, acknowledged: list[int], stop: threading.Event
) -> None:
    """Send batches until the server dies; note the batches it acknowledged."""
    batch = 0
    with httpx.Client(timeout=10) as http:
        while not stop.is_set():
            tag = round_no * 100_000 + batch
            adds = [
                {"attributes": {"batch": tag, "n": i}, "geometry": {"x": i % 90, "y": batch % 45}}
                for i in range(BATCH)
            ]
            try:
                answer = http.post(
                    url, data={"f": "json", "token": token, "adds": json.dumps(adds)}
                ).json()
            except (httpx.HTTPError, ValueError):
                return  # the server is gone
            results = answer.get("addResults", [])
            if len(results) == BATCH and all(r["success"] for r in results):
                acknowledged.append(tag)
            batch += 1


def test_killed_mid_edit_loses_no_acknowledged_batch(tmp_path: Path) -> None:
    data_dir = tmp_path / "site"
    server = Server(data_dir, "--admin-password", PASSWORD)
    try:
        token = server.token()
        properties = {"batch": -1, "n": 0}
        publish_point(server, token, tmp_path, "Field", properties, "Query,Create,Update,Delete")
    finally:
        server.stop()
    rng = random.Random(20261129)
    acknowledged: list[int] = []
    for round_no in range(ROUNDS):
        server = Server(data_dir)
        try:
            token = server.token()
            url = server.url + "/arcgis/rest/services/Field/FeatureServer/0/applyEdits"
            stop = threading.Event()
            sender = threading.Thread(
                target=_stream, args=(url, token, round_no, acknowledged, stop)
            )
            sender.start()
            time.sleep(rng.uniform(0.05, 1.0))
            os.kill(server.process.pid, signal.SIGKILL)  # no shutdown of any kind
            server.process.wait()
            stop.set()
            sender.join(timeout=15)
        finally:
            server.stop()

    server = Server(data_dir)
    try:
        rows: dict[int, int] = {}
        offset = 0
        query = server.url + "/arcgis/rest/services/Field/FeatureServer/0/query"
        while True:
            page = httpx.get(
                query,
                params={
                    "f": "json",
                    "where": "1=1",
                    "outFields": "batch",
                    "returnGeometry": "false",
                    "orderByFields": "OBJECTID",
                    "resultOffset": str(offset),
                },
            ).json()
            for feature in page["features"]:
                tag = feature["attributes"]["batch"]
                rows[tag] = rows.get(tag, 0) + 1
            offset += len(page["features"])
            if not page.get("exceededTransferLimit"):
                break
        counts = [
            httpx.get(query, params={"f": "json", "where": where, "returnCountOnly": "true"})
            .json()
            .get("count")
            for where in ("1=1", "OBJECTID > 0")  # the maintained count, and one counted
        ]
    finally:
        server.stop()
    partial = {tag: n for tag, n in rows.items() if tag >= 0 and n != BATCH}
    assert partial == {}  # every batch wholly present or wholly absent
    missing = [tag for tag in acknowledged if rows.get(tag) != BATCH]
    assert missing == []  # nothing acknowledged was lost
    assert len(acknowledged) > 0
    assert counts == [sum(rows.values())] * 2
    if ON_POSTGIS:
        location, table = _layer(data_dir)
        assert location.startswith("postgis://")
        assert pg.layer_counts(location, table, "Shape") == (sum(rows.values()),) * 3
        return
    gpkg = next((data_dir / "directories").rglob("*.gpkg"))
    with sqlite3.connect(gpkg) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        table = conn.execute("SELECT table_name FROM gpkg_contents").fetchone()[0]
        stored = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        indexed = conn.execute(f'SELECT count(*) FROM "rtree_{table}_Shape"').fetchone()[0]
        counted = conn.execute("SELECT feature_count FROM gpkg_ogr_contents").fetchone()[0]
    assert stored == indexed == counted == sum(rows.values())


def test_two_workers_edit_one_layer(tmp_path: Path) -> None:
    """Both worker processes write the same GeoPackage at once: nothing lost or doubled."""
    server = Server(tmp_path / "site", "--workers", "2", "--admin-password", PASSWORD)
    try:
        token = server.token()
        publish_point(server, token, tmp_path, "Shared", {"batch": -1, "n": 0}, "Query,Create")
        url = server.url + "/arcgis/rest/services/Shared/FeatureServer/0"
        ids: list[int] = []
        problems: list[object] = []
        lock = threading.Lock()

        def client(number: int) -> None:
            for batch in range(20):
                adds = [
                    {
                        "attributes": {"batch": number * 100 + batch, "n": i},
                        "geometry": {"x": i, "y": batch},
                    }
                    for i in range(25)
                ]
                with httpx.Client(timeout=60) as http:  # a new connection: either worker
                    answer = http.post(
                        url + "/addFeatures",
                        data={"f": "json", "token": token, "features": json.dumps(adds)},
                    ).json()
                results = answer.get("addResults", [])
                if len(results) != 25 or not all(r["success"] for r in results):
                    problems.append(answer)
                    return
                with lock:
                    ids.extend(r["objectId"] for r in results)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert problems == []
        assert len(ids) == len(set(ids)) == 8 * 20 * 25
        count = httpx.get(url + "/query", params={"f": "json", "returnCountOnly": "true"}).json()
        assert count == {"count": 1 + len(ids)}
        found = httpx.post(
            url + "/query",
            data={"f": "json", "returnIdsOnly": "true", "where": "batch >= 0"},
        ).json()["objectIds"]
        assert sorted(found) == sorted(ids)
    finally:
        server.stop()


def _layer(data_dir: Path) -> tuple[str, str]:
    """(data location, table) of the service Field, from the site's configuration store."""
    store = SqliteSiteStore(data_dir / "config-store" / "site.db")
    try:
        service = store.get_service("", "Field", "FeatureServer")
    finally:
        store.close()
    assert service is not None
    return service.data.location, service.data.layers[0].table
