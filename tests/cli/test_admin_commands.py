"""The commands added for issue 15, item 7: service permissions, folders, usage reports, the
security settings, and ``publish --capabilities`` / ``--overwrite`` (publishing as a job)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from geosite.client import Site
from geosite.demo import DATA_DIR
from tests.cli.test_commands import Cli
from tests.client.test_resources import points
from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite


@pytest.fixture(scope="module")
def served(site: LiveSite, tmp_path_factory: pytest.TempPathFactory) -> LiveSite:
    data = points(tmp_path_factory.mktemp("admin") / "points.geojson")
    with Site.connect(site.http + "/arcgis", ADMIN_USER, ADMIN_PASSWORD) as client:
        client.services.publish(data, "Roads", folder="Maps")
        client.services.publish(data, "Parks")
        client.roles.add("viewers", privilege="ACCESS")
    return site


@pytest.fixture
def cli(served: LiveSite, tmp_path: Path) -> Iterator[Cli]:
    yield Cli.logged_in(tmp_path / "config", served.http + "/arcgis")


def _rest(site: LiveSite, path: str) -> dict[str, object]:
    answer = httpx.get(f"{site.http}/arcgis/rest/services/{path}", params={"f": "json"})
    return dict(answer.json())


def _count(site: LiveSite, service: str) -> object:
    answer = httpx.get(
        f"{site.http}/arcgis/rest/services/{service}/FeatureServer/0/query",
        params={"where": "1=1", "returnCountOnly": "true", "f": "json"},
    )
    return answer.json()


def test_service_and_folder_permissions(cli: Cli, served: LiveSite) -> None:
    # A new service inherits its folder's permissions: public (esriEveryone) on a new site.
    assert [p["principal"] for p in cli.json("services", "permissions", "Maps/Roads")] == [
        "esriEveryone"
    ]
    assert _rest(served, "Maps/Roads/FeatureServer").get("layers")
    removed = cli("services", "revoke", "Maps/Roads", "esriEveryone").stdout
    assert "removed" in removed
    assert "error" in _rest(served, "Maps/Roads/FeatureServer")  # private now
    assert "No permissions" in cli("services", "permissions", "Maps/Roads").stderr
    assert "allowed access" in cli("services", "grant", "Maps/Roads", "esriEveryone").stdout
    assert _rest(served, "Maps/Roads/FeatureServer").get("layers")  # public again
    cli("services", "grant", "Maps/Roads", "viewers", "--deny")
    listed = {p["principal"]: p["permission"]["isAllowed"] for p in cli.json(
        "services", "permissions", "Maps/Roads.FeatureServer"
    )}  # fmt: skip
    assert listed == {"esriEveryone": True, "viewers": False}
    table = cli("services", "permissions", "Maps/Roads").stdout
    assert "esriEveryone" in table and "allowed" in table and "denied" in table
    cli("services", "revoke", "Maps/Roads", "viewers")
    # A folder, with a trailing slash ('/' for the root).
    cli("services", "grant", "maps/", "viewers")
    assert "viewers" in [p["principal"] for p in cli.json("services", "permissions", "Maps/")]
    cli("services", "revoke", "Maps/", "viewers")
    assert "viewers" not in [p["principal"] for p in cli.json("services", "permissions", "/")]
    cli("services", "permissions", "Nowhere/", code=4)
    cli("services", "permissions", "Maps/Nothing", code=4)


def test_folders(cli: Cli) -> None:
    cli("folders", "create", "Scratch", "--description", "Temporary")
    listed = {f["folderName"]: f["description"] for f in cli.json("folders", "ls")}
    assert listed["Scratch"] == "Temporary" and "Maps" in listed
    assert "Scratch" in cli("folders", "ls").stdout
    cli("folders", "create", "Scratch", code=1)  # exists
    cli("folders", "delete", "Scratch", input="n\n", code=1)
    cli("folders", "delete", "Scratch", "--yes")
    assert "Scratch" not in [f["folderName"] for f in cli.json("folders", "ls")]
    cli("folders", "delete", "Scratch", "--yes", code=4)


def test_usage_reports(cli: Cli, served: LiveSite) -> None:
    cli(
        "usage",
        "create",
        "roads",
        "--resource",
        "Maps/Roads.FeatureServer",
        "--resource",
        "services/",
        "--metric",
        "RequestCount",
        "--metric",
        "RequestMaxResponseTime",
        "--since",
        "last_week",
    )
    (report,) = [r for r in cli.json("usage", "ls") if r["reportname"] == "roads"]
    assert report["since"] == "LAST_WEEK"
    assert report["queries"][0]["resourceURIs"] == [
        "services/Maps/Roads.FeatureServer",
        "services/",
    ]
    assert "roads" in cli("usage", "ls").stdout
    assert json.loads(cli("usage", "show", "roads").stdout)["reportname"] == "roads"
    figures = cli.json("usage", "data", "roads")
    assert figures["report"]["time-slices"]
    table = cli("usage", "data", "roads").stdout
    assert "services/Maps/Roads.FeatureServer" in table and "RequestCount" in table
    csv = cli("usage", "data", "roads", "--csv").stdout
    assert csv.splitlines()[0].startswith("resourceURI,metric")
    cli("usage", "create", "bad", "--metric", "Nonsense", code=2)
    cli("usage", "delete", "roads")
    cli("usage", "show", "roads", code=4)


def test_security_show_and_edit(cli: Cli) -> None:
    shown = cli.json("security", "show")
    assert set(shown) == {"config", "tokens", "passwordPolicy"}
    assert shown["config"]["httpEnabled"] is True
    table = cli("security", "show").stdout
    assert "tokens.shortTimeout" in table and "passwordPolicy.minLength" in table
    after = json.loads(
        cli(
            "security",
            "edit",
            "--set",
            "tokens.shortTimeout=45",
            "--set",
            "passwordPolicy.minLength=12",
            "--set",
            "config.allowedAdminAccessIPs=127.0.0.1,10.0.0.0/8",
            "--json",
        ).stdout
    )
    assert int(after["tokens"]["shortTimeout"]) == 45
    assert after["passwordPolicy"]["minLength"] == 12
    assert after["config"]["allowedAdminAccessIPs"] == "127.0.0.1/32,10.0.0.0/8"
    refused = cli("security", "edit", "--set", "tokens.shortTimout=5", code=2)
    assert "tokens.shortTimeout" in refused.stderr  # the known settings are listed
    cli("security", "edit", "--set", "passwordPolicy.minLength=x", code=1)  # the site refuses
    cli(
        "security",
        "edit",
        "--set",
        "passwordPolicy.type=default",
        "--set",
        "config.allowedAdminAccessIPs=",
        "--set",
        "tokens.shortTimeout=60",
    )
    back = cli.json("security", "show")
    assert (
        back["passwordPolicy"]["type"] == "default"
        and back["config"]["allowedAdminAccessIPs"] == ""
    )


def test_publish_with_capabilities_makes_an_editable_service(cli: Cli, tmp_path: Path) -> None:
    data = points(tmp_path / "edit.geojson", 4)
    url = cli(
        "publish", str(data), "--name", "Editable", "--capabilities", "Query,Create,Update,Delete"
    ).stdout.strip()
    layer = httpx.get(url + "/0", params={"f": "json"}, headers=_admin(cli)).json()
    assert {"Create", "Update", "Delete"} <= set(layer["capabilities"].split(","))
    added = httpx.post(
        url + "/0/addFeatures",
        data={"features": json.dumps([{"geometry": {"x": 1, "y": 2}, "attributes": {}}])},
        params={"f": "json"},
        headers=_admin(cli),
    ).json()
    assert added["addResults"][0]["success"] is True
    bad = cli("publish", str(data), "--name", "Bad", "--capabilities", "Query,Teleport", code=1)
    assert "Unknown capability 'Teleport'" in bad.stderr


def _admin(cli: Cli) -> dict[str, str]:
    stored = json.loads((cli.config / "credentials.json").read_text())
    token = next(iter(stored["sites"].values()))["token"]
    return {"X-Esri-Authorization": f"Bearer {token}"}


def test_publish_overwrite_replaces_a_service_and_keeps_it_when_the_import_fails(
    cli: Cli, served: LiveSite, tmp_path: Path
) -> None:
    first = points(tmp_path / "first.geojson", 3)
    cli("publish", str(first), "--name", "Swap", "--folder", "Maps")
    cli("services", "grant", "Maps/Swap", "esriEveryone")
    cli("services", "stop", "Maps/Swap")
    again = cli("publish", str(first), "--name", "Swap", "--folder", "Maps", code=1)
    assert "already exists" in again.stderr and "overwrite" in again.stderr
    # A file that imports nothing: the old service stays as it was.
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [')
    cli("publish", str(broken), "--name", "Swap", "--folder", "Maps", "--overwrite", code=1)
    cli("services", "start", "Maps/Swap")
    assert _count(served, "Maps/Swap") == {"count": 3}
    cli("services", "stop", "Maps/Swap")
    # Overwritten: new data and capabilities; state and permissions kept.
    second = points(tmp_path / "second.geojson", 7)
    cli(
        "publish",
        str(second),
        "--name",
        "Swap",
        "--folder",
        "Maps",
        "--overwrite",
        "--capabilities",
        "Query,Editing",
    )
    assert cli.json("services", "status", "Maps/Swap")[0]["realTimeState"] == "STOPPED"
    assert [p["principal"] for p in cli.json("services", "permissions", "Maps/Swap")] == [
        "esriEveryone"
    ]
    cli("services", "start", "Maps/Swap")
    assert _count(served, "Maps/Swap") == {"count": 7}
    assert "Editing" in json.loads(cli("services", "show", "Maps/Swap").stdout)["capabilities"]
    # Overwriting a service that does not exist creates it.
    cli("publish", str(second), "--name", "Fresh", "--overwrite")
    assert cli.json("services", "ls", "Fresh", "--no-status")[0]["name"] == "Fresh"


def test_publish_overwrite_of_the_demo_data(fresh_site: LiveSite, tmp_path: Path) -> None:
    runner = Cli(tmp_path / "config")
    base = ["--url", fresh_site.http + "/arcgis", "--user", ADMIN_USER, "--password-stdin"]
    zipped = str(DATA_DIR / "nybb_16a.zip")
    runner("publish", zipped, "--name", "Boroughs", *base, input=ADMIN_PASSWORD + "\n")
    runner(
        "publish",
        str(DATA_DIR / "naturalearth_cities.zip"),
        "--name",
        "Boroughs",
        "--overwrite",
        *base,
        input=ADMIN_PASSWORD + "\n",
    )
    layer = httpx.get(
        fresh_site.http + "/arcgis/rest/services/Boroughs/FeatureServer/0",
        params={"f": "json", "token": fresh_site.token()},
    ).json()
    assert layer["geometryType"] == "esriGeometryPoint"
    data_dir = fresh_site.data_dir
    assert len(list(data_dir.rglob("services/*.gpkg"))) == 1  # the old data is gone
