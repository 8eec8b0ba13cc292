"""The start-up sweep: what a killed publication or restore leaves in the services' data
directory is moved into the quarantine, logged, and listed in the Administrator Directory;
nothing a service references (in any state) and no live workspace is ever moved."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import httpx

from geosite.core import services
from geosite.core.logs import LogCode
from geosite.files import file_lock
from tests.conftest import LiveSite, make_site
from tests.http.test_publishing import publish
from tests.http.test_service_admin import _points


def _data_dir(site: LiveSite) -> Path:
    return services.data_directory(site.store)


def test_leftovers_are_quarantined_on_start(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    try:
        token = site.token()
        points = _points(tmp_path)
        assert publish(site, token, points, "Kept")["status"] == "success"
        assert publish(site, token, points, "Stopped", "Maps")["status"] == "success"
        stop = httpx.post(
            site.admin + "/services/Maps/Stopped.FeatureServer/stop",
            data={"f": "json", "token": token},
        ).json()
        assert stop == {"status": "success"}
        data_dir = _data_dir(site)
        referenced = sorted(p.name for p in data_dir.glob("*.gpkg"))
        assert len(referenced) == 2
    finally:
        site.stop()
    # What kill -9 leaves: an import's workspace (its lock gone with its process), a data file
    # moved into place whose service was never stored (with its WAL), an old restore's folder.
    dead = data_dir / ".import-abc123"
    dead.mkdir()
    (dead / "data.gpkg").write_bytes(b"x" * 1000)
    orphan = "0123456789abcdef0123456789abcdef.gpkg"
    (data_dir / orphan).write_bytes(b"y" * 300)
    (data_dir / (orphan + "-wal")).write_bytes(b"z" * 20)
    (data_dir / ".restore-old").mkdir()
    (data_dir / (referenced[0] + "-shm")).write_bytes(b"s")  # beside a referenced file: kept
    (data_dir / "notes.txt").write_text("not geosite's")  # a name geosite never makes: kept
    # A workspace whose process is alive (this thread holds its lock): kept.
    live = data_dir / ".import-live"
    live.mkdir()
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with file_lock(live / services.WORK_LOCK):
            held.set()
            release.wait(60)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    try:
        site = make_site(tmp_path / "site", create=False)
    finally:
        release.set()
        holder.join()
    try:
        token = site.token()
        left = sorted(p.name for p in data_dir.iterdir() if p.name != ".quarantine")
        assert left == sorted(
            [
                *referenced,
                referenced[0] + "-shm",
                ".admin.lock",
                ".import-live",
                ".sweep.lock",
                "notes.txt",
            ]
        )
        answer = httpx.get(
            site.admin + "/system/quarantine", params={"f": "json", "token": token}
        ).json()
        assert answer["count"] == 3 and answer["size"] == 1000 + 320
        by_kind = {e["kind"]: e for e in answer["entries"]}
        assert by_kind["import"]["name"] == ".import-abc123"
        assert by_kind["import"]["size"] == 1000 and by_kind["import"]["files"] == [
            ".import-abc123"
        ]
        assert by_kind["data"]["name"] == orphan
        assert by_kind["data"]["files"] == [orphan, orphan + "-wal"]
        assert by_kind["restore"]["name"] == ".restore-old"
        for entry in answer["entries"]:
            assert entry["reason"] and entry["quarantined"] > 0 and entry["modified"] > 0
        assert str(tmp_path) not in json.dumps(answer)  # names, never paths
        quarantined = data_dir / ".quarantine"
        assert oct(quarantined.stat().st_mode & 0o777) == "0o700"
        moved = quarantined / by_kind["data"]["id"] / orphan
        assert moved.read_bytes() == b"y" * 300
        page = httpx.get(site.admin + "/system/quarantine", params={"token": token}).text
        assert orphan in page and ".import-abc123" in page
        system = httpx.get(site.admin + "/system", params={"f": "json", "token": token}).json()
        assert "quarantine" in system["resources"]
        # Both services still serve: the stopped one's data was not touched.
        assert httpx.get(
            f"{site.http}/arcgis/rest/services/Kept/FeatureServer/0/query",
            params={"f": "json", "where": "1=1", "returnCountOnly": "true"},
        ).json() == {"count": 5}
        site.flush_logs()
        records = [r for r in site.log_store.query() if r.code == LogCode.QUARANTINED]
        assert len(records) == 3 and {r.level for r in records} == {"WARNING"}
        assert any(orphan in r.message for r in records)
        assert not any(str(tmp_path) in r.message for r in records)
        # An administrator removes an entry, then the rest.
        first = answer["entries"][0]["id"]
        deleted = httpx.post(
            site.admin + "/system/quarantine/delete",
            data={"f": "json", "token": token, "id": first},
        ).json()
        assert deleted == {"status": "success", "deleted": [first]}
        missing = httpx.post(
            site.admin + "/system/quarantine/delete",
            data={"f": "json", "token": token, "id": first},
        ).json()
        assert missing["code"] == 404
        everything = httpx.post(
            site.admin + "/system/quarantine/delete",
            data={"f": "json", "token": token, "id": "*"},
        ).json()
        assert len(everything["deleted"]) == 2
        assert httpx.get(
            site.admin + "/system/quarantine", params={"f": "json", "token": token}
        ).json() == {"entries": [], "count": 0, "size": 0}
    finally:
        site.stop()


def test_sweep_moves_nothing_a_service_references(tmp_path: Path) -> None:
    """A restart with nothing left over moves nothing (every file is referenced)."""
    site = make_site(tmp_path / "site")
    try:
        token = site.token()
        assert publish(site, token, _points(tmp_path), "One")["status"] == "success"
    finally:
        site.stop()
    before = sorted(os.listdir(services.data_directory(site.store)))
    site = make_site(tmp_path / "site", create=False)
    try:
        data_dir = _data_dir(site)
        assert sorted(n for n in os.listdir(data_dir) if n != ".sweep.lock") == sorted(
            n for n in before if n != ".sweep.lock"
        )
        assert not (data_dir / ".quarantine").exists()
    finally:
        site.stop()
