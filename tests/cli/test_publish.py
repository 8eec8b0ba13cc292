"""``geosite publish`` against a live site."""

import httpx
from click.testing import CliRunner

from geosite.cli import main
from geosite.demo import DATA_DIR
from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite


def test_publish_prints_the_service_url(fresh_site: LiveSite) -> None:
    result = CliRunner().invoke(
        main,
        [
            "publish",
            str(DATA_DIR / "nybb_16a.zip"),
            "--url",
            fresh_site.http + "/arcgis/admin",
            "--user",
            ADMIN_USER,
            "--password-stdin",
            "--name",
            "Boroughs",
            "--folder",
            "Maps",
            "--max-record-count",
            "2",
        ],
        input=ADMIN_PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    url = result.output.strip()
    assert url == fresh_site.http + "/arcgis/rest/services/Maps/Boroughs/FeatureServer"
    layer = httpx.get(url + "/0", params={"f": "json"}).json()
    assert layer["maxRecordCount"] == 2 and layer["geometryType"] == "esriGeometryPolygon"


def test_publish_over_https_needs_insecure_for_a_self_signed_site(fresh_site: LiveSite) -> None:
    args = [
        "publish",
        str(DATA_DIR / "naturalearth_cities.zip"),
        "--url",
        fresh_site.https + "/arcgis",
        "--user",
        ADMIN_USER,
        "--password",
        ADMIN_PASSWORD,
        "--name",
        "Cities",
    ]
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 6 and "Error" in refused.output  # 6: cannot reach the site
    done = CliRunner().invoke(main, [*args, "--insecure"])
    assert done.exit_code == 0, done.output
    assert done.output.strip().endswith("/arcgis/rest/services/Cities/FeatureServer")


def test_publish_reports_server_errors(fresh_site: LiveSite) -> None:
    wrong = CliRunner().invoke(
        main,
        [
            "publish",
            str(DATA_DIR / "nybb_16a.zip"),
            "--url",
            fresh_site.http + "/arcgis",
            "--user",
            ADMIN_USER,
            "--password",
            "wrong-password",
            "--name",
            "X",
        ],
    )
    assert wrong.exit_code == 3 and "Invalid username or password" in wrong.output
    bad_name = CliRunner().invoke(
        main,
        [
            "publish",
            str(DATA_DIR / "nybb_16a.zip"),
            "--url",
            fresh_site.http + "/arcgis",
            "--user",
            ADMIN_USER,
            "--password",
            ADMIN_PASSWORD,
            "--name",
            "bad name",
        ],
    )
    assert bad_name.exit_code == 1 and "Invalid service name" in bad_name.output
