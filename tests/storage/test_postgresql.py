"""The store contract suites on PostgreSQL (the session's ``postgres`` server), as on SQLite.

One database for the module; each store gets a schema of its own, so every ``make_store`` is
new and empty.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from geosite.core.models import Privilege, User
from geosite.errors import Conflict, InvalidParameter
from geosite.storage import _pg_watch, display_url, load_stores
from geosite.storage.base import LogStore, SiteStore, StoreTooNew
from geosite.storage.postgresql import PostgresSiteStore
from geosite.storage.postgresql_logs import PostgresLogStore
from geosite.storage.testing import LogStoreContract, SiteStoreContract
from geosite.storage.testing_catalog import CatalogContract
from tests.pg import PgServer

_SCHEMAS = itertools.count(1)


@pytest.fixture(scope="module")
def pg_url(postgres: PgServer) -> str:
    return postgres.create_database("store_contract", postgis=False)


class _Stores:
    url: str
    opened: list[SiteStore | LogStore]

    @pytest.fixture(autouse=True)
    def _database(self, pg_url: str) -> Iterator[None]:
        self.url, self.opened = pg_url, []
        yield
        for store in self.opened:
            store.close()


class TestPostgresSiteStore(_Stores, SiteStoreContract, CatalogContract):
    def make_store(self) -> SiteStore:
        store = PostgresSiteStore(self.url, f"site_{next(_SCHEMAS)}")
        self.opened.append(store)
        store.initialize_schema()
        return store


class TestPostgresLogStore(_Stores, LogStoreContract):
    def make_log_store(self) -> LogStore:
        store = PostgresLogStore(self.url, f"logs_{next(_SCHEMAS)}")
        self.opened.append(store)
        store.initialize_schema()
        return store


def test_two_processes_race_on_one_database(pg_url: str) -> None:
    """Two store objects (two pools, as two workers) add the same names at once: each name is
    stored once, the loser gets Conflict, and membership changes serialise."""
    schema = f"site_{next(_SCHEMAS)}"
    one, two = PostgresSiteStore(pg_url, schema), PostgresSiteStore(pg_url, schema)
    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda s: s.initialize_schema(), [one, two, one, two]))
        outcomes: list[str] = []

        def add(n: int) -> None:
            store = (one, two)[n % 2]
            try:
                store.add_user(User(f"User{n // 2}" if n % 2 else f"user{n // 2}", "h"))
                outcomes.append("added")
            except Conflict:
                outcomes.append("conflict")

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(add, range(40)))
        assert sorted(outcomes) == ["added"] * 20 + ["conflict"] * 20
        one.add_role("Editors", "", Privilege.ACCESS)
        with ThreadPoolExecutor(8) as pool:
            list(
                pool.map(
                    lambda n: (one, two)[n % 2].add_role_members("editors", [f"USER{n % 20}"]),
                    range(40),
                )
            )
        assert len(two.role_members("Editors")) == 20
        assert {u.token_version for u in one.search_users("user", 100)[0]} == {2}
    finally:
        one.close()
        two.close()


def test_a_newer_store_is_refused(postgres: PgServer, pg_url: str) -> None:
    """A schema raised by a newer geosite is refused before anything is written."""
    schema = f"site_{next(_SCHEMAS)}"
    store = PostgresSiteStore(pg_url, schema)
    try:
        store.initialize_schema()
        postgres.psql(f"UPDATE {schema}.schema_version SET version = 99", "store_contract")
        with pytest.raises(StoreTooNew, match="schema version 99"):
            store.initialize_schema()
    finally:
        store.close()


def test_a_wrong_password_is_never_shown(postgres: PgServer) -> None:
    """A database that cannot be reached is a clear error naming it without its password."""
    url = f"postgresql://nobody:s3cret@127.0.0.1:{postgres.port}/missing"
    with pytest.raises(InvalidParameter) as raised:
        load_stores(url)
    text = " ".join(raised.value.messages + raised.value.details)
    assert "s3cret" not in text and "nobody:***@127.0.0.1" in text
    assert display_url("postgresql://u:p@[::1]:5/db") == "postgresql://u:***@[::1]:5/db"
    assert display_url("postgres://u:a@b@h:x/db") == "postgres://u:***@h:x/db"  # not a port
    assert display_url("postgresql://h/db?sslmode=require&password=p&x=1") == (
        "postgresql://h/db?sslmode=require&password=***&x=1"
    )
    with pytest.raises(InvalidParameter) as raised:
        load_stores(f"postgresql://nobody@127.0.0.1:{postgres.port}/missing?password=s3cret")
    assert "s3cret" not in str(raised.value.messages)


def test_a_change_is_announced_when_its_notice_arrives(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The watcher calls its subscribers when a NOTIFY arrives, not when its wait for notices
    ends (POLL_S, made 30 s here, so that the difference is no matter of timing: before, every
    change waited out the rest of the wait, up to 250 ms, and other machines served it late)."""
    monkeypatch.setattr(_pg_watch, "POLL_S", 30.0)
    store = PostgresSiteStore(pg_url, f"site_{next(_SCHEMAS)}")
    changed = threading.Event()
    try:
        store.initialize_schema()
        assert store.watch(changed.set)
        watcher = store._watcher
        assert watcher is not None and watcher.listening.wait(10)
        changed.wait(2)  # the first read of the change counter after listening announces
        changed.clear()
        store.put_setting("benchmarkChange", 1)
        assert changed.wait(10), "the change was not announced on its NOTIFY"
        watcher._stop.set()
        store.put_setting("benchmarkChange", 2)  # wakes the thread, which then ends
    finally:
        store.close()
