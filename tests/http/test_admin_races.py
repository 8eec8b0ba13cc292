"""Administrative operations racing each other on a live site: threads create, rename and
delete services and folders, change permissions, edit and query for ``RACE_SECONDS`` (20 in
the suite). No request may get code 500, and afterwards the site store, the listings of the
Administrator and REST directories, the permissions and the files on disk must agree."""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from geosite.core import services
from tests.conftest import LiveSite, make_site
from tests.http.test_service_admin import _points

SECONDS = float(os.environ.get("RACE_SECONDS", "20"))
FOLDERS = ("F0", "F1", "")
NAMES = ("S0", "S1", "S2", "S3")
EDITABLE = "Query,Create,Update,Delete"


class Race:
    def __init__(self, site: LiveSite, token: str, item: str) -> None:
        self.site, self.token, self.item = site, token, item
        self.codes: Counter[int] = Counter()
        self.problems: list[str] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def call(self, http: httpx.Client, method: str, url: str, **data: Any) -> dict[str, Any]:
        fields = {"f": "json", "token": self.token, **data}
        try:
            if method == "GET":
                answer = http.get(url, params=fields)
            else:
                answer = http.post(url, data=fields)
        except httpx.HTTPError as exc:
            with self.lock:
                self.problems.append(f"{method} {url}: {type(exc).__name__}")
            return {}
        try:
            body: dict[str, Any] = answer.json()
        except ValueError:
            body = {"code": answer.status_code, "invalid": answer.text[:200]}
        code = int(body.get("code") or body.get("error", {}).get("code") or answer.status_code)
        with self.lock:
            self.codes[code] += 1
            if code >= 500 or answer.status_code >= 500 or "invalid" in body:
                self.problems.append(f"{method} {url} {data}: {answer.status_code} {body}")
        return body

    def admin(self, folder: str, rest: str = "") -> str:
        path = "/services" + (f"/{folder}" if folder else "") + (f"/{rest}" if rest else "")
        return self.site.admin + path

    def layer(self, folder: str, name: str) -> str:
        where = f"{folder}/{name}" if folder else name
        return f"{self.site.http}/arcgis/rest/services/{where}/FeatureServer/0"

    def loop(self, seed: int, action: Any) -> None:
        rng = random.Random(seed)
        with httpx.Client(timeout=120) as http:
            while not self.stop.is_set():
                action(http, rng, rng.choice(FOLDERS), rng.choice(NAMES))

    # -- the actors ------------------------------------------------------------------------
    def publish(self, http: httpx.Client, rng: random.Random, folder: str, name: str) -> None:
        service = {
            "serviceName": name,
            "type": "FeatureServer",
            "folderName": folder,
            "capabilities": EDITABLE,
            "properties": {"itemID": self.item},
        }
        self.call(http, "POST", self.admin("", "createService"), service=json.dumps(service))

    def folders(self, http: httpx.Client, rng: random.Random, folder: str, name: str) -> None:
        if not folder:
            return
        if rng.random() < 0.5:
            self.call(http, "POST", self.admin("", "createFolder"), folderName=folder)
        else:
            self.call(http, "POST", self.admin(folder, "deleteFolder"))
        time.sleep(rng.uniform(0, 0.3))

    def rename(self, http: httpx.Client, rng: random.Random, folder: str, name: str) -> None:
        self.call(
            http,
            "POST",
            self.admin(folder, "renameService"),
            serviceName=name,
            serviceType="FeatureServer",
            serviceNewName=rng.choice(NAMES),
        )

    def delete(self, http: httpx.Client, rng: random.Random, folder: str, name: str) -> None:
        self.call(http, "POST", self.admin(folder, f"{name}.FeatureServer/delete"))
        time.sleep(rng.uniform(0, 0.5))

    def permissions(self, http: httpx.Client, rng: random.Random, folder: str, name: str) -> None:
        target = self.admin(folder, f"{name}.FeatureServer") if rng.random() < 0.7 else None
        if target is None:
            target = self.admin(folder) if folder else self.site.admin + "/services"
        principal = rng.choice(("editors", "viewers"))
        self.call(http, "POST", target + "/permissions/add", principal=principal)

    def edit(self, http: httpx.Client, rng: random.Random, folder: str, name: str) -> None:
        feature = {"attributes": {"n": rng.randrange(1000)}, "geometry": {"x": 1.0, "y": 2.0}}
        self.call(
            http, "POST", self.layer(folder, name) + "/addFeatures", features=json.dumps([feature])
        )

    def query(self, http: httpx.Client, rng: random.Random, folder: str, name: str) -> None:
        self.call(
            http, "GET", self.layer(folder, name) + "/query", where="1=1", returnCountOnly="true"
        )
        if rng.random() < 0.2:
            self.call(http, "GET", self.admin(folder))
            self.call(http, "GET", f"{self.site.http}/arcgis/rest/services/{folder}")


