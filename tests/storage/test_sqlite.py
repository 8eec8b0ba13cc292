from pathlib import Path

import pytest

from geosite.storage.base import LogStore, SiteStore
from geosite.storage.sqlite import SqliteSiteStore
from geosite.storage.sqlite_logs import SqliteLogStore
from geosite.storage.testing import CatalogContract, LogStoreContract, SiteStoreContract


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


class TestSqliteLogStore(LogStoreContract):
    @pytest.fixture(autouse=True)
    def _dir(self, tmp_path: Path) -> None:
        self.tmp = tmp_path

    def make_log_store(self) -> LogStore:
        store = SqliteLogStore(self.tmp / "logs.db")
        store.initialize_schema()
        return store
