"""The scripts in ``examples/client/`` (written with geosite.client), run on a live site."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

from geosite.client import NotFound, Site
from tests.client.test_resources import points
from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite, make_site

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "client"


@pytest.fixture
def live(fresh_site: LiveSite, tmp_path: Path) -> LiveSite:
    data = points(tmp_path / "points.geojson")
    with Site.connect(fresh_site.http + "/arcgis", ADMIN_USER, ADMIN_PASSWORD) as site:
        for name, folder in (("Parks", ""), ("Roads", "Maps"), ("Rivers", "Maps")):
            site.services.publish(data, name, folder=folder)
    return fresh_site


def run(
    site: LiveSite,
    script: str,
    *args: str,
    ok: bool = True,
    user: str = ADMIN_USER,
    password: str = ADMIN_PASSWORD,
) -> str:
    command = [
        sys.executable,
        str(EXAMPLES / script),
        "--url",
        site.http + "/arcgis",
        "--user",
        user,
        "--password",
        password,
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert (done.returncode == 0) is ok, done.stdout + done.stderr
    return done.stdout if ok else done.stderr


def test_stop_start_folder(live: LiveSite) -> None:
    out = run(live, "stop_start_folder.py", "--folder", "Maps", "stop")
    assert "Maps/Roads.FeatureServer: STOPPED" in out and "2 service(s) stopped." in out
    with Site.connect(live.http + "/arcgis", ADMIN_USER, ADMIN_PASSWORD) as site:
        assert site.services.status("Parks")["realTimeState"] == "STARTED"
        assert site.services.status("Maps/Rivers")["realTimeState"] == "STOPPED"
    assert "2 service(s) started." in run(live, "stop_start_folder.py", "--folder", "Maps", "start")
    assert "1 service(s) stopped." in run(live, "stop_start_folder.py", "stop")
    missing = run(live, "stop_start_folder.py", "--folder", "Nope", "stop", ok=False)
    assert "Could not find resource" in missing
    assert "Unable to generate token" in run(
        live, "stop_start_folder.py", "stop", password="wrong", ok=False
    )


def test_query_logs_and_log_statistics(live: LiveSite) -> None:
    with Site.connect(live.http + "/arcgis", ADMIN_USER, ADMIN_PASSWORD) as site:
        for _ in range(3):
            site.session.get_json(
                "rest/services/Maps/Roads/FeatureServer/0/query", {"where": "1=1"}
            )
        with pytest.raises(NotFound):
            site.services.list("Missing")
    live.flush_logs()
    out = run(live, "query_logs.py", "--level", "WARNING")
    assert "Missing" in out and "WARNING" in out
    stats = list(csv.DictReader(io.StringIO(run(live, "log_statistics.py", "--hours", "1"))))
    roads = {r["Service"]: r for r in stats}["Maps/Roads.FeatureServer"]
    assert int(roads["Requests"]) >= 3 and float(roads["Longest seconds"]) >= 0


def test_services_to_csv_and_edit_service(live: LiveSite, tmp_path: Path) -> None:
    out = tmp_path / "services.csv"
    run(
        live,
        "edit_service.py",
        "Maps/*",
        "--set",
        "properties.maxRecordCount=77",
        "--set",
        "description=edited",
    )
    run(live, "services_to_csv.py", "--output", str(out))
    rows = {r["ServiceName"]: r for r in csv.DictReader(io.StringIO(out.read_text()))}
    assert set(rows) == {"Parks", "Roads", "Rivers"}
    assert rows["Roads"]["MaxRecordCount"] == "77" and rows["Roads"]["Description"] == "edited"
    assert rows["Parks"]["MaxRecordCount"] != "77" and rows["Roads"]["Status"] == "STARTED"
    assert "no service matches" in run(live, "edit_service.py", "Nope/*", "--set", "a=1", ok=False)


def test_users_and_roles_from_csv(live: LiveSite, tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text(
        "User,Role,RoleType,Password,EMail,FullName,Description\n"
        "ann,editors,PUBLISH,Ann-password-1,ann@example.com,Ann A,Editor\n"
        "bob,viewers,ACCESS,Bob-password-1,bob@example.com,Bob B,Viewer\n"
        "cat,editors,PUBLISH,Cat-password-1,cat@example.com,Cat C,Editor\n"
    )
    out = run(live, "users_roles_from_csv.py", str(people))
    assert out.count("Role ") == 2 and out.count("User ") == 3
    with Site.connect(live.http + "/arcgis", ADMIN_USER, ADMIN_PASSWORD) as site:
        assert sorted(site.roles.users("editors")) == ["ann", "cat"]
        assert site.roles.privilege("editors") == "PUBLISH"
        assert site.users.privilege("bob") == "ACCESS"
    assert "already" in run(live, "users_roles_from_csv.py", str(people), ok=False).lower()


def test_create_site(tmp_path: Path) -> None:
    bare = make_site(tmp_path / "bare", create=False)
    try:
        out = run(
            bare,
            "create_site.py",
            "--log-level",
            "INFO",
            user="founder",
            password="Founder-password-1",
        )
        assert "createNewSite: success" in out and "Machine TESTMACHINE.EXAMPLE" in out
    finally:
        bare.stop()


def test_backup_and_restore(live: LiveSite) -> None:
    out = run(live, "backup_restore.py", "backup")
    location = out.strip().removeprefix("Backed up to ")
    assert location.endswith(".agssite") and Path(location).is_file()
    with Site.connect(live.http + "/arcgis", ADMIN_USER, ADMIN_PASSWORD) as site:
        site.services.delete("Maps/Roads")
    restored = run(live, "backup_restore.py", "restore", location)
    # Two services and Maps, with the default Utilities/Geometry.
    assert "Restored 4 service(s), 2 folder(s), 0 user(s) and 0 role(s)." in restored
    with Site.connect(live.http + "/arcgis", ADMIN_USER, ADMIN_PASSWORD) as site:
        assert site.services.status("Maps/Roads")["realTimeState"] == "STARTED"
    assert "restore needs" in run(live, "backup_restore.py", "restore", ok=False)
    assert "No backup file" in run(live, "backup_restore.py", "restore", "/nope.agssite", ok=False)
