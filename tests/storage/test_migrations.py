"""Versioned schema migrations: each migration, adoption of unversioned stores, refusals, and
a site in the oldest layout still supported (fixtures/) upgraded and served."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from geosite.storage._db import Connections
from geosite.storage.base import StoreTooNew
from geosite.storage.migrations import Migration, Schema, stored_version, upgrade
from geosite.storage.sqlite import SqliteSiteStore
from geosite.storage.sqlite_logs import SqliteLogStore
from geosite.storage.sqlite_schema import LOG_SCHEMA, SITE_SCHEMA
from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite, make_site
from tests.e2e.test_serve import Server

FIXTURES = Path(__file__).parent / "fixtures"
V1_SITE_TABLES = {
    "settings",
    "users",
    "roles",
    "role_members",
    "token_keys",
    "machines",
    "directories",
    "login_failures",
    "folders",
    "services",
    "permissions",
    "data_items",
    "uploads",
}
SERVICE_DATA = "directories/arcgissystem/services/96d3c9dd9e0a94fbeef9c8cd06d8fda7.gpkg"
UPLOAD = "directories/arcgissystem/uploads/i2241ced332c6995957f774b324fedda9/places.geojson"


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def _load(path: Path, script: str, data_dir: Path | None = None) -> None:
    sql = (FIXTURES / script).read_text()
    with closing(_connect(path)) as conn:
        conn.executescript(sql.replace("@DATA_DIR@", str(data_dir or path.parent)))


def _layout(path: Path) -> dict[str, Any]:
    """Every table's columns (name, type, not null, default, key) and every index's columns."""
    with closing(_connect(path)) as conn:
        names = conn.execute(
            "SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
        ).fetchall()
        layout: dict[str, Any] = {}
        for kind, name, table in names:
            if kind == "table":
                layout[name] = conn.execute(f"PRAGMA table_info({name})").fetchall()
            elif kind == "index":
                columns = [row[2] for row in conn.execute(f"PRAGMA index_info({name})")]
                layout[f"index {name}"] = (table, columns)
        return layout


def _migrate(path: Path, schema: Schema[sqlite3.Connection], *versions: int) -> None:
    """Apply the given migrations, as ``upgrade`` does: one transaction each."""
    with closing(_connect(path)) as conn:
        for version in versions:
            conn.execute("BEGIN IMMEDIATE")
            schema.migrations[version - 1].apply(conn)
            conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")


def _version(path: Path) -> int:
    with closing(_connect(path)) as conn:
        return stored_version(conn)


# -- each migration --------------------------------------------------------------------------
def test_site_migration_1_is_the_oldest_supported_layout(tmp_path: Path) -> None:
    """Migration 1 on an empty file makes exactly the layout of the site made at 66520c0."""
    _migrate(tmp_path / "new.db", SITE_SCHEMA, 1)
    _load(tmp_path / "old.db", "site-v1.sql")
    assert _layout(tmp_path / "new.db") == _layout(tmp_path / "old.db")
    assert {k for k in _layout(tmp_path / "new.db") if " " not in k} == V1_SITE_TABLES
    assert _version(tmp_path / "new.db") == 1


def test_site_migration_2_records_owners(tmp_path: Path) -> None:
    path = tmp_path / "site.db"
    _load(path, "site-v1.sql")
    before = _layout(path)
    assert "owner" not in {c[1] for c in before["services"]}
    _migrate(path, SITE_SCHEMA, 2)
    after = _layout(path)
    for table in ("services", "uploads"):
        assert after[table] == [*before[table], (len(before[table]), "owner", "TEXT", 1, "''", 0)]
    assert {k: v for k, v in after.items() if k not in ("services", "uploads")} == {
        k: v for k, v in before.items() if k not in ("services", "uploads")
    }
    with closing(_connect(path)) as conn:
        assert conn.execute("SELECT name, owner FROM services").fetchall() == [("Places", "")]
        assert conn.execute("SELECT item_name, owner FROM uploads").fetchall() == [
            ("places.geojson", "")
        ]


def test_site_migration_3_gives_each_user_an_identifier(tmp_path: Path) -> None:
    """Every user there gets its own fresh random identifier, which tokens name from now on."""
    path = tmp_path / "site.db"
    _load(path, "site-v1.sql")
    _migrate(path, SITE_SCHEMA, 2)
    before = _layout(path)
    _migrate(path, SITE_SCHEMA, 3)
    after = _layout(path)
    column = (len(before["users"]), "user_id", "TEXT", 1, "''", 0)
    assert after["users"] == [*before["users"], column]
    assert after["index users_user_id"] == ("users", ["user_id"])
    with closing(_connect(path)) as conn:
        rows = dict(conn.execute("SELECT username, user_id FROM users").fetchall())
    assert set(rows) == {"siteadmin", "viewer1"}
    assert all(re.fullmatch("[0-9a-f]{32}", v) for v in rows.values())
    assert len(set(rows.values())) == 2
    other = tmp_path / "other.db"  # the same store upgraded elsewhere: other identifiers
    _load(other, "site-v1.sql")
    _migrate(other, SITE_SCHEMA, 2, 3)
    with closing(_connect(other)) as conn:
        again = dict(conn.execute("SELECT username, user_id FROM users").fetchall())
    assert not set(again.values()) & set(rows.values())


def test_log_migration_1_is_the_oldest_supported_layout(tmp_path: Path) -> None:
    _migrate(tmp_path / "new.db", LOG_SCHEMA, 1)
    _load(tmp_path / "old.db", "logs-v1.sql")
    assert _layout(tmp_path / "new.db") == _layout(tmp_path / "old.db")
    assert "service_usage_hour" not in _layout(tmp_path / "new.db")


def test_log_migration_2_adds_hours_filled_from_minutes(tmp_path: Path) -> None:
    path = tmp_path / "logs.db"
    _migrate(path, LOG_SCHEMA, 1)
    hour = 3_600_000
    minutes = [
        ("M", "a", 5 * hour + 60_000, 2, 1, 10.0, 7.0),
        ("M", "a", 5 * hour + 120_000, 3, 0, 6.0, 4.0),
        ("M", "a", 6 * hour, 1, 0, 1.0, 1.0),
        ("M", "b", 5 * hour, 4, 0, 8.0, 3.0),
    ]
    with closing(_connect(path)) as conn:
        conn.executemany("INSERT INTO service_usage VALUES (?, ?, ?, ?, ?, ?, ?)", minutes)
    _migrate(path, LOG_SCHEMA, 2)
    layout = _layout(path)
    assert layout["service_usage_hour"] == layout["service_usage"]
    assert layout["index service_usage_hour_time"] == ("service_usage_hour", ["minute_ms"])
    with closing(_connect(path)) as conn:
        hours = conn.execute("SELECT * FROM service_usage_hour ORDER BY 2, 3").fetchall()
    assert hours == [
        ("M", "a", 5 * hour, 5, 1, 16.0, 7.0),
        ("M", "a", 6 * hour, 1, 0, 1.0, 1.0),
        ("M", "b", 5 * hour, 4, 0, 8.0, 3.0),
    ]


def test_upgraded_layouts_equal_new_ones(tmp_path: Path) -> None:
    """A v1 store brought to the latest version has the layout of a store made today."""
    for schema, script, store in (
        (SITE_SCHEMA, "site-v1.sql", SqliteSiteStore),
        (LOG_SCHEMA, "logs-v1.sql", SqliteLogStore),
    ):
        old, new = tmp_path / f"old-{script}.db", tmp_path / f"new-{script}.db"
        _load(old, script)
        for path in (old, new):
            opened = store(path)
            opened.initialize_schema()
            assert opened.schema_version() == opened.latest_schema_version() == schema.latest
            opened.close()
        assert _layout(old) == _layout(new)


# -- the runner -------------------------------------------------------------------------------
def test_reopening_is_a_no_op(tmp_path: Path) -> None:
    db = Connections(tmp_path / "site.db", "FULL")
    assert upgrade(db, SITE_SCHEMA) == [1, 2, 3]
    changes = db.get().total_changes
    assert upgrade(db, SITE_SCHEMA) == []
    assert db.get().total_changes == changes
    db.close()


def test_v1_store_gets_the_missing_migrations_only(tmp_path: Path) -> None:
    path = tmp_path / "site.db"
    _migrate(path, SITE_SCHEMA, 1)
    db = Connections(path, "FULL")
    assert upgrade(db, SITE_SCHEMA) == [2, 3]
    db.close()


@pytest.mark.parametrize(
    ("schema", "script"), [(SITE_SCHEMA, "site-v1.sql"), (LOG_SCHEMA, "logs-v1.sql")]
)
def test_unversioned_stores_are_adopted(
    tmp_path: Path, schema: Schema[sqlite3.Connection], script: str
) -> None:
    """Stores made before versions: a v1 layout gets every migration, a latest one none."""
    old = tmp_path / "old.db"
    _load(old, script)
    assert _version(old) == 0
    db = Connections(old, "FULL")
    assert upgrade(db, schema) == list(range(1, schema.latest + 1))
    db.close()
    current = tmp_path / "current.db"  # the layout of today, written without a version
    _migrate(current, schema, *range(1, schema.latest + 1))
    with closing(_connect(current)) as conn:
        conn.execute("PRAGMA user_version = 0")
    db = Connections(current, "FULL")
    assert upgrade(db, schema) == []
    assert stored_version(db.get()) == schema.latest
    db.close()


def test_a_store_left_between_the_two_owner_columns_is_completed(tmp_path: Path) -> None:
    """geosite before versions added services.owner and uploads.owner one at a time."""
    path = tmp_path / "site.db"
    _migrate(path, SITE_SCHEMA, 1)
    with closing(_connect(path)) as conn:
        conn.execute("ALTER TABLE services ADD COLUMN owner TEXT NOT NULL DEFAULT ''")
        conn.execute("PRAGMA user_version = 0")
    store = SqliteSiteStore(path)
    store.initialize_schema()
    assert store.list_uploads() == []  # uploads.owner exists: no error on the next read
    store.close()
    assert set(_layout(path)) == set(_layout(_fresh(tmp_path / "fresh.db")))


def test_partial_layouts_from_before_v1_are_completed(tmp_path: Path) -> None:
    """The first sites had the account tables only (no folders or services yet)."""
    path = tmp_path / "site.db"
    with closing(_connect(path)) as conn:
        conn.execute("CREATE TABLE settings (key TEXT PRIMARY KEY, value BLOB NOT NULL)")
        conn.execute("INSERT INTO settings VALUES ('k', CAST('1' AS BLOB))")
    store = SqliteSiteStore(path)
    store.initialize_schema()
    assert store.get_setting("k") == 1
    assert store.list_services() == []
    store.close()
    assert set(_layout(path)) == set(_layout(_fresh(tmp_path / "fresh.db")))


def _fresh(path: Path) -> Path:
    store = SqliteSiteStore(path)
    store.initialize_schema()
    store.close()
    return path


@pytest.mark.parametrize("store", [SqliteSiteStore, SqliteLogStore])
def test_a_newer_store_is_refused(tmp_path: Path, store: type[SqliteSiteStore]) -> None:
    path = tmp_path / "store.db"
    opened = store(path)
    opened.initialize_schema()
    latest = opened.latest_schema_version()
    opened.close()
    with closing(_connect(path)) as conn:
        conn.execute(f"PRAGMA user_version = {latest + 1}")
    opened = store(path)
    with pytest.raises(StoreTooNew) as refused:
        opened.initialize_schema()
    message = str(refused.value)
    assert str(path) in message
    assert f"schema version {latest + 1}" in message
    assert f"knows versions up to {latest}" in message
    assert "docs/upgrading.md" in refused.value.details[0]
    opened.close()
    assert _version(path) == latest + 1


def test_processes_starting_together_apply_each_migration_once(tmp_path: Path) -> None:
    path = tmp_path / "site.db"
    applied: list[int] = []
    dbs = [Connections(path, "FULL") for _ in range(4)]
    threads = [
        threading.Thread(target=lambda d=db: applied.extend(upgrade(d, SITE_SCHEMA))) for db in dbs
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(applied) == [1, 2, 3]
    assert _version(path) == SITE_SCHEMA.latest
    for db in dbs:
        db.close()


def test_migrations_are_numbered_without_gaps() -> None:
    def step(conn: sqlite3.Connection) -> None:
        del conn

    def adopt(conn: sqlite3.Connection) -> int:
        del conn
        return 0

    with pytest.raises(ValueError, match="numbered"):
        Schema("test", (Migration(1, "a", step), Migration(3, "b", step)), adopt)


# -- a site in the oldest layout, upgraded and served -----------------------------------------
def _write_v1_site(data: Path) -> Path:
    """The site of fixtures/ written out under a new data directory ``data``."""
    store = data / "config-store"
    store.mkdir(parents=True)
    for name in ("arcgiscache", "arcgisjobs", "arcgisoutput", "arcgissystem"):
        (data / "directories" / name).mkdir(parents=True)
    (data / SERVICE_DATA).parent.mkdir(parents=True)
    shutil.copyfile(FIXTURES / "places-v1.gpkg", data / SERVICE_DATA)
    (data / UPLOAD).parent.mkdir(parents=True)
    shutil.copyfile(FIXTURES / "places-v1.geojson", data / UPLOAD)
    _load(store / "site.db", "site-v1.sql", data)
    _load(store / "logs.db", "logs-v1.sql", data)
    pointer = {"machineName": "TESTMACHINE.EXAMPLE", "configStore": f"sqlite:///{store}"}
    (data / "machine.json").write_bytes(orjson.dumps(pointer))
    return data


V1_TOKEN_KEY = "f045a0b07fd1c9323897333296c41858404a6a2668746655a9d17e003915a89d"


def _old_token(username: str, secret: str) -> str:
    """A token as geosite before user identifiers signed it (key 1, bound to 127.0.0.1)."""
    expires = int(time.time() * 1000) + 3_600_000
    body = {"u": username, "e": expires, "c": "ip", "b": "127.0.0.1", "v": 1, "k": 1, "n": "x"}
    payload = base64.urlsafe_b64encode(orjson.dumps(body)).rstrip(b"=").decode()
    mac = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    return payload + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


@pytest.fixture
def v1_site(tmp_path: Path) -> Iterator[LiveSite]:
    """The v1 site, served in this process on loopback ports (the app's own start-up)."""
    live = make_site(_write_v1_site(tmp_path / "site"), create=False)
    yield live
    live.stop()


def test_a_v1_site_upgrades_and_serves(v1_site: LiveSite) -> None:
    store = v1_site.data_dir / "config-store"
    assert _version(store / "site.db") == SITE_SCHEMA.latest
    assert _version(store / "logs.db") == LOG_SCHEMA.latest

    admin = v1_site.token(ADMIN_USER, ADMIN_PASSWORD)
    viewer = httpx.post(
        v1_site.http + "/arcgis/tokens/generateToken",
        data={"username": "viewer1", "password": "Viewer-Passw0rd!", "f": "json"},
    ).json()["token"]
    services = httpx.get(
        v1_site.http + "/arcgis/rest/services/Old", params={"f": "json", "token": viewer}
    ).json()
    assert services["services"] == [{"name": "Old/Places", "type": "FeatureServer"}]
    layer = v1_site.http + "/arcgis/rest/services/Old/Places/FeatureServer/0/query"
    query = {"f": "json", "where": "population > 80", "outFields": "name", "orderByFields": "name"}
    answer = httpx.get(layer, params={**query, "token": viewer}).json()
    assert [f["attributes"]["name"] for f in answer["features"]] == ["Alpha", "Beta"]
    assert answer["features"][0]["geometry"] == {"x": 2.35, "y": 48.85}
    anonymous = httpx.get(layer, params=query).json()  # the old permissions still hold
    assert anonymous["error"]["code"] in (401, 403, 499)
    # A token of the old geosite (it named no user identifier) is invalid: users sign in again.
    old = _old_token("viewer1", V1_TOKEN_KEY)
    refused = httpx.get(layer, params={**query, "token": old}).json()
    assert refused["error"]["code"] == 498

    # The old records are there, and new ones go next to them.
    v1_site.flush_logs()
    logs = httpx.post(
        v1_site.admin + "/logs/query",
        data={"f": "json", "token": admin, "level": "FINE", "pageSize": 1000},
    ).json()["logMessages"]
    assert "Operation '/security/roles/add' completed." in {m["message"] for m in logs}
    assert len([m for m in logs if m["code"] == 7001]) == 2  # started then, and now
    # What the upgrade added works: a new service records its owner.
    item = httpx.post(
        v1_site.admin + "/uploads/upload",
        data={"f": "json", "token": admin},
        files={"itemFile": ("more.geojson", (FIXTURES / "places-v1.geojson").read_bytes())},
    ).json()["item"]
    assert item["itemID"]
    assert v1_site.store.get_upload(item["itemID"]).owner == ADMIN_USER


def test_geosite_serve_upgrades_a_v1_site_once(tmp_path: Path) -> None:
    data = _write_v1_site(tmp_path / "site")
    server = Server(data)
    try:
        layer = server.url + "/arcgis/rest/services/Old/Places/FeatureServer/0/query"
        query = {"f": "json", "where": "1=1", "returnCountOnly": "true"}
        assert "error" in httpx.get(layer, params=query).json()  # the old permissions hold
        token = server.token(ADMIN_PASSWORD)
        assert httpx.get(layer, params={**query, "token": token}).json() == {"count": 3}
    finally:
        output = server.stop()
    assert "Upgraded the site store from a layout without a version to schema version 3." in (
        output
    )
    assert "Upgraded the log store from a layout without a version to schema version 2." in (output)
    assert _version(data / "config-store" / "site.db") == SITE_SCHEMA.latest


def test_geosite_serve_refuses_a_newer_store(tmp_path: Path) -> None:
    data = _write_v1_site(tmp_path / "site")
    with closing(_connect(data / "config-store" / "site.db")) as conn:
        conn.execute(f"PRAGMA user_version = {SITE_SCHEMA.latest + 1}")
    before = _layout(data / "config-store" / "site.db")
    ran = subprocess.run(
        [
            sys.executable,
            "-m",
            "geosite",
            "serve",
            "--data-dir",
            str(data),
            "--port",
            "0",
            "--https-port",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 1
    assert "listening" not in ran.stdout
    assert (
        f"Error: The site store {data / 'config-store' / 'site.db'} has schema version "
        f"{SITE_SCHEMA.latest + 1}, but this geosite knows versions up to {SITE_SCHEMA.latest}"
    ) in ran.stderr
    assert "docs/upgrading.md" in ran.stderr
    assert _layout(data / "config-store" / "site.db") == before  # nothing migrated
    assert _version(data / "config-store" / "site.db") == SITE_SCHEMA.latest + 1
