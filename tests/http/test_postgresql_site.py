"""A site whose configuration and log stores are on PostgreSQL (issue 18, item 3), over HTTP
on loopback: created, published to, restarted; two workers on one store seeing each other's
changes within a second; backups moved between SQLite and PostgreSQL sites."""

from __future__ import annotations

import itertools
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from geosite.client import ServerError, Site
from tests.client.test_resources import points
from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite, make_site
from tests.http.test_backups import _count, _set_properties, _state
from tests.pg import PgServer

_DATABASES = itertools.count(1)


@pytest.fixture
def pg_url(postgres: PgServer) -> str:
    """A new, empty database for each test."""
    return postgres.create_database(f"site_{next(_DATABASES)}", postgis=False)


@pytest.fixture
def pg_site(tmp_path: Path, pg_url: str) -> Iterator[LiveSite]:
    live = make_site(tmp_path / "a", config_store=pg_url)
    yield live
    live.stop()


def _connect(live: LiveSite) -> Site:
    return Site.connect(live.http + "/arcgis", ADMIN_USER, ADMIN_PASSWORD)


def _within(seconds: float, check: Callable[[], bool]) -> float:
    """How long ``check`` took to hold; fails when it does not within ``seconds``."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > seconds:
            raise AssertionError(f"not within {seconds} s")
        time.sleep(0.02)
    return time.monotonic() - start


def test_publish_restart_and_everything_is_still_there(
    pg_site: LiveSite, pg_url: str, postgres: PgServer, tmp_path: Path
) -> None:
    pointer = orjson.loads((pg_site.data_dir / "machine.json").read_bytes())
    assert pointer["configStore"] == pg_url
    assert not (pg_site.data_dir / "config-store").exists()  # nothing of the store on disk
    with _connect(pg_site) as admin:
        admin.services.publish(points(tmp_path / "roads.geojson", 7), "Roads", folder="Maps")
        admin.users.add("ann", "Ann-password-1", fullname="Ann")
        assert _count(admin, "Maps/Roads") == 7
        before = _state(admin)
    pg_site.flush_logs()
    pg_site.stop()
    assert postgres.psql("SELECT count(*) FROM geosite.services", pg_url.rsplit("/", 1)[1]) == "2"
    again = make_site(pg_site.data_dir, create=False)
    try:
        with _connect(again) as admin:
            assert _state(admin) == before
            assert _count(admin, "Maps/Roads") == 7
            records = admin.session.post_json(
                "admin/logs/query", {"level": "FINE", "filter": "{}", "pageSize": 1000}
            )["logMessages"]
            assert any("Roads" in r["message"] for r in records)  # logs from before the restart
    finally:
        again.stop()


def test_create_new_site_on_postgresql(tmp_path: Path, pg_url: str, postgres: PgServer) -> None:
    """``createNewSite`` with ``{"type": "POSTGRESQL", "connectionString": ...}``; a wrong
    one is a clear 400 that never shows a password."""
    live = make_site(tmp_path / "b", create=False)
    try:
        bad = f"postgresql://nobody@127.0.0.1:{postgres.port}/missing"
        for store, words in (
            ({"type": "POSTGRESQL", "connectionString": "sqlite:///x"}, "postgresql://"),
            ({"type": "POSTGRESQL", "connectionString": bad, "connectionSecret": "pw1"}, "***"),
            (  # a bracketed host that is not IPv6: Python cannot split the URL
                {
                    "type": "POSTGRESQL",
                    "connectionString": "postgresql://u@[db/x",
                    "connectionSecret": "pw1",
                },
                "cannot be read",
            ),
        ):
            with pytest.raises(ServerError) as refused:
                Site.create_site(
                    live.http + "/arcgis", ADMIN_USER, ADMIN_PASSWORD, config_store=store
                )
            assert str(refused.value).startswith("400") and words in str(refused.value)
            assert "pw1" not in str(refused.value)
        assert not (live.data_dir / "machine.json").exists()
        store = {"type": "POSTGRESQL", "connectionString": pg_url}
        created = Site.create_site(
            live.http + "/arcgis", ADMIN_USER, ADMIN_PASSWORD, config_store=store
        )
        assert created == {"status": "success"}
        with _connect(live) as admin:
            assert [m["machineName"] for m in admin.machines.list()]
        database = pg_url.rsplit("/", 1)[1]
        assert postgres.psql("SELECT count(*) FROM geosite.users", database) == "1"
    finally:
        live.stop()


def _second_worker(first: LiveSite, data_dir: Path) -> LiveSite:
    """Another worker of the same machine and site: the same pointer, another process state."""
    data_dir.mkdir()
    shutil.copy(first.data_dir / "machine.json", data_dir / "machine.json")
    return make_site(data_dir, create=False)


def _properties(live: LiveSite) -> dict[str, Any]:
    token = live.token()
    return dict(
        httpx.get(live.admin + "/system/properties", params={"f": "json", "token": token}).json()
    )


def test_workers_see_each_others_changes_within_a_second(
    pg_site: LiveSite, postgres: PgServer, tmp_path: Path
) -> None:
    """Each worker keeps the system properties for a minute on PostgreSQL and drops them on
    the NOTIFY of another's change; with its listening connection killed, it polls."""
    other = _second_worker(pg_site, tmp_path / "second")
    try:
        admin = _connect(pg_site)
        assert _properties(other) == {}  # read, and kept
        _set_properties(admin, {"featureServiceXSSFilter": "sanitizeHtml"})
        took = _within(1.0, lambda: _properties(other) != {})
        assert _properties(other) == {"featureServiceXSSFilter": "sanitizeHtml"}
        print(f"seen by the other worker after {took * 1000:.0f} ms (NOTIFY)")

        watcher = other.store._watcher  # the worker's listening thread
        _within(5.0, lambda: watcher.backend_pid() is not None)
        pid = watcher.backend_pid()
        assert postgres.psql(f"SELECT pg_terminate_backend({pid})") == "t"
        _within(2.0, lambda: not watcher.listening.is_set())
        _set_properties(admin, {})
        took = _within(1.0, lambda: _properties(other) == {})
        print(f"seen by the other worker after {took * 1000:.0f} ms (polling)")
        _within(10.0, lambda: watcher.listening.is_set())  # it listens again
        _set_properties(admin, {"featureServiceXSSFilter": "sanitizeHtml"})
        _within(1.0, lambda: _properties(other) != {})
        admin.close()
    finally:
        other.stop()


