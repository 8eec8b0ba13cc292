"""Leaflet 1.9.4 and esri-leaflet 3.1.0 in headless Chromium, drawing a live site's services.

``tests/compat/leaflet/package.json`` pins Leaflet, esri-leaflet and playwright-core (npm ci
from its lock file, ``make leaflet-deps``); ``leaflet/run.mjs`` serves them with ``page.js``
from a loopback port of its own (no CDN: any request leaving loopback is aborted and fails the
test) and drives Debian's Chromium, while geosite listens on another loopback port, so every
call is cross-origin as from a deployed page. The page has no basemap:

* ``test_dynamic_and_feature_layers``: Natural Earth's countries as a MapServer through
  ``L.esri.dynamicMapLayer`` (``export`` with ``f=json``, then the ``href`` image) under the
  cities of a FeatureServer through ``L.esri.featureLayer`` (circle markers on a canvas);
* ``test_tiled_map_layer``: the countries through ``L.esri.tiledMapLayer``
  (``MapServer/tile/{z}/{y}/{x}``) of a cached copy of the countries.

Each checks that every map image geosite sent was answered 200 with an image type and decoded
in the page, that the console has no error, and that the screenshot is not blank: pixels that
differ from the map's background colour are counted by ``run.mjs`` (the PNG decoded by a
canvas in a blank page). The screenshot and ``run.mjs``'s JSON are kept under
``$GEOSITE_TEST_ARTIFACTS/esri-leaflet/`` (default ``tests/artifacts/``, git-ignored).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyogrio
import pytest
import shapely

from geosite.demo import DATA_DIR
from tests.conftest import LiveSite
from tests.http.test_publishing import publish

LEAFLET_DIR = Path(__file__).parent / "leaflet"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = (
    Path(os.environ.get("GEOSITE_TEST_ARTIFACTS") or Path(__file__).parents[1] / "artifacts")
    / "esri-leaflet"
)
# The map's CSS background; the page has no basemap, so what differs from it was drawn.
BACKGROUND = (250, 240, 230)
# The view: 800 x 600 pixels from longitude -140.6 to 140.6 and latitude -43 to 67.
CENTER, ZOOM = (20.0, 0.0), 2
VIEW = {"center": list(CENTER), "zoom": ZOOM}
# Inside a country and far from any city (at zoom 2 a degree is about 2.8 pixels), and open sea.
LAND = {"Brazil": [-10, -55], "Algeria": [26, 3], "Australia": [-25, 134]}
SEA = {"Atlantic": [30, -40], "Indian Ocean": [-20, 80], "Pacific": [-10, -130]}
CITIES = ("Reykjavík", "Nairobi", "Paris", "Brasília")

pytestmark = [pytest.mark.compat]


def read_points(path: Path) -> dict[str, tuple[float, float]]:
    """Each named point of a Natural Earth file, as (lon, lat)."""
    _, _, geometries, fields = pyogrio.raw.read(path, columns=["name"])
    return {
        str(name): (point.x, point.y)
        for name, point in zip(fields[0], shapely.from_wkb(geometries), strict=True)
    }


@pytest.fixture(scope="module")
def services(site: LiveSite, admin_token: str) -> str:
    """``Countries`` (MapServer) and ``Cities`` (FeatureServer); the services' root URL."""
    countries = DATA_DIR / "naturalearth_lowres.zip"
    answer = publish(site, admin_token, countries, "Countries", kind="MapServer")
    assert answer.get("status") == "success", answer
    cities = publish(site, admin_token, DATA_DIR / "naturalearth_cities.zip", "Cities")
    assert cities["status"] == "success", cities
    tiled = publish(site, admin_token, countries, "CountryTiles", kind="MapServer", isCached="true")
    assert tiled.get("status") == "success", tiled
    return site.http + "/arcgis/rest/services"


