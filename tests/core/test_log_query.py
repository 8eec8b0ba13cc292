"""Log query paging at its edges, time parsing, and the removal of old records."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from geosite.core import log_query, log_settings
from geosite.core.models import LogFilter, LogRecord
from geosite.errors import InvalidParameter
from geosite.storage.sqlite import SqliteSiteStore
from geosite.storage.sqlite_logs import SqliteLogStore

DAY_MS = 24 * 3600 * 1000


def _store(tmp_path: Path, times: Sequence[int]) -> SqliteLogStore:
    store = SqliteLogStore(tmp_path / "logs.db")
    store.initialize_schema()
    store.write([LogRecord(t, "SEVERE", 7500, "Rest", "M", f"m{i}") for i, t in enumerate(times)])
    return store


def _all_pages(store: SqliteLogStore, size: int) -> list[list[str]]:
    def fetch(
        newest: int | None, oldest: int | None, levels: Sequence[str], limit: int, where: LogFilter
    ) -> list[LogRecord]:
        return store.query(
            newest_ms=newest, oldest_ms=oldest, levels=levels, limit=limit, where=where
        )

    pages, newest = [], 10**6
    while True:
        page = log_query.run(
            fetch, newest_ms=newest, oldest_ms=None, levels=["SEVERE"], where=LogFilter(), size=size
        )
        pages.append([r.message for r in page.records])
        if not page.has_more:
            return pages
        newest = page.end_ms


def test_a_millisecond_is_never_split(tmp_path: Path) -> None:
    # Five records in millisecond 20, more than a page of 2: they come together.
    store = _store(tmp_path, [10, 20, 20, 20, 20, 20, 30, 40])
    pages = _all_pages(store, 2)
    assert pages == [["m7", "m6"], ["m5", "m4", "m3", "m2", "m1"], ["m0"]]


def test_a_page_ends_between_two_milliseconds(tmp_path: Path) -> None:
    store = _store(tmp_path, [10, 20, 20, 30])
    assert _all_pages(store, 2) == [["m3"], ["m2", "m1"], ["m0"]]
    assert _all_pages(store, 4) == [["m3", "m2", "m1", "m0"]]


def test_times() -> None:
    assert log_query.parse_time("1700000000123", "startTime") == 1_700_000_000_123
    assert log_query.parse_time("2011-08-01T15:17:20,123", "startTime") == 1_312_211_840_123
    assert log_query.parse_time("2011-08-01 15:17:20", "startTime") == 1_312_211_840_000
    assert log_query.parse_time(" ", "startTime") is None
    for bad in ("soon", "2011-02-30T00:00:00", "1e9", "12345678901234567"):
        with pytest.raises(InvalidParameter):
            log_query.parse_time(bad, "startTime")


def test_old_records_are_removed(tmp_path: Path) -> None:
    site = SqliteSiteStore(tmp_path / "site.db")
    site.initialize_schema()
    now = 100 * DAY_MS
    logs = _store(tmp_path, [now - 40 * DAY_MS, now - 20 * DAY_MS, now])
    site.put_setting("logSettings", {"maxLogFileAge": 30})
    assert log_settings.prune(site, logs, now) == 1
    assert [r.message for r in logs.query()] == ["m2", "m1"]
    log_settings.edit(site, {"maxLogFileAge": "10"})
    assert log_settings.prune(site, logs, now) == 1
    assert [r.message for r in logs.query()] == ["m2"]