def test_backups_move_between_sqlite_and_postgresql(tmp_path: Path, pg_site: LiveSite) -> None:
    """A SQLite site's backup restored onto a PostgreSQL site, and that one's backup restored
    onto a new SQLite site: the Administrator API answers the same at each step."""
    sqlite_site = make_site(tmp_path / "sqlite")
    fresh = make_site(tmp_path / "sqlite2")
    try:
        with _connect(sqlite_site) as source:
            source.services.publish(points(tmp_path / "roads.geojson", 5), "Roads", folder="Maps")
            source.services.publish(points(tmp_path / "parks.geojson", 3), "Parks")
            source.services.stop("Parks")
            source.roles.add("editors", "Editors", privilege="PUBLISH")
            source.users.add("ann", "Ann-password-1", fullname="Ann")
            source.users.assign_roles("ann", ["editors"])
            source.services.grant("Maps/Roads.FeatureServer", "editors")
            source.logs.edit_settings(max_log_file_age=12)
            _set_properties(source, {"featureServiceXSSFilter": "sanitizeHtml"})
            expected = _comparable(source)
            backup = Path(source.backup())

        def restore(into: LiveSite, file: Path, made_by: LiveSite) -> dict[str, Any]:
            # Into the same place of the other site (a restore reads its own directories).
            target = into.data_dir / file.relative_to(made_by.data_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(file, target)
            with _connect(into) as admin:
                admin.restore(str(target))
                assert _count(admin, "Maps/Roads") == 5
                return _comparable(admin)

        assert restore(pg_site, backup, sqlite_site) == expected
        with _connect(pg_site) as admin:
            second = Path(admin.backup())
        assert restore(fresh, second, pg_site) == expected
    finally:
        sqlite_site.stop()
        fresh.stop()


def _comparable(site: Site) -> dict[str, Any]:
    """The state a restore brings back, with the directories and data items of the site."""
    state = _state(site)
    state["directories"] = sorted(
        d["name"] for d in site.session.get_json("admin/system/directories")["directories"]
    )
    state["items"] = site.session.get_json("admin/data/items")
    return state
