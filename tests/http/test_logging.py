"""Every request and admin operation leaves a structured record; never a secret."""

import httpx

from tests.conftest import ADMIN_PASSWORD, MACHINE, LiveSite


def test_request_records(fresh_site: LiveSite) -> None:
    token = fresh_site.token()
    httpx.get(fresh_site.admin + "/machines", params={"f": "json", "token": token})
    httpx.get(fresh_site.admin + "/nothing-here", params={"f": "json", "token": token})
    httpx.post(
        fresh_site.http + "/arcgis/tokens/",
        data={"username": "siteadmin", "password": "wrong-password", "f": "json"},
    )
    fresh_site.flush_logs()
    records = fresh_site.log_store.query(limit=1000)
    done = [
        r
        for r in records
        if r.code == 7100 and r.message == "GET /arcgis/admin/machines completed."
    ]
    assert len(done) == 1
    record = done[0]
    assert record.level == "FINE" and record.source == "Admin" and record.machine == MACHINE
    assert record.user == "siteadmin" and record.elapsed_ms is not None and record.request_id
    assert record.process > 0 and record.method == "GET"
    rejected = [r for r in records if r.code == 7101]
    assert {r.level for r in rejected} == {"WARNING"}
    assert any("/arcgis/admin/nothing-here failed with code 404" in r.message for r in rejected)
    assert any(r.code == 7300 and r.user == "siteadmin" for r in records)  # token issued
    assert any(r.code == 7200 and "generateToken" in r.message for r in records)
    assert any(r.code == 7301 and r.level == "WARNING" for r in records)  # failed login
    assert any(r.code == 7001 for r in records)  # server started


def test_no_secret_in_any_record(fresh_site: LiveSite) -> None:
    token = fresh_site.token()
    httpx.get(fresh_site.admin + "/machines", params={"f": "json", "token": token})
    httpx.get(fresh_site.admin + "/info?f=json&token=" + token)
    httpx.get(
        fresh_site.http + "/arcgis/tokens/generateToken",
        params={"username": "siteadmin", "password": ADMIN_PASSWORD, "f": "json"},
    )
    fresh_site.flush_logs()
    for record in fresh_site.log_store.query(limit=10_000):
        text = repr(record)
        assert token not in text and token[:40] not in text
        assert ADMIN_PASSWORD not in text


def test_level_filter_drops_lower_records(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from geosite.core.clock import AdjustableClock
    from geosite.core.logs import LogCode, LogWriter
    from geosite.storage.sqlite_logs import SqliteLogStore

    store = SqliteLogStore(tmp_path / "logs.db")
    store.initialize_schema()
    writer = LogWriter(store, AdjustableClock(), "M", lambda: "WARNING")
    writer.log("FINE", LogCode.REQUEST_COMPLETED, "Admin", "dropped")
    writer.log("SEVERE", LogCode.INTERNAL_ERROR, "Admin", "kept")
    writer.flush()
    writer.close()
    assert [r.message for r in store.query()] == ["kept"]
