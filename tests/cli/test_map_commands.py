"""``geosite publish --type MapServer / --with-map / --cached`` and ``geosite tiles``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from geosite.demo import DATA_DIR
from tests.cli.test_commands import Cli
from tests.conftest import LiveSite


@pytest.fixture
def cli(site: LiveSite, tmp_path: Path) -> Iterator[Cli]:
    yield Cli.logged_in(tmp_path / "config", site.http + "/arcgis")


def test_publish_a_map_with_feature_access_and_seed_its_tiles(cli: Cli, site: LiveSite) -> None:
    countries = str(DATA_DIR / "naturalearth_lowres.zip")
    done = cli("publish", countries, "--name", "World", "--with-map", "--cached",
               "--capabilities", "Query,Update")  # fmt: skip
    assert done.output.strip() == site.http + "/arcgis/rest/services/World/MapServer"
    root = httpx.get(done.output.strip(), params={"f": "json"}).json()
    assert root["capabilities"] == "Map,Query,Data" and root["singleFusedMapCache"] is True
    feature = httpx.get(site.http + "/arcgis/rest/services/World/FeatureServer/0",
                        params={"f": "json"}).json()  # fmt: skip
    assert "Update" in feature["capabilities"]
    seeded = cli.json("tiles", "seed", "World.MapServer", "--levels", "0-1", "--json")
    assert seeded == {"status": "success", "tilesDrawn": 5, "tiles": 5}
    again = cli("tiles", "seed", "World.MapServer", "--levels", "0-1")
    assert again.output.strip() == "0 tiles drawn of 5."
    europe = cli("tiles", "seed", "World.MapServer", "--levels", "3", "--extent", "-10,35,30,60")
    assert europe.output.strip() == "4 tiles drawn of 4."
    cleared = cli("tiles", "clear", "World.MapServer", "--levels", "0-3")
    assert cleared.output.strip() == "9 tiles deleted."


def test_map_commands_refuse_what_cannot_be(cli: Cli, site: LiveSite) -> None:
    cities = str(DATA_DIR / "naturalearth_cities.zip")
    wrong = cli("publish", cities, "--name", "Plain", "--cached", code=2)
    assert "--cached needs" in wrong.output
    cli("publish", cities, "--name", "Dots", "--type", "MapServer")
    refused = cli("tiles", "seed", "Dots.MapServer", code=1)
    assert "no tile cache" in refused.output
    assert "levels" in cli("tiles", "seed", "Dots.MapServer", "--levels", "0-99", code=1).output
    cli("tiles", "seed", "Dots.MapServer", "--levels", "x", code=2)
