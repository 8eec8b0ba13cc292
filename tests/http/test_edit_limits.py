"""Limits on edited geometries, and their repair outside the layer's write lock (issue 16, 2).

A service's ``maxVerticesPerFeature``, ``maxPartsPerFeature`` and ``maxVerticesPerRequest``
refuse a feature with a per-feature error naming the limit; an invalid polygon is repaired in
a worker process within ``maxGeometryRepairSeconds``; while one client sends the worst geometry
the limits allow, other edits of the layer and requests to other services answer at once.
"""

from __future__ import annotations

import json
import math
import os
import random
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from geosite.engines import repair_pool
from tests.conftest import LiveSite, make_site
from tests.http.test_editing import square_polygon_file
from tests.http.test_publishing import publish

SHAPES = "Shapes/FeatureServer/0"


def _post(site: LiveSite, path: str, token: str, timeout: float = 60, **params: Any) -> Any:
    data = {"f": "json", "token": token}
    data.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()})
    return httpx.post(f"{site.http}/arcgis/rest/services/{path}", data=data, timeout=timeout).json()


def _count(site: LiveSite, service: str = "Shapes") -> int:
    url = f"{site.http}/arcgis/rest/services/{service}/FeatureServer/0/query"
    answer = httpx.get(url, params={"f": "json", "where": "1=1", "returnCountOnly": "true"})
    return int(answer.json()["count"])


def _circle(n: int, radius: float = 0.4, x: float = 0.5, y: float = 0.5) -> list[list[float]]:
    """A clockwise ring of ``n`` points."""
    return [
        [x + radius * math.cos(-2 * math.pi * i / n), y + radius * math.sin(-2 * math.pi * i / n)]
        for i in range(n)
    ]


