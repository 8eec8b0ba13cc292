"""Editors colliding: concurrent single-feature updates and bulk adds lose nothing."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import LiveSite
from tests.http.test_publishing import publish

CLIENTS = 8
UPDATES_PER_CLIENT = 125  # 1,000 single-feature updates in all
ADDS_PER_CLIENT = 1_250  # in batches of 125
BATCH = 125


def test_concurrent_updates_and_adds(fresh_site: LiveSite, tmp_path: Path) -> None:
    site, token = fresh_site, fresh_site.token()
    seed = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [i, 0]},
            "properties": {"client": -1, "seq": -1},
        }
        for i in range(CLIENTS)
    ]
    data = tmp_path / "seed.geojson"
    data.write_text(json.dumps({"type": "FeatureCollection", "features": seed}))
    assert (
        publish(site, token, data, "Busy", capabilities="Query,Create,Update,Delete")["status"]
        == "success"
    )
    layer = f"{site.http}/arcgis/rest/services/Busy/FeatureServer/0"
    acknowledged: dict[int, tuple[int, int]] = {}  # object id -> (client, seq) of adds
    last_update: dict[int, int] = {}  # feature -> last acknowledged seq
    problems: list[Any] = []
    lock = threading.Lock()

    def updater(client: int) -> None:
        feature = client + 1  # each client owns one feature: its last write must win
        with httpx.Client(timeout=60) as http:
            for seq in range(UPDATES_PER_CLIENT):
                edit = [{"attributes": {"OBJECTID": feature, "client": client, "seq": seq}}]
                answer = http.post(
                    layer + "/applyEdits",
                    data={"f": "json", "token": token, "updates": json.dumps(edit)},
                ).json()
                if answer.get("updateResults") != [
                    {"objectId": feature, "globalId": None, "success": True}
                ]:
                    problems.append(answer)
                    return
                last_update[feature] = seq

    def adder(client: int) -> None:
        with httpx.Client(timeout=60) as http:
            for start in range(0, ADDS_PER_CLIENT, BATCH):
                adds = [
                    {
                        "attributes": {"client": client, "seq": seq},
                        "geometry": {"x": client, "y": seq / 100},  # within WGS 84
                    }
                    for seq in range(start, start + BATCH)
                ]
                answer = http.post(
                    layer + "/addFeatures",
                    data={"f": "json", "token": token, "features": json.dumps(adds)},
                ).json()
                results = answer.get("addResults", [])
                if len(results) != BATCH or not all(r["success"] for r in results):
                    problems.append(answer)
                    return
                with lock:
                    for seq, item in zip(range(start, start + BATCH), results, strict=True):
                        if item["objectId"] in acknowledged:
                            problems.append(("duplicate id", item["objectId"]))
                        acknowledged[item["objectId"]] = (client, seq)

    threads = [threading.Thread(target=updater, args=(c,)) for c in range(CLIENTS)]
    threads += [threading.Thread(target=adder, args=(c,)) for c in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []
    assert len(acknowledged) == CLIENTS * ADDS_PER_CLIENT

    stored: dict[int, tuple[int, int]] = {}
    offset = 0
    while True:  # page through everything, ordered by id
        page = httpx.get(
            layer + "/query",
            params={
                "f": "json",
                "where": "1=1",
                "outFields": "OBJECTID,client,seq",
                "returnGeometry": "false",
                "orderByFields": "OBJECTID",
                "resultOffset": str(offset),
            },
        ).json()
        for feature in page["features"]:
            a = feature["attributes"]
            stored[a["OBJECTID"]] = (a["client"], a["seq"])
        offset += len(page["features"])
        if not page.get("exceededTransferLimit"):
            break
    assert len(stored) == CLIENTS + CLIENTS * ADDS_PER_CLIENT  # nothing missing or doubled
    for object_id, expected in acknowledged.items():
        assert stored[object_id] == expected  # every acknowledged add, as acknowledged
    for feature in range(1, CLIENTS + 1):
        assert stored[feature] == (feature - 1, last_update[feature])  # the last update won
    count = httpx.get(layer + "/query", params={"f": "json", "returnCountOnly": "true"}).json()
    assert count == {"count": len(stored)}
