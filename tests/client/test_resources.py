"""Every resource of ``geosite.client.Site`` against a live site, success and failure paths."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from geosite.client import ClientError, NotFound, ServerError, ServiceRef, Site
from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite


def points(path: Path, count: int = 3) -> Path:
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [i, i]}, "properties": {}}
        for i in range(count)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


@pytest.fixture(scope="module")
def client(site: LiveSite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data = points(tmp_path_factory.mktemp("client") / "points.geojson")
    with Site.connect(site.http + "/arcgis", ADMIN_USER, ADMIN_PASSWORD) as connected:
        for name, folder in (("Parks", ""), ("Roads", "Maps"), ("Rivers", "Maps")):
            connected.services.publish(data, name, folder=folder)
        yield connected


ROADS = ServiceRef("Maps", "Roads", "FeatureServer")


def test_service_refs_parse_and_name_their_resources() -> None:
    assert ServiceRef.parse("Maps/Roads.FeatureServer") == ROADS
    assert ServiceRef.parse("/Parks.MapServer") == ServiceRef("", "Parks", "MapServer")
    assert ServiceRef.parse("ROOT/Parks.MapServer").folder == ""
    assert ROADS.admin_path == "admin/services/Maps/Roads.FeatureServer"
    assert ROADS.rest_path == "rest/services/Maps/Roads/FeatureServer"
    for bad in ("Roads", "a/b/c.FeatureServer", ".FeatureServer"):
        with pytest.raises(ClientError, match="Not a service path"):
            ServiceRef.parse(bad)


def test_listing_finding_and_matching_services(client: Site) -> None:
    assert "Maps" in client.services.folders()
    everything = client.services.list()
    assert [s.path for s in everything] == [
        "Parks.FeatureServer",
        "Maps/Rivers.FeatureServer",
        "Maps/Roads.FeatureServer",
    ]
    assert [s.path for s in client.services.list("/")] == ["Parks.FeatureServer"]
    assert client.services.find("maps/roads") == ROADS  # the type found, case ignored
    assert client.services.find("Maps/Roads.FeatureServer") == ROADS
    with pytest.raises(NotFound):
        client.services.find("Maps/Lakes")
    with pytest.raises(NotFound):
        client.services.list("NoSuchFolder")
    assert {s.name for s in client.services.match(["Maps/*"])} == {"Roads", "Rivers"}
    assert [s.name for s in client.services.match(["Parks"])] == ["Parks"]
    assert len(client.services.match(["*.FeatureServer"])) == 3
    assert [s.name for s in client.services.match(["*/R*s"])] == ["Rivers", "Roads"]
    assert client.services.match(["Nothing*"]) == []


def test_state_changes_and_restart(client: Site, site: LiveSite) -> None:
    url = f"{site.http}/arcgis/{ROADS.rest_path}"
    client.services.stop(ROADS)
    assert client.services.status(ROADS)["realTimeState"] == "STOPPED"
    with pytest.raises(ServerError):  # a stopped service refuses its requests
        client.session.get_json(ROADS.rest_path)
    assert "error" in httpx.get(url, params={"f": "json"}).json()
    client.services.restart(ROADS)
    assert client.services.status("Maps/Roads")["configuredState"] == "STARTED"
    assert client.session.get_json(ROADS.rest_path)["layers"]


def test_edit_merges_properties_and_replace_sets_the_whole_definition(client: Site) -> None:
    edited = client.services.edit(
        ROADS, {"description": "County roads", "properties": {"maxRecordCount": 7}}
    )
    assert edited["capabilities"] == "Query" and edited["properties"]["maxRecordCount"] == 7
    stored = client.services.get(ROADS)
    assert stored["description"] == "County roads"
    assert int(stored["properties"]["maxRecordCount"]) == 7
    layer = client.session.get_json(ROADS.rest_path + "/0")
    assert layer["maxRecordCount"] == 7
    with pytest.raises(ServerError):
        client.services.replace(ROADS, {"serviceName": "Roads", "type": "Nonsense"})


def test_statistics_item_info_and_permissions(client: Site, site: LiveSite) -> None:
    assert "summary" in client.services.statistics(ROADS)
    assert isinstance(client.services.item_info(ROADS), dict)
    client.services.grant(ROADS, "esriEveryone")
    (granted,) = client.services.permissions(ROADS)
    assert granted["principal"] == "esriEveryone" and granted["permission"]["isAllowed"]
    client.services.revoke(ROADS, "esriEveryone")
    assert client.services.permissions(ROADS) == []
    assert isinstance(client.services.permissions("Maps"), list)


def test_publish_reports_progress_and_cleans_up_after_a_failure(
    client: Site, tmp_path: Path
) -> None:
    data = points(tmp_path / "many.geojson", 2000)
    seen: list[tuple[int, int]] = []
    ref = client.services.publish(
        data, "Many", folder="Scratch", progress=lambda sent, total: seen.append((sent, total))
    )
    assert ref == ServiceRef("Scratch", "Many", "FeatureServer")
    size = data.stat().st_size
    assert seen and seen[-1] == (size, size)
    assert [s for s, _ in seen] == sorted(s for s, _ in seen)
    count = client.session.get_json(
        ref.rest_path + "/0/query", {"where": "1=1", "returnCountOnly": True}
    )
    assert count["count"] == 2000
    uploads_before = len(client.uploads.list())
    with pytest.raises(ServerError, match="service name"):
        client.services.publish(data, "bad name")
    assert len(client.uploads.list()) == uploads_before  # its upload went again
    client.services.delete(ref)
    client.services.delete_folder("Scratch")
    assert "Scratch" not in client.services.folders()
    client.services.create_folder("Empty", "nothing yet")
    assert "Empty" in client.services.folders()
    client.services.delete_folder("Empty")


def test_machines_clusters_and_the_site(client: Site) -> None:
    (machine,) = client.machines.list()
    name = machine["machineName"]
    assert client.machines.get(name)["machineName"] == name
    assert client.machines.status(name)["realTimeState"] == "STARTED"
    with pytest.raises(NotFound):
        client.machines.status("NOPE")
    assert client.clusters.list() == []
    assert client.health() is True
    assert client.info()["authInfo"]["isTokenBasedSecurity"] is True
    assert "logs" in client.admin()["resources"]


def test_logs_pages_filters_and_settings(client: Site, site: LiveSite) -> None:
    for _ in range(5):
        with pytest.raises(NotFound):  # the site answers 404 and logs a WARNING
            client.services.list("Missing")
    site.flush_logs()
    newest = site.clock.now_ms() - 1  # the queries below log records of their own, later
    whole = list(client.logs.query(level="FINE", newest=newest, page_size=10_000))
    paged = list(client.logs.query(level="FINE", newest=newest, page_size=7))
    assert len(whole) > 7 and paged == whole
    times = [r["time"] for r in whole]
    assert times == sorted(times, reverse=True)
    assert len(list(client.logs.query(level="FINE", page_size=3, limit=5))) == 5
    warnings = list(client.logs.query(level="WARNING"))
    assert len([w for w in warnings if "Missing" in w["message"]]) >= 5
    mine = list(client.logs.query(level="FINE", users=[ADMIN_USER]))
    assert mine and all(r["user"] == ADMIN_USER for r in mine)
    roads = list(client.logs.query(level="FINE", services=["Maps/Roads.FeatureServer"]))
    assert roads and {r["source"] for r in roads} == {"Maps/Roads.FeatureServer"}
    oldest = whole[len(whole) // 2]["time"]
    assert all(r["time"] >= oldest for r in client.logs.query(level="FINE", oldest=oldest))
    assert client.logs.settings()["logLevel"] == "FINE"
    changed = client.logs.edit_settings(max_log_file_age=30)
    assert changed["maxLogFileAge"] == 30
    with pytest.raises(ServerError):
        client.logs.edit_settings(log_level="LOUD")
    assert client.logs.edit_settings(log_level="FINE")["logLevel"] == "FINE"
    # ArcGIS answers a stopped service with code 500, logged as SEVERE (the restart test).
    severe = list(client.logs.query(level="SEVERE"))
    assert severe and all("not started" in r["message"] for r in severe)
    assert client.logs.count_error_reports() == {"TESTMACHINE.EXAMPLE": len(severe)}


def test_users_and_roles(client: Site) -> None:
    client.roles.add("editors", "People who edit", privilege="PUBLISH")
    assert client.roles.privilege("editors") == "PUBLISH"
    assert "editors" in [r["rolename"] for r in client.roles.list()]
    client.users.add("jdoe", "Jdoe-password-1", fullname="J. Doe", email="j@example.com")
    assert client.users.search("jdo")[0]["fullname"] == "J. Doe"
    assert "jdoe" in [u["username"] for u in client.users.list()]
    client.users.assign_roles("jdoe", ["editors"])
    assert client.users.roles("jdoe") == ["editors"]
    assert client.roles.users("editors") == ["jdoe"]
    assert client.users.privilege("jdoe") == "PUBLISH"
    client.users.update("jdoe", fullname="Jane Doe")
    assert client.users.search("jdoe")[0]["fullname"] == "Jane Doe"
    client.users.change_password("jdoe", "Jdoe-password-2")
    with Site.connect(client.root, "jdoe", "Jdoe-password-2") as jdoe:
        assert jdoe.services.list("Maps")  # a publisher lists services
    client.roles.remove_users("editors", ["jdoe"])
    assert client.users.roles("jdoe") == []
    client.roles.add_users("editors", ["jdoe"])
    client.users.remove_roles("jdoe", ["editors"])
    client.roles.update("editors", "Renamed description")
    client.users.remove("jdoe")
    client.roles.remove("editors")
    with pytest.raises(ServerError):
        client.users.remove("jdoe")
    with pytest.raises(ServerError):
        client.roles.assign_privilege("nobody", "ROOT")


def test_uploads_and_data(client: Site, tmp_path: Path) -> None:
    item = client.uploads.upload(points(tmp_path / "one.geojson", 1), "one point")
    assert client.uploads.get(item["itemID"])["description"] == "one point"
    assert item["itemID"] in [i["itemID"] for i in client.uploads.list()]
    client.uploads.delete(item["itemID"])
    with pytest.raises(ServerError):
        client.uploads.get(item["itemID"])
    shared = tmp_path / "shared"
    shared.mkdir()
    item = {
        "path": "/fileShares/gis",
        "type": "folder",
        "info": {"path": str(shared), "dataStoreConnectionType": "shared"},
    }
    assert client.data.validate(item)["status"] == "success"
    assert client.data.register(item)["status"] == "success"
    assert [i["path"] for i in client.data.find("/fileShares")] == ["/fileShares/gis"]
    with pytest.raises(ServerError) as twice:
        client.data.register(item)
    assert twice.value.code == 409
    client.data.unregister("/fileShares/gis")
    assert client.data.find("/fileShares") == []
    with pytest.raises(NotFound):
        client.data.unregister("/fileShares/gis")


def test_usage_reports(client: Site) -> None:
    report = {
        "reportname": "weekly",
        "since": "LAST_WEEK",
        "queries": [{"resourceURIs": ["services/"], "metrics": ["RequestCount"]}],
        "metadata": "{}",
    }
    client.usage_reports.add(report)
    assert "weekly" in [r["reportname"] for r in client.usage_reports.list()]
    assert client.usage_reports.get("weekly")["since"] == "LAST_WEEK"
    data = client.usage_reports.data("weekly")
    assert data["report"]["time-slices"]
    assert client.usage_reports.csv("weekly").splitlines()[0]
    client.usage_reports.edit("weekly", {**report, "since": "LAST_DAY"})
    assert client.usage_reports.get("weekly")["since"] == "LAST_DAY"
    client.usage_reports.delete("weekly")
    with pytest.raises(ServerError):
        client.usage_reports.get("weekly")
    assert client.usage_reports.settings()["enabled"] in (True, "true")
    client.usage_reports.edit_settings(maxHistory=30)
    assert int(client.usage_reports.settings()["maxHistory"]) == 30


def test_logs_clean(fresh_site: LiveSite) -> None:
    with Site.connect(fresh_site.http + "/arcgis", ADMIN_USER, ADMIN_PASSWORD) as site:
        site.machines.list()
        fresh_site.flush_logs()
        assert list(site.logs.query(level="FINE", limit=1))
        site.logs.clean()
        newest = fresh_site.clock.now_ms() - 1
        left = list(site.logs.query(level="FINE", newest=newest))
        # Only the clean's own records: its completion and its audit record.
        own = [r["message"] for r in left]
        assert all("logs/clean" in m or m.endswith(": clean logs") for m in own), own
