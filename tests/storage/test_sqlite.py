import sqlite3
from pathlib import Path

import pytest

from geosite.core.models import Service, UploadItem
from geosite.storage.base import LogStore, SiteStore
from geosite.storage.sqlite import SqliteSiteStore
from geosite.storage.sqlite_logs import SqliteLogStore
from geosite.storage.testing import LogStoreContract, SiteStoreContract
from geosite.storage.testing_catalog import CatalogContract


class TestSqliteSiteStore(SiteStoreContract, CatalogContract):
    @pytest.fixture(autouse=True)
    def _dir(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.count = 0

    def make_store(self) -> SiteStore:
        self.count += 1
        store = SqliteSiteStore(self.tmp / f"site{self.count}.db")
        store.initialize_schema()
        return store

    def test_wal_and_durable_commits(self) -> None:
        store = self.make_store()
        store.put_setting("x", 1)
        conn = store._db.get()  # type: ignore[attr-defined]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL

    def test_second_process_view(self) -> None:
        """Two store objects on one file see each other's writes (as two workers do)."""
        path = self.tmp / "shared.db"
        one, two = SqliteSiteStore(path), SqliteSiteStore(path)
        one.initialize_schema()
        two.initialize_schema()
        one.put_setting("k", "v")
        assert two.get_setting("k") == "v"

    def test_sites_made_before_owners_gain_the_column(self) -> None:
        """A store whose services and uploads tables predate ``owner`` opens and keeps its rows."""
        path = self.tmp / "old.db"
        with sqlite3.connect(path) as conn:
            conn.executescript(
                "CREATE TABLE services (folder TEXT NOT NULL COLLATE NOCASE, "
                "name TEXT NOT NULL COLLATE NOCASE, type TEXT NOT NULL COLLATE NOCASE, "
                "definition BLOB NOT NULL, configured_state TEXT NOT NULL DEFAULT 'STARTED', "
                "created_ms INTEGER NOT NULL, PRIMARY KEY (folder, name, type));"
                "INSERT INTO services VALUES ('', 'Old', 'FeatureServer', '{}', 'STARTED', 1);"
                "CREATE TABLE uploads (item_id TEXT PRIMARY KEY, item_name TEXT NOT NULL, "
                "path TEXT NOT NULL, size INTEGER NOT NULL, created_ms INTEGER NOT NULL, "
                "description TEXT NOT NULL DEFAULT '');"
                "INSERT INTO uploads VALUES ('i1', 'a.zip', '/x/a.zip', 1, 1, '');"
            )
        conn.close()
        store = SqliteSiteStore(path)
        store.initialize_schema()
        store.initialize_schema()  # twice: the second start is a no-op
        assert store.get_service("", "Old", "FeatureServer") == Service(
            "", "Old", "FeatureServer", {}, "STARTED", 1, ""
        )
        assert store.get_upload("i1") == UploadItem("i1", "a.zip", "/x/a.zip", 1, 1, "", "")
        store.add_service(Service("", "New", "FeatureServer", {}, "STARTED", 2, "pub"))
        assert store.get_service("", "New", "FeatureServer").owner == "pub"  # type: ignore[union-attr]


class TestSqliteLogStore(LogStoreContract):
    @pytest.fixture(autouse=True)
    def _dir(self, tmp_path: Path) -> None:
        self.tmp = tmp_path

    def make_log_store(self) -> LogStore:
        store = SqliteLogStore(self.tmp / "logs.db")
        store.initialize_schema()
        return store