def _upload(site: LiveSite, token: str, tmp_path: Path) -> str:
    path = _points(tmp_path)
    item = httpx.post(
        site.admin + "/uploads/upload",
        data={"f": "json", "token": token},
        files={"itemFile": (path.name, path.read_bytes())},
    ).json()["item"]
    return str(item["itemID"])


def _check_agreement(site: LiveSite, token: str) -> None:
    store = site.store
    folders = {f.name.lower(): f.name for f in store.list_folders()}
    stored = store.list_services()
    # No service in a folder that does not exist.
    assert [s.qualified_name for s in stored if s.folder and s.folder.lower() not in folders] == []
    # The Administrator Directory lists what the store holds.
    root = httpx.get(site.admin + "/services", params={"f": "json", "token": token}).json()
    others = sorted(name for name in folders.values() if name != "Utilities")
    assert root["folders"] == ["System", "Utilities", *others]
    listed = {("", s["serviceName"]) for s in root["services"]}
    for name in folders.values():
        answer = httpx.get(
            site.admin + f"/services/{name}", params={"f": "json", "token": token}
        ).json()
        listed |= {(name, s["serviceName"]) for s in answer["services"]}
    assert listed == {(s.folder, s.name) for s in stored}
    # So does the REST directory (every service here is public).
    catalog = httpx.get(f"{site.http}/arcgis/rest/services", params={"f": "json"}).json()
    assert sorted(catalog["folders"]) == sorted(folders.values())
    rest = {s["name"] for s in catalog["services"]}
    for name in folders.values():
        answer = httpx.get(f"{site.http}/arcgis/rest/services/{name}", params={"f": "json"})
        rest |= {s["name"] for s in answer.json()["services"]}
    assert rest == {s.qualified_name for s in stored}
    # No permission of a folder or service that does not exist.
    resources = {"", *folders, *(s.resource.lower() for s in stored)}
    assert sorted({p.resource.lower() for p in store.list_permissions()} - resources) == []
    # Each service has its GeoPackage, and each GeoPackage its service; nothing unfinished.
    data_dir = services.data_directory(store)
    referenced = {
        Path(s.definition["_geosite"]["data"]).name
        for s in stored
        if s.definition["_geosite"]["data"]
    }  # the Geometry service of Utilities has no data
    on_disk = {p.name for p in data_dir.glob("*.gpkg")}
    assert on_disk == referenced
    assert [p.name for p in data_dir.glob(".import-*")] == []


def _severe(site: LiveSite, token: str) -> list[str]:
    """The server log's SEVERE messages, to say why a request failed."""
    answer = httpx.post(
        site.admin + "/logs/query",
        data={"f": "json", "token": token, "level": "SEVERE", "filter": "{}", "pageSize": 50},
    ).json()
    return [str(m.get("message")) for m in answer.get("logMessages", [])]


def test_admin_operations_race(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    try:
        token = site.token()
        race = Race(site, token, _upload(site, token, tmp_path))
        actors = [
            race.publish,
            race.publish,
            race.folders,
            race.rename,
            race.delete,
            race.permissions,
            race.edit,
            race.query,
            race.query,
        ]
        threads = [
            threading.Thread(target=race.loop, args=(seed, actor))
            for seed, actor in enumerate(actors)
        ]
        for thread in threads:
            thread.start()
        time.sleep(SECONDS)
        race.stop.set()
        for thread in threads:
            thread.join(timeout=180)
        assert race.problems == [], _severe(site, token)
        assert race.codes[200] > 0 and sum(race.codes.values()) > 100, race.codes
        print(f"requests by code: {dict(sorted(race.codes.items()))}")
        _check_agreement(site, token)
    finally:
        site.stop()
