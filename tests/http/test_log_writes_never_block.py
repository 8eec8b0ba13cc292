"""Writing log records never makes a request wait, even when the log store is locked.

Another process (here: a connection of the test) holds the log database's write lock while a
flood of requests, each writing a FINE record, goes through. The requests do not wait for the
lock: all of them are answered while it is still held. Once it is released, the writer catches
up and every record is there.
"""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor

import httpx

from geosite.core.logs import LogCode
from tests.conftest import LiveSite

REQUESTS = 200


def test_requests_do_not_wait_for_a_locked_log_store(fresh_site: LiveSite) -> None:
    site = fresh_site
    url = site.http + "/arcgis/rest/services"
    httpx.get(url, params={"f": "json"})  # the site is open and its writer running
    site.flush_logs()
    before = len(site.log_store.query(levels=["FINE"], limit=100_000))
    path = site.log_store._db.path
    blocker = sqlite3.connect(path, isolation_level=None, timeout=1)
    blocker.execute("BEGIN IMMEDIATE")  # the write lock: the log writer cannot write now
    try:
        with httpx.Client() as client, ThreadPoolExecutor(8) as pool:
            answers = list(
                pool.map(lambda _: client.get(url, params={"f": "json"}), range(REQUESTS))
            )
        # Every request was answered while the lock was held.
        assert blocker.in_transaction
        assert all(a.status_code == 200 and "services" in a.json() for a in answers)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    site.flush_logs()
    records = site.log_store.query(levels=["FINE"], limit=100_000)
    completed = [r for r in records if r.code == LogCode.REQUEST_COMPLETED]
    assert len(records) - before >= REQUESTS
    assert len(completed) >= REQUESTS
