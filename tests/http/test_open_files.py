"""Deleted, renamed and stopped services keep no file open (issue 16, item 6).

The server keeps read connections and writers between requests; once a service is deleted,
renamed or stopped, no process of the machine may hold its GeoPackage, ``-wal``, ``-shm`` or
``.lock`` open (a deleted file's disk space comes back only when the last handle goes).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from geosite.core import service_admin
from geosite.core.models import LayerDescription
from geosite.data import editing, geopackage, handles
from tests.conftest import LiveSite
from tests.e2e.test_serve import PASSWORD, Server, publish_file
from tests.http.test_publishing import publish

EDITABLE = "Query,Create,Update,Delete"
SUFFIXES = ("", "-wal", "-shm", ".lock")


def _points(path: Path) -> Path:
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [i, i]},
            "properties": {"name": f"p{i}"},
        }
        for i in range(1, 4)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def open_files(pid: int | str, data: str) -> list[str]:
    """The files of the GeoPackage ``data`` that process ``pid`` holds open."""
    names = {data + suffix for suffix in SUFFIXES}
    found = []
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in fd_dir.iterdir() if fd_dir.exists() else ():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        target = target.removesuffix(" (deleted)")
        if target in names:
            found.append(target)
    return found


def _data_path(site: LiveSite, name: str) -> str:
    service = site.store.get_service("", name, "FeatureServer")
    assert service is not None
    return str(service.definition["_geosite"]["data"])


def _use(base: str, name: str, token: str) -> None:
    """Query and edit the service, so that readers and the writer are open."""
    layer = f"{base}/arcgis/rest/services/{name}/FeatureServer/0"
    counted = httpx.get(layer + "/query", params={"f": "json", "where": "1=1"}).json()
    assert len(counted["features"]) >= 3, counted
    edits = [{"attributes": {"name": "new"}, "geometry": {"x": 5, "y": 6}}]
    added = httpx.post(
        layer + "/applyEdits", data={"f": "json", "token": token, "adds": json.dumps(edits)}
    ).json()
    assert added["addResults"][0]["success"] is True, added


def _admin(site: LiveSite, path: str, token: str, **params: str) -> Any:
    return httpx.post(site.admin + path, data={"f": "json", "token": token, **params}).json()


@pytest.fixture
def served(fresh_site: LiveSite, tmp_path: Path) -> Iterator[tuple[LiveSite, str, str]]:
    """A site with an editable service ``Points`` that was queried and edited."""
    token = fresh_site.token()
    points = _points(tmp_path / "points.geojson")
    assert publish(fresh_site, token, points, "Points", capabilities=EDITABLE)["status"] == (
        "success"
    )
    data = _data_path(fresh_site, "Points")
    _use(fresh_site.http, "Points", token)
    assert open_files(os.getpid(), data), "querying and editing keep the data open"
    yield fresh_site, token, data


def test_delete_closes_every_file(served: tuple[LiveSite, str, str]) -> None:
    site, token, data = served
    before = len(os.listdir("/proc/self/fd"))
    assert _admin(site, "/services/Points.FeatureServer/delete", token)["status"] == "success"
    assert open_files(os.getpid(), data) == []
    assert not any(Path(data + suffix).exists() for suffix in SUFFIXES)
    assert len(os.listdir("/proc/self/fd")) < before


def test_stop_closes_every_file_and_start_opens_again(
    served: tuple[LiveSite, str, str],
) -> None:
    site, token, data = served
    assert _admin(site, "/services/Points.FeatureServer/stop", token)["status"] == "success"
    assert open_files(os.getpid(), data) == []
    assert _admin(site, "/services/Points.FeatureServer/start", token)["status"] == "success"
    _use(site.http, "Points", token)
    payload = json.dumps({"services": [{"serviceName": "Points", "type": "FeatureServer"}]})
    stopped = _admin(site, "/services/stopServices", token, services=payload)
    assert stopped["status"] == "success"
    assert open_files(os.getpid(), data) == []


def test_rename_closes_every_file(served: tuple[LiveSite, str, str]) -> None:
    site, token, data = served
    renamed = _admin(
        site,
        "/services/renameService",
        token,
        serviceName="Points",
        serviceType="FeatureServer",
        serviceNewName="Places",
    )
    assert renamed == {"status": "success"}
    assert open_files(os.getpid(), data) == []
    _use(site.http, "Places", token)  # the renamed service opens its data again


def test_a_change_made_by_another_worker_is_swept(served: tuple[LiveSite, str, str]) -> None:
    """A stop written to the site store by another process: this worker lets go within ~1 s."""
    site, _, data = served
    service_admin.set_state(site.store, "", "Points", "FeatureServer", service_admin.STOPPED)
    deadline = time.monotonic() + 5
    while open_files(os.getpid(), data) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert open_files(os.getpid(), data) == []


#: The table ``_gpkg`` makes (no geometry: the writer's bookkeeping is not under test).
_T = LayerDescription(0, "t", "t", "esriGeometryPoint", {}, {}, ())


def _gpkg(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (OBJECTID INTEGER PRIMARY KEY, v TEXT)")
        conn.execute("INSERT INTO t (v) VALUES ('a'), ('b')")
    conn.close()
    return str(path)


def test_a_reader_in_use_is_closed_after_its_query(tmp_path: Path) -> None:
    path = _gpkg(tmp_path / "in_use.gpkg")
    with geopackage.reading(path) as conn:
        handles.release(path)
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (2,)  # still usable
    assert path not in handles.open_paths()
    assert open_files(os.getpid(), path) == []


def test_a_writer_in_use_is_closed_after_its_edit(tmp_path: Path) -> None:
    path = _gpkg(tmp_path / "editing.gpkg")
    entered, released = threading.Event(), threading.Event()

    def release() -> None:
        entered.wait(10)
        handles.release(path)  # waits for the edit
        released.set()

    thread = threading.Thread(target=release)
    thread.start()
    with editing.edit_transaction(path) as tx:
        entered.set()
        assert not released.wait(0.3), "the writer was closed under its edit"
        tx.insert(_T, {"v": "c"})
    thread.join(10)
    assert released.is_set()
    assert open_files(os.getpid(), path) == []
    with editing.edit_transaction(path) as tx:  # the next edit opens a writer again
        assert tx.value(_T, "v", 3) == "c"
    handles.release(path)


def test_an_edit_after_the_file_is_gone_makes_no_new_file(tmp_path: Path) -> None:
    path = _gpkg(tmp_path / "gone.gpkg")
    with editing.edit_transaction(path) as tx:
        tx.insert(_T, {"v": "c"})
    for suffix in SUFFIXES:
        Path(path + suffix).unlink(missing_ok=True)
    handles.release(path)
    with pytest.raises(Exception, match="missing"), editing.edit_transaction(path):
        pass
    assert not Path(path).exists()


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


@pytest.mark.parametrize("operation", ["delete", "stop"])
def test_every_worker_lets_go(tmp_path: Path, operation: str) -> None:
    """``geosite serve --workers 2``: after delete or stop, no worker holds the files."""
    server = Server(tmp_path / "site", "--workers", "2", "--admin-password", PASSWORD)
    try:
        token = server.token()
        points = _points(tmp_path / "points.geojson")
        publish_file(server, token, points, "Points", EDITABLE)
        (data,) = [str(p) for p in (tmp_path / "site").rglob("*.gpkg")]
        workers = [p for p in _descendants(server.process.pid) if p != server.process.pid]
        holding: list[int] = []
        for _ in range(40):  # a new connection each time, until every worker opened the data
            _use(server.url, "Points", token)
            holding = [pid for pid in workers if open_files(pid, data)]
            if len(holding) >= 2:
                break
        assert holding, "the workers hold the data open"
        admin = server.url + f"/arcgis/admin/services/Points.FeatureServer/{operation}"
        done = httpx.post(admin, data={"f": "json", "token": token}).json()
        assert done["status"] == "success", done
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if not any(open_files(pid, data) for pid in workers):
                break
            time.sleep(0.2)
        assert {pid: open_files(pid, data) for pid in workers if open_files(pid, data)} == {}
    finally:
        server.stop()
