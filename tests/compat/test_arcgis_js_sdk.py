"""The ArcGIS Maps SDK for JavaScript (``@arcgis/core``) in headless Chromium, against a live site.

The newest 4.x and 5.x from npm (``tests/compat/sdk/package.json`` pins both through npm
aliases) are bundled with esbuild (``sdk/build.mjs``) and served with their assets from
loopback by ``sdk/run.mjs``, which drives Debian's Chromium through playwright-core; geosite
listens on another loopback port, so every call is cross-origin as in a deployed app. Any
request leaving loopback is aborted and fails the test. One browser and one page per version
run every check of ``sdk/src/page.js`` and hand back JSON:

* a ``FeatureLayer`` loads; ``queryFeatureCount()`` is the true count (4.x sends
  ``returnCountOnly`` with ``returnIdsOnly``, and read ``undefined`` before b98ad87);
* ``queryFeatures`` with a where clause and outFields, ``queryExtent``, ``queryObjectIds`` and
  a grouped statistics query, compared with the data the test published;
* a ``MapView`` draws the layer: the layer view holds every feature and the view's screenshot
  is red inside the parcels and not in the gaps between them;
* a service shared with a role only is refused to a stranger and opens after
  ``IdentityManager.registerToken`` with a referer-bound token from ``generateToken``;
  ``applyEdits`` adds, updates and deletes there, checked through the REST API afterwards
  (the SDK refused every edit until the layer's capabilities listed ``Editing``: d02aa47).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from shapely.geometry import Polygon, box

from tests.conftest import LiveSite
from tests.http.test_publishing import publish

SDK_DIR = Path(__file__).parent / "sdk"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
MAJORS = ("4", "5")
USER, PASSWORD, ROLE = "surveyor", "survey-pass-1", "field-crew"
# Twelve 0.8-degree parcels on a 4 x 3 grid with 0.2-degree gaps, from (10, 45).
COLUMNS, ROWS, SIDE = 4, 3, 0.8
WHERE = "value >= 50 AND kind <> 'A'"

pytestmark = [pytest.mark.compat]


def _parcel(i: int) -> dict[str, Any]:
    x, y = 10 + i % COLUMNS, 45 + i // COLUMNS
    return {
        "name": f"P{i + 1}",
        "kind": "ABC"[i % 3],
        "value": (i + 1) * 10,
        "box": (x, y, x + SIDE, y + SIDE),
    }


PARCELS = [_parcel(i) for i in range(COLUMNS * ROWS)]
SEEDS = [("seed-1", 1, (1.0, 2.0)), ("seed-2", 2, (3.0, 4.0)), ("seed-3", 3, (5.0, 6.0))]


def _selected(parcel: dict[str, Any]) -> bool:
    """``WHERE`` in Python."""
    return bool(parcel["value"] >= 50 and parcel["kind"] != "A")


def _geojson(path: Path, features: list[tuple[dict[str, Any], dict[str, Any]]]) -> Path:
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "properties": p, "geometry": g} for p, g in features
                ],
            }
        )
    )
    return path


def _post(site: LiveSite, path: str, token: str, **data: str) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.post(
        site.admin + path, data={"f": "json", "token": token, **data}, timeout=60
    ).json()
    assert answer.get("status") == "success", (path, answer)
    return answer


def _secret_rows(
    site: LiveSite, name: str, token: str, referer: str = ""
) -> dict[int, dict[str, Any]]:
    answer = httpx.get(
        f"{site.http}/arcgis/rest/services/{name}/FeatureServer/0/query",
        params={"f": "json", "where": "1=1", "outFields": "*", "token": token},
        headers={"Referer": referer + "/"} if referer else {},
    ).json()
    return {f["attributes"]["OBJECTID"]: f for f in answer["features"]}


@pytest.fixture(scope="module")
def services(site: LiveSite, admin_token: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """``Parcels`` (public) and ``Secret4``/``Secret5`` (editable, shared with one role only)."""
    folder = tmp_path_factory.mktemp("sdk-data")
    parcels = _geojson(
        folder / "parcels.geojson",
        [
            (
                {k: p[k] for k in ("name", "kind", "value")},
                {"type": "Polygon", "coordinates": [list(box(*p["box"]).exterior.coords)]},
            )
            for p in PARCELS
        ],
    )
    assert publish(site, admin_token, parcels, "Parcels")["status"] == "success"
    seeds = _geojson(
        folder / "seeds.geojson",
        [
            ({"name": name, "n": n}, {"type": "Point", "coordinates": list(xy)})
            for name, n, xy in SEEDS
        ],
    )
    _post(site, "/security/roles/add", admin_token, rolename=ROLE)
    _post(site, "/security/users/add", admin_token, username=USER, password=PASSWORD)
    _post(site, "/security/roles/addUsersToRole", admin_token, rolename=ROLE, users=USER)
    for major in MAJORS:
        name = f"Secret{major}"
        answer = publish(site, admin_token, seeds, name, capabilities="Query,Create,Update,Delete")
        assert answer["status"] == "success", answer
        service = f"/services/{name}.FeatureServer/permissions/add"
        _post(site, service, admin_token, principal="esriEveryone", isAllowed="false")
        _post(site, service, admin_token, principal=ROLE, isAllowed="true")
    return site.http + "/arcgis/rest/services"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _requirements(major: str) -> str:
    """Node's path, or skip saying what is missing."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the ArcGIS Maps SDK tests need Node.js 18 or later")
    package = SDK_DIR / "node_modules" / f"arcgis-core-{major}" / "package.json"
    if not package.is_file() or not (SDK_DIR / "node_modules" / "playwright-core").is_dir():
        pytest.skip(
            f"@arcgis/core {major}.x is not installed in {SDK_DIR / 'node_modules'}: "
            "run `make js-deps` (npm ci and node build.mjs in tests/compat/sdk)"
        )
    if not (SDK_DIR / "dist" / major / "page.js").is_file():
        pytest.skip(f"the SDK page is not bundled: run `make js-deps` (node {SDK_DIR}/build.mjs)")
    if not Path(CHROMIUM).is_file():
        pytest.skip("Chromium is not installed (.ci/run installs Debian's chromium)")
    return node