def _random_ring(n: int, seed: int = 1) -> list[list[float]]:
    """``n`` random points: a ring crossing itself about n²/8 times."""
    rng = random.Random(seed)
    return [[round(rng.random(), 4), round(rng.random(), 4)] for _ in range(n)]


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A site with Shapes (tight limits: 100 vertices, 3 parts, 150 per request, 0.5 s of
    repair), Open (the defaults) and Hasty (0.1 s of repair, the least allowed), all editable
    polygon layers."""
    folder = tmp_path_factory.mktemp("limits")
    site = make_site(folder / "site", max_body_bytes=64 << 20, max_param_bytes=64 << 20)
    token = site.token()
    shapes = square_polygon_file(folder / "shapes.geojson")
    limits = {
        "maxVerticesPerFeature": 100,
        "maxPartsPerFeature": "3",
        "maxVerticesPerRequest": 150,
        "maxGeometryRepairSeconds": 0.5,
    }
    answer = publish(site, token, shapes, "Shapes", capabilities="Query,Editing", **limits)
    assert answer["status"] == "success", answer
    answer = publish(site, token, shapes, "Open", capabilities="Query,Editing")
    assert answer["status"] == "success", answer
    answer = publish(
        site, token, shapes, "Hasty", capabilities="Query,Editing", maxGeometryRepairSeconds=0.1
    )
    assert answer["status"] == "success", answer
    yield site, token
    site.stop()


def _error(answer: dict[str, Any], key: str = "addResults") -> str:
    (only,) = answer[key]
    assert only["success"] is False, answer
    assert only["error"]["code"] == 1000
    return str(only["error"]["description"])


def test_vertices_and_parts_per_feature(limited: tuple[LiveSite, str]) -> None:
    site, token = limited
    before = _count(site)
    too_many = {"geometry": {"rings": [_circle(101)]}, "attributes": {}}
    message = _error(_post(site, SHAPES + "/addFeatures", token, features=[too_many]))
    assert "maxVerticesPerFeature (100)" in message and "101 vertices" in message
    rings = [_circle(4, 0.1, 0.2 * i, 0.2 * i) for i in range(4)]
    parts = {"geometry": {"rings": rings}, "attributes": {}}
    message = _error(_post(site, SHAPES + "/addFeatures", token, features=[parts]))
    assert "maxPartsPerFeature (3)" in message
    # An update is held to the same limits.
    update = {"geometry": {"rings": [_circle(101)]}, "attributes": {"OBJECTID": 1}}
    answer = _post(site, SHAPES + "/updateFeatures", token, features=[update])
    assert "maxVerticesPerFeature" in _error(answer, "updateResults")
    # Exactly at the limit is fine.
    at_limit = {"geometry": {"rings": [_circle(100)]}, "attributes": {}}
    answer = _post(site, SHAPES + "/addFeatures", token, features=[at_limit])
    assert answer["addResults"][0]["success"] is True, answer
    assert _count(site) == before + 1


def test_vertices_per_request(limited: tuple[LiveSite, str]) -> None:
    site, token = limited
    before = _count(site)
    features = [{"geometry": {"rings": [_circle(80)]}, "attributes": {}} for _ in range(2)]
    answer = _post(site, SHAPES + "/addFeatures", token, features=features)
    first, second = answer["addResults"]
    assert first["error"]["code"] == 1003  # rolled back: all or nothing
    assert "maxVerticesPerRequest (150)" in second["error"]["description"]
    assert _count(site) == before
    # Without rollbackOnFailure the first is written and the second refused.
    answer = _post(
        site, SHAPES + "/addFeatures", token, features=features, rollbackOnFailure="false"
    )
    assert [r["success"] for r in answer["addResults"]] == [True, False]
    assert _count(site) == before + 1


def test_invalid_polygons_are_repaired_or_refused_in_time(limited: tuple[LiveSite, str]) -> None:
    site, token = limited
    bowtie = {"geometry": {"rings": [[[0, 0], [0, 2], [2, 0], [2, 2], [0, 0]]]}, "attributes": {}}
    answer = _post(site, SHAPES + "/addFeatures", token, features=[bowtie])
    assert answer["addResults"][0]["success"] is True, answer  # repaired: two triangles
    # 250 random vertices take ~8 s to repair here: far past 0.1 s on any machine CI runs on
    # (100 of them took 0.57 s here, and less than Shapes' 0.5 s on CI).
    before = _count(site, "Hasty")
    tangle = {"geometry": {"rings": [_random_ring(250)]}, "attributes": {}}
    started = time.monotonic()
    hasty = "Hasty/FeatureServer/0/addFeatures"
    message = _error(_post(site, hasty, token, features=[tangle]))
    assert time.monotonic() - started < 5
    assert "maxGeometryRepairSeconds (0.1 s)" in message
    assert _count(site, "Hasty") == before
    assert len(repair_pool.POOL.workers()) <= repair_pool.MAX_WORKERS


def test_repairs_of_one_request_are_bounded_in_all(limited: tuple[LiveSite, str]) -> None:
    """Ten times maxGeometryRepairSeconds in all: 15 tangles cost 2 s, not 15 deadlines.

    Each 200-vertex tangle takes ~4.5 s to repair here: past 0.2 s on a machine 20 times
    faster."""
    site, token = limited
    shapes = square_polygon_file(site.data_dir.parent / "budget.geojson")
    answer = publish(
        site, token, shapes, "Budget", capabilities="Query,Editing", maxGeometryRepairSeconds=0.2
    )
    assert answer["status"] == "success", answer
    tangles = [
        {"geometry": {"rings": [_random_ring(200, seed)]}, "attributes": {}} for seed in range(15)
    ]
    started = time.monotonic()
    answer = _post(
        site,
        "Budget/FeatureServer/0/addFeatures",
        token,
        features=tangles,
        rollbackOnFailure="false",
    )
    assert time.monotonic() - started < 8
    messages = [r["error"]["description"] for r in answer["addResults"]]
    assert "maxGeometryRepairSeconds (0.2 s)" in messages[0]
    assert "in all" in messages[-1], messages


def test_limit_properties_are_validated(limited: tuple[LiveSite, str]) -> None:
    site, token = limited
    shapes = square_polygon_file(site.data_dir.parent / "tuned.geojson")
    assert publish(site, token, shapes, "Tuned", capabilities="Query,Editing")["status"] == (
        "success"
    )
    admin = site.admin + "/services/Tuned.FeatureServer"
    shown = httpx.get(admin, params={"f": "json", "token": token}).json()
    for bad in (
        {"maxVerticesPerFeature": 0},
        {"maxPartsPerFeature": "many"},
        {"maxGeometryRepairSeconds": "NaN"},
    ):
        change = {**shown, "properties": {**shown["properties"], **bad}}
        answer = httpx.post(
            admin + "/edit", data={"f": "json", "token": token, "service": json.dumps(change)}
        ).json()
        assert answer["status"] == "error" and answer["code"] == 400, answer
        assert next(iter(bad)) in answer["messages"][0]
    change = {**shown, "properties": {**shown["properties"], "maxVerticesPerFeature": "5000"}}
    answer = httpx.post(
        admin + "/edit", data={"f": "json", "token": token, "service": json.dumps(change)}
    ).json()
    assert answer == {"status": "success"}
    shown = httpx.get(admin, params={"f": "json", "token": token}).json()
    assert shown["properties"]["maxVerticesPerFeature"] == "5000"
    # Refused on createService too, before anything is imported.
    folder = site.data_dir.parent
    answer = publish(
        site, token, square_polygon_file(folder / "x.geojson"), "Bad", maxPartsPerFeature=-1
    )
    assert answer["status"] == "error" and "maxPartsPerFeature" in answer["messages"][0]


def _best_of(tries: int, action: Any) -> float:
    best = math.inf
    for _ in range(tries):
        started = time.monotonic()
        action()
        best = min(best, time.monotonic() - started)
    return best


def test_worst_geometry_blocks_nobody(limited: tuple[LiveSite, str]) -> None:
    """While the worst polygon the default limits allow (250,000 random vertices: a repair
    that would take minutes) is being checked, a one-feature edit of the same layer and a
    query of another service answer within 1 s."""
    site, token = limited
    worst = {"geometry": {"rings": [_random_ring(250_000, seed=2)]}, "attributes": {}}
    features = json.dumps([worst] * 4, separators=(",", ":"))  # 44 MB as a form
    body = {"f": "json", "token": token, "features": features}
    url = f"{site.http}/arcgis/rest/services/Open/FeatureServer/0/addFeatures"
    outcome: dict[str, Any] = {}

    def attack() -> None:
        started = time.monotonic()
        outcome["answer"] = httpx.post(url, data=body, timeout=600).json()
        outcome["elapsed"] = time.monotonic() - started

    before = _count(site, "Open")
    attacker = threading.Thread(target=attack)
    attacker.start()
    time.sleep(1.0)  # the request is being read and checked
    assert attacker.is_alive()
    small = {"geometry": {"rings": [_circle(5)]}, "attributes": {}}

    def edit() -> None:
        answer = _post(site, "Open/FeatureServer/0/addFeatures", token, features=[small])
        assert answer["addResults"][0]["success"] is True, answer

    def query() -> None:
        assert _count(site, "Shapes") >= 0

    edit_s, query_s = _best_of(3, edit), _best_of(3, query)
    busy = attacker.is_alive()
    attacker.join(timeout=120)
    assert busy, ("checked before the other requests were timed", outcome)
    assert edit_s < 1 and query_s < 1, (edit_s, query_s)
    results = outcome["answer"]["addResults"]
    assert all(r["error"]["code"] in (1000, 1003) for r in results), results
    assert "maxGeometryRepairSeconds" in results[0]["error"]["description"]
    assert _count(site, "Open") == before + 3  # the three small edits only


def test_workers_end_with_the_site(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    try:
        token = site.token()
        shapes = square_polygon_file(tmp_path / "s.geojson")
        assert publish(site, token, shapes, "S", capabilities="Query,Editing")["status"] == (
            "success"
        )
        bowtie = {"geometry": {"rings": [[[0, 0], [0, 2], [2, 0], [2, 2]]]}, "attributes": {}}
        answer = _post(site, "S/FeatureServer/0/addFeatures", token, features=[bowtie])
        assert answer["addResults"][0]["success"] is True
        pids = repair_pool.POOL.workers()
        assert pids
    finally:
        site.stop()
    assert repair_pool.POOL.workers() == []
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