def _requirements() -> str:
    """Node's path, or skip saying what is missing."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the esri-leaflet tests need Node.js 18 or later")
    modules = LEAFLET_DIR / "node_modules"
    for package in ("leaflet", "esri-leaflet", "playwright-core"):
        if not (modules / package / "package.json").is_file():
            pytest.skip(
                f"{package} is not installed in {modules}: run `make leaflet-deps` "
                "(npm ci --prefix tests/compat/leaflet)"
            )
    if not Path(CHROMIUM).is_file():
        pytest.skip("Chromium is not installed (.ci/run installs Debian's chromium)")
    return node


def run_page(name: str, config: dict[str, Any]) -> dict[str, Any]:
    """Open the page with ``config`` in Chromium; ``run.mjs``'s JSON. The screenshot and the
    JSON are kept as ``<name>.png`` and ``<name>.json`` in ``ARTIFACTS``."""
    node = _requirements()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"{name}.png"
    shot.unlink(missing_ok=True)
    done = subprocess.run(
        [node, str(LEAFLET_DIR / "run.mjs")],
        cwd=LEAFLET_DIR,
        env={
            **os.environ,
            "GEOSITE_LEAFLET_CONFIG": json.dumps({**config, "background": BACKGROUND}),
            "GEOSITE_LEAFLET_SHOT": str(shot),
            "CHROMIUM": CHROMIUM,
        },
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, f"run.mjs failed ({done.returncode}):\n{done.stderr}"
    out: dict[str, Any] = json.loads(done.stdout)
    (ARTIFACTS / f"{name}.json").write_text(json.dumps(out, indent=1))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return out


def _common_checks(out: dict[str, Any], layers: tuple[str, ...]) -> None:
    """What every page must show: each layer loaded without an error, nothing left loopback,
    no request failed, no console error, every image geosite sent is a 200 image."""
    page = out["page"]
    assert "fatal" not in page, (page.get("fatal"), out["console"])
    assert sorted(page["layers"]) == sorted(layers), page["layers"]
    for name in layers:
        layer = page["layers"][name]
        assert layer["loaded"] and layer["errors"] == [], (name, layer, out["console"])
    assert page["pending"] == []
    assert out["offLoopback"] == [], out["offLoopback"]
    assert out["failed"] == [], out["failed"]
    errors = [line for line in out["console"] if not line.startswith("warning: ")]
    assert errors == [], out["console"]
    images = [r for r in out["responses"] if r["resourceType"] == "image"]
    assert images, out["responses"]
    for response in images:
        assert response["status"] == 200, response
        assert (response["contentType"] or "").startswith("image/"), response
    assert page["size"] == [800, 600]
    shot = out["shot"]
    assert (shot["width"], shot["height"]) == (800, 600), shot


def _visible_tiles() -> set[str]:
    """The tiles ``z/y/x`` that Leaflet asks for to fill the 800 x 600 view ``VIEW``."""
    (lat, lon), zoom = CENTER, ZOOM
    world = 256 * 2**zoom
    x = (lon + 180) / 360 * world
    y = (0.5 - math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) / (2 * math.pi)) * world
    columns = range(math.floor((x - 400) / 256), math.ceil((x + 400) / 256))
    rows = range(max(0, math.floor((y - 300) / 256)), min(2**zoom, math.ceil((y + 300) / 256)))
    return {f"{zoom}/{row}/{column}" for row in rows for column in columns}


def _differs(pixel: list[int] | None) -> bool:
    assert pixel is not None
    return sum(abs(a - b) for a, b in zip(pixel[:3], BACKGROUND, strict=True)) > 24


def test_dynamic_and_feature_layers(site: LiveSite, services: str) -> None:
    cities = read_points(DATA_DIR / "naturalearth_cities.zip")
    points = {name: [cities[name][1], cities[name][0]] for name in CITIES}
    out = run_page(
        "dynamic-and-features",
        {
            **VIEW,
            "dynamic": f"{services}/Countries/MapServer",
            "features": f"{services}/Cities/FeatureServer/0",
            "points": {**points, **LAND, **SEA},
        },
    )
    _common_checks(out, ("dynamic", "features"))
    page, shot = out["page"], out["shot"]

    # DynamicMapLayer: export with f=json in Web Mercator at the map's size, answered with
    # JSON whose href the page loaded as an image of that size.
    exports = [r for r in out["responses"] if "/Countries/MapServer/export" in r["url"]]
    assert exports, out["responses"]
    for response in exports:
        assert response["status"] == 200, response
        assert (response["contentType"] or "").startswith("application/json"), response
        query = {k: v[0] for k, v in parse_qs(urlsplit(response["url"]).query).items()}
        assert query["f"] == "json" and query["format"] == "png32", query
        assert query["bboxSR"] == query["imageSR"] == "3857", query
        assert query["size"] == "800,600" and query["transparent"] == "true", query
    assert page["images"], page
    for image in page["images"]:
        assert image["complete"] and (image["naturalWidth"], image["naturalHeight"]) == (
            800,
            600,
        ), image
        assert image["src"].startswith(site.http + "/") or image["src"].startswith("data:image/")
    # FeatureLayer: at zoom 2 its grid cells cover the world, so every city was fetched.
    assert page["layers"]["features"]["featureCount"] == len(cities)

    # The screenshot: countries drawn on land, the transparent export shows the background
    # at sea, and a blue marker on each city.
    pixels = shot["pixels"]
    assert shot["fraction"] > 0.05, shot
    for name in LAND:
        assert _differs(pixels[name]), (name, pixels[name])
    for name in SEA:
        assert not _differs(pixels[name]), (name, pixels[name])
    for name in CITIES:
        r, g, b, _ = pixels[name]
        assert b > 200 and r < 60 and g < 60, (name, pixels[name])


def test_tiled_map_layer(site: LiveSite, services: str) -> None:
    root = httpx.get(f"{services}/CountryTiles/MapServer", params={"f": "json"}).json()
    assert root["singleFusedMapCache"] and root["tileInfo"]["spatialReference"]["wkid"] == 102100
    out = run_page(
        "tiled",
        {**VIEW, "tiled": f"{services}/CountryTiles/MapServer", "points": {**LAND, **SEA}},
    )
    _common_checks(out, ("tiled",))
    page, shot = out["page"], out["shot"]

    tiles = [r for r in out["responses"] if "/CountryTiles/MapServer/tile/" in r["url"]]
    assert all(r["status"] == 200 for r in tiles), tiles
    expected = _visible_tiles()
    assert {urlsplit(r["url"]).path.rsplit("/tile/", 1)[1] for r in tiles} == expected, tiles
    assert len(page["tiles"]) == len(expected), page["tiles"]
    for tile in page["tiles"]:
        assert tile["loaded"] and (tile["naturalWidth"], tile["naturalHeight"]) == (256, 256)

    pixels = shot["pixels"]
    assert shot["fraction"] > 0.05, shot
    for name in LAND:
        assert _differs(pixels[name]), (name, pixels[name])
