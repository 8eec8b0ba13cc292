"""``exportSite`` and ``importSite`` on a live site: what a backup holds and what a restore does."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from geosite.client import ServerError, Site
from tests.client.test_resources import points
from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite


def _state(site: Site) -> dict[str, Any]:
    """What a restore must bring back, as the API shows it."""
    return {
        "services": [s.path for s in site.services.list()],
        "states": {s.path: site.services.status(s)["realTimeState"] for s in site.services.list()},
        "definitions": {s.path: site.services.get(s) for s in site.services.list()},
        "folders": site.services.folders(),
        "users": sorted(u["username"] for u in site.users.list()),
        "roles": {r["rolename"]: site.roles.privilege(r["rolename"]) for r in site.roles.list()},
        "members": {r["rolename"]: site.roles.users(r["rolename"]) for r in site.roles.list()},
        "permissions": {s.path: site.services.permissions(s) for s in site.services.list()},
        "logs": site.logs.settings(),
        "properties": site.session.get_json("admin/system/properties"),
    }


def _set_properties(site: Site, properties: dict[str, Any]) -> None:
    site.session.post_json("admin/system/properties/update", {"properties": json.dumps(properties)})


def _count(site: Site, service: str) -> int:
    answer = site.session.get_json(
        f"rest/services/{service}/FeatureServer/0/query", {"where": "1=1", "returnCountOnly": True}
    )
    return int(answer["count"])


@pytest.fixture
def admin(fresh_site: LiveSite, tmp_path: Path) -> Site:
    site = Site.connect(fresh_site.http + "/arcgis", ADMIN_USER, ADMIN_PASSWORD)
    site.services.publish(points(tmp_path / "roads.geojson", 5), "Roads", folder="Maps")
    site.services.publish(points(tmp_path / "parks.geojson", 3), "Parks")
    site.services.stop("Parks")
    site.roles.add("editors", "Editors", privilege="PUBLISH")
    site.users.add("ann", "Ann-password-1", fullname="Ann")
    site.users.assign_roles("ann", ["editors"])
    site.services.grant("Maps/Roads.FeatureServer", "editors")
    site.logs.edit_settings(max_log_file_age=12)
    _set_properties(site, {"featureServiceXSSFilter": "sanitizeHtml"})
    return site


def test_a_restore_brings_back_what_the_backup_holds(
    admin: Site, fresh_site: LiveSite, tmp_path: Path
) -> None:
    before = _state(admin)
    location = admin.backup()
    backup = Path(location)
    assert backup.suffix == ".agssite" and backup.parent.name == "backups"
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600  # it holds password hashes
    with zipfile.ZipFile(backup) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
        configuration = archive.read("configuration.json").decode()
    assert {"manifest.json", "configuration.json"} <= set(names)
    assert len([n for n in names if n.startswith("services/")]) == 2  # Geometry has no data
    assert manifest["counts"]["services"] == 3 and manifest["madeBy"] == ADMIN_USER
    assert ADMIN_PASSWORD not in configuration
    saved_users = [u["username"] for u in json.loads(configuration)["users"]]
    assert saved_users == ["ann"]  # never the primary site administrator

    with Site.connect(admin.root, "ann", "Ann-password-1") as ann:
        ann_token = ann.session.token
    assert ann_token is not None
    # Everything changes after the backup ...
    admin.services.delete("Maps/Roads")
    published = set(Path(fresh_site.data_dir).rglob("*.gpkg"))
    admin.services.publish(points(tmp_path / "new.geojson", 9), "Later", folder="Maps")
    (later_file,) = set(Path(fresh_site.data_dir).rglob("*.gpkg")) - published
    admin.services.start("Parks")
    admin.users.remove("ann")
    admin.users.add("bob", "Bob-password-1")
    admin.roles.assign_privilege("editors", "ACCESS")
    admin.logs.edit_settings(max_log_file_age=99)
    _set_properties(admin, {})
    assert _state(admin) != before

    report = admin.restore(location)
    assert report["report"]["services"] == 3 and report["report"]["users"] == 1
    assert _state(admin) == before
    assert _count(admin, "Maps/Roads") == 5  # the data came back too
    assert (
        "error"
        in admin.session.http.get(
            f"{admin.root}/rest/services/Maps/Later/FeatureServer", params={"f": "json"}
        ).json()
    )
    # The replaced services' data files are gone; the restored services have fresh copies.
    assert not later_file.exists() and not (
        published & set(Path(fresh_site.data_dir).rglob("*.gpkg"))
    )
    assert len(list(Path(fresh_site.data_dir).rglob("*.gpkg"))) == 2
    # The administrator's token still works; Ann's old one does not; Ann logs in again.
    assert admin.machines.list()
    refused = httpx.get(
        admin.root + "/admin/services",
        params={"f": "json"},
        headers={"X-Esri-Authorization": f"Bearer {ann_token.value}"},
    ).json()
    assert refused["code"] == 498
    with Site.connect(admin.root, "ann", "Ann-password-1") as ann:
        assert [s.path for s in ann.services.list("Maps")] == ["Maps/Roads.FeatureServer"]
    admin.close()


def test_a_backup_goes_only_inside_the_sites_server_directories(
    admin: Site, fresh_site: LiveSite, tmp_path: Path
) -> None:
    system = next(
        d
        for d in admin.request("admin/system/directories", method="GET")["directories"]
        if d["directoryType"] == "SYSTEM"
    )
    inside = Path(system["physicalPath"]) / "mine"
    inside.mkdir()
    assert Path(admin.backup(str(inside))).parent == inside.resolve()
    with pytest.raises(ServerError, match="locationConfig"):
        admin.request("admin/exportSite", {"locationConfig": '{"type": "AWS"}'})
    with pytest.raises(ServerError, match="locationConfig"):
        admin.request("admin/importSite", {"location": "/x", "locationConfig": "{}"})
    for outside in (str(tmp_path), "relative/path", "/nonexistent-folder", "/"):
        with pytest.raises(ServerError) as raised:
            admin.backup(outside)
        assert raised.value.code == 400
    admin.close()


def test_bad_backup_files_are_refused_and_change_nothing(admin: Site, tmp_path: Path) -> None:
    before = _state(admin)
    text = tmp_path / "notes.txt"
    text.write_text("not a backup")
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("manifest.json", json.dumps({"format": "something-else"}))
    good = Path(admin.backup())

    def altered(name: str, change: Callable[[dict[str, Any]], None]) -> str:
        """A copy of the good backup with its configuration changed."""
        copy = tmp_path / name
        with zipfile.ZipFile(good) as source, zipfile.ZipFile(copy, "w") as target:
            for item in source.infolist():
                data = source.read(item)
                if item.filename == "configuration.json":
                    found = json.loads(data)
                    change(found)
                    data = json.dumps(found).encode()
                target.writestr(item, data)
        return str(copy)

    broken = altered("broken.agssite", lambda c: c["users"][0].update(token_version="x"))
    bad_setting = altered(
        "bad-setting.agssite", lambda c: c["settings"]["logSettings"].update(logLevel="LOUD")
    )
    bad_name = altered("bad-name.agssite", lambda c: c["users"][0].update(username="../x"))
    missing_data = tmp_path / "missing.agssite"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(missing_data, "w") as target:
        for item in source.infolist():
            if not item.filename.startswith("services/"):
                target.writestr(item, source.read(item))
    for location, message in (
        ("", "No backup file"),
        ("relative.agssite", "No backup file"),
        (str(tmp_path / "absent.agssite"), "No backup file"),
        (str(tmp_path), "No backup file"),
        (str(text), "not a valid zip"),
        (str(other), "not a geosite site backup"),
        (broken, "not readable"),
        (bad_setting, "'logLevel' must be one of"),
        (bad_name, "Invalid user name"),
        (str(missing_data), "incomplete"),
    ):
        with pytest.raises(ServerError) as raised:
            admin.restore(location)
        assert raised.value.code == 400 and message in " ".join(raised.value.messages), location
    assert _state(admin) == before
    assert len(list(Path(good).parents[3].rglob("*.gpkg"))) == 2  # the data files stay
    admin.close()


def test_only_administrators_back_up_and_restore(admin: Site, fresh_site: LiveSite) -> None:
    location = admin.backup()
    with Site.connect(admin.root, "ann", "Ann-password-1") as ann:  # a publisher
        for call in (lambda: ann.backup(), lambda: ann.restore(location)):
            with pytest.raises(ServerError) as raised:
                call()
            assert raised.value.code == 403
    admin.close()


def test_a_backup_downloads_and_restores_from_an_upload(admin: Site, fresh_site: LiveSite) -> None:
    """``/admin/backups`` lists the default folder's backups, ``/admin/backups/<name>``
    downloads one, and ``importSite`` takes the itemID of the file uploaded back."""
    before = _state(admin)
    location = Path(admin.backup())
    token = admin.session.token
    assert token is not None
    auth = {"X-Esri-Authorization": f"Bearer {token.value}"}
    listed = httpx.get(fresh_site.admin + "/backups", params={"f": "json"}, headers=auth).json()
    assert listed["backups"][0]["name"] == location.name
    assert listed["backups"][0]["size"] == location.stat().st_size
    got = httpx.get(fresh_site.admin + f"/backups/{location.name}", headers=auth)
    assert got.status_code == 200 and got.content == location.read_bytes()
    assert got.headers["content-disposition"].startswith("attachment;")
    assert got.headers["cache-control"] == "private, no-store"
    for name in ("nothing.agssite", "..%2Fuploads", "x.gpkg", location.name + "x"):
        missing = httpx.get(
            fresh_site.admin + f"/backups/{name}", params={"f": "json"}, headers=auth
        )
        assert missing.json()["code"] == 404, name
    assert httpx.get(fresh_site.admin + f"/backups/{location.name}").status_code != 200

    admin.services.delete("Maps/Roads")
    assert _state(admin) != before
    item = httpx.post(
        fresh_site.admin + "/uploads/upload",
        data={"f": "json"},
        files={"itemFile": ("mine.agssite", got.content)},
        headers=auth,
    ).json()["item"]
    restored = httpx.post(
        fresh_site.admin + "/importSite",
        data={"f": "json", "location": item["itemID"]},
        headers=auth,
        timeout=60,
    ).json()
    assert restored["status"] == "success", restored
    assert _state(admin) == before
    # A publisher may upload files, but not restore with them; nor may an administrator
    # restore from another user's upload (it must be one's own).
    with Site.connect(admin.root, "ann", "Ann-password-1") as ann:
        with pytest.raises(ServerError) as raised:
            ann.restore(item["itemID"])
        assert raised.value.code == 403
        theirs = ann.session.post_json(
            "admin/uploads/upload", {}, files={"itemFile": ("x.agssite", io.BytesIO(got.content))}
        )["item"]["itemID"]
    with pytest.raises(ServerError) as raised:
        admin.restore(theirs)
    assert raised.value.code == 404
    admin.close()