@pytest.mark.parametrize("major", MAJORS)
def test_arcgis_maps_sdk(
    major: str, site: LiveSite, services: str, admin_token: str, tmp_path: Path
) -> None:
    node = _requirements(major)
    name = f"Secret{major}"
    secret = f"{services}/{name}/FeatureServer/0"
    port = _free_port()
    origin = f"http://127.0.0.1:{port}"
    token = httpx.post(
        site.http + "/arcgis/tokens/generateToken",
        data={
            "username": USER,
            "password": PASSWORD,
            "client": "referer",
            "referer": origin,
            "f": "json",
        },
    ).json()["token"]
    seeds = {
        f["attributes"]["name"]: oid for oid, f in _secret_rows(site, name, token, origin).items()
    }
    # Reached with the token, as the role's member: the Referer the browser sends is the page's.
    assert len(seeds) == 3
    config = {
        "server": services,
        "parcels": f"{services}/Parcels/FeatureServer/0",
        "secret": secret,
        "token": token,
        "where": WHERE,
        "viewExtent": {"xmin": 9.6, "ymin": 44.6, "xmax": 14.2, "ymax": 48.2},
        "inside": [[p["box"][0] + SIDE / 2, p["box"][1] + SIDE / 2] for p in PARCELS],
        "outside": [[10.9, 45.4], [12.4, 46.9], [9.8, 44.8], [14.0, 48.0]],
        "adds": [
            {"x": -77.5, "y": 39.0, "attributes": {"name": "added-1", "n": 10}},
            {"x": 2.35, "y": 48.85, "attributes": {"name": "added-2", "n": 20}},
        ],
        "updates": [
            {"x": 7.0, "y": 8.0, "attributes": {"OBJECTID": seeds["seed-1"], "n": 110}},
        ],
        "deletes": [seeds["seed-2"]],
    }
    shot = tmp_path / f"mapview-{major}.png"
    done = subprocess.run(
        [node, str(SDK_DIR / "run.mjs"), major],
        cwd=SDK_DIR,
        env={
            **os.environ,
            "GEOSITE_SDK_CONFIG": json.dumps(config),
            "GEOSITE_SDK_PORT": str(port),
            "GEOSITE_SDK_SHOT": str(shot),
            "CHROMIUM": CHROMIUM,
        },
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, f"run.mjs failed ({done.returncode}):\n{done.stderr}"
    out = json.loads(done.stdout)
    (tmp_path / f"sdk-{major}.json").write_text(json.dumps(out, indent=1))  # to read on failure
    page = out["page"]
    checks = page["checks"]
    failed = {k: v for k, v in checks.items() if not v["ok"] and "Anonymous" not in k}
    assert "fatal" not in page and not failed, (page.get("fatal"), failed, out["console"])
    assert page["version"].startswith(major + "."), page["version"]
    # The SDK took nothing from outside loopback: no CDN, no basemap, no telemetry.
    assert out["offLoopback"] == [], out["offLoopback"]
    assert not [line for line in out["console"] if line.startswith("pageerror")], out["console"]

    load = checks["load"]["value"]
    assert load["geometryType"] == "polygon" and load["objectIdField"] == "OBJECTID"
    assert load["capabilities"] == {"query": True, "statistics": True, "extent": True}
    assert {"name", "kind", "value"} <= {field for field, _ in load["fields"]}

    # queryFeatureCount is a number, the true one (undefined before the precedence fix).
    assert checks["count"]["value"] == len(PARCELS)
    selected = [p for p in PARCELS if _selected(p)]
    assert checks["countWhere"]["value"] == len(selected)
    # How each line counts: 4.x asks for ids and the count at once (returnCountOnly must win).
    counts = [
        r["url"]
        for r in out["requests"]
        if "/Parcels/" in r["url"]
        and "returnCountOnly=true" in r["url"]
        and "returnExtentOnly" not in r["url"]
    ]
    both = [url for url in counts if "returnIdsOnly=true" in url]
    assert counts and (both == counts if major == "4" else not both), counts

    got = checks["features"]["value"]
    assert [f["attributes"]["name"] for f in got] == [p["name"] for p in selected]
    for feature, parcel in zip(got, selected, strict=True):
        assert {k: feature["attributes"][k] for k in ("name", "kind", "value")} == {
            k: parcel[k] for k in ("name", "kind", "value")
        }
        polygon = Polygon(feature["geometry"]["rings"][0])
        assert polygon.symmetric_difference(box(*parcel["box"])).area < 1e-12, feature

    for key, chosen in (("extent", PARCELS), ("extentWhere", selected)):
        answer = checks[key]["value"]
        assert answer["count"] == len(chosen), (key, answer)
        extent = answer["extent"]
        expected = (
            min(p["box"][0] for p in chosen),
            min(p["box"][1] for p in chosen),
            max(p["box"][2] for p in chosen),
            max(p["box"][3] for p in chosen),
        )
        got_box = (extent["xmin"], extent["ymin"], extent["xmax"], extent["ymax"])
        assert got_box == pytest.approx(expected, abs=1e-9), (key, extent)
    assert len(checks["objectIds"]["value"]) == len(selected)

    expected_stats = []
    for kind in "ABC":
        values = [p["value"] for p in PARCELS if p["kind"] == kind]
        expected_stats.append(
            {
                "kind": kind,
                "n": len(values),
                "total": sum(values),
                "mean": sum(values) / len(values),
                "top": max(values),
            }
        )
    assert checks["statistics"]["value"] == expected_stats

    draw = checks["draw"]["value"]
    assert draw["drawn"] == len(PARCELS)
    assert draw["size"] == [800, 600]
    red = [[255, 0, 0, 255]]
    assert [px[:3] for px in draw["inside"]] == [px[:3] for px in red * len(PARCELS)], draw
    assert not [px for px in draw["outside"] if px[0] > 200 and px[1] < 60], draw
    # Twelve parcels of about 0.8 x 0.8 degrees at about 174 pixels a degree.
    assert 150_000 < draw["redPixels"] < 300_000, draw["redPixels"]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # A stranger is refused the secured service (499: a token is required).
    for key in ("secretAnonymous", "secretQueryAnonymous", "secretLayerAnonymous"):
        assert not checks[key]["ok"], (key, checks[key])
        assert checks[key]["error"]["code"] == 499 or "499" in checks[key]["error"]["message"], (
            key,
            checks[key],
        )
    opened = checks["secretLoad"]["value"]
    assert opened["count"] == 3
    assert opened["capabilities"] == {"add": True, "update": True, "delete": True}

    edits = checks["applyEdits"]["value"]
    assert [r["error"] for group in edits.values() for r in group] == [None] * 4, edits
    assert [r["objectId"] for r in edits["updates"]] == [seeds["seed-1"]]
    assert [r["objectId"] for r in edits["deletes"]] == [seeds["seed-2"]]
    added = [r["objectId"] for r in edits["adds"]]
    rows = _secret_rows(site, name, admin_token)
    assert sorted(rows) == sorted([seeds["seed-1"], seeds["seed-3"], *added])
    assert rows[seeds["seed-1"]]["attributes"]["n"] == 110
    assert rows[seeds["seed-1"]]["attributes"]["name"] == "seed-1"
    assert rows[seeds["seed-1"]]["geometry"] == {"x": 7.0, "y": 8.0}
    assert [rows[oid]["attributes"]["name"] for oid in added] == ["added-1", "added-2"]
    assert [rows[oid]["geometry"] for oid in added] == [
        {"x": -77.5, "y": 39.0},
        {"x": 2.35, "y": 48.85},
    ]
    assert len(checks["secretAfter"]["value"]) == 4
