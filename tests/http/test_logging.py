"""Every request and admin operation leaves a structured record; never a secret."""

import json
import logging
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_PASSWORD, MACHINE, LiveSite
from tests.http.test_publishing import publish


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
        if r.code == 7100 and r.message == "GET /arcgis/admin/machines completed with code 200."
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


def test_a_failure_record_has_the_error_detail(fresh_site: LiveSite, tmp_path: Path) -> None:
    """A 400 is recorded with its reason, not only "Unable to complete operation."."""
    token = fresh_site.token()
    data = tmp_path / "points.geojson"
    point = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]},
             "properties": {"n": 1}}  # fmt: skip
    data.write_text(json.dumps({"type": "FeatureCollection", "features": [point]}))
    assert publish(fresh_site, token, data, "Points")["status"] == "success"
    query = fresh_site.http + "/arcgis/rest/services/Points/FeatureServer/0/query"
    answer = httpx.get(query, params={"f": "json", "where": "1=1", "outFields": "nope"}).json()
    assert answer["error"]["code"] == 400
    fresh_site.flush_logs()
    failed = [r for r in fresh_site.log_store.query(limit=1000) if r.code == 7101]
    assert [r.message for r in failed] == [
        "GET /arcgis/rest/services/Points/FeatureServer/0/query failed with code 400: "
        "Unable to complete operation. ('outFields' parameter is invalid; Unknown field 'nope'.)"
    ]
    assert failed[0].source == "Points.FeatureServer"


def test_every_stored_record_goes_to_the_logging_module(
    fresh_site: LiveSite, caplog: pytest.LogCaptureFixture
) -> None:
    """What the log store receives (at the site's level) reaches the ``geosite`` loggers."""
    caplog.set_level(logging.DEBUG, logger="geosite")
    token = fresh_site.token()
    httpx.get(fresh_site.admin + "/machines", params={"f": "json", "token": token})
    httpx.get(fresh_site.admin + "/nothing-here", params={"f": "json", "token": token})
    fresh_site.flush_logs()
    lines = {(r.name, r.levelname, r.getMessage()) for r in caplog.records}
    done = "GET /arcgis/admin/machines completed with code 200."
    assert ("geosite.request", "FINE", done) in lines
    assert any(
        name == "geosite.request" and level == "WARNING" and "nothing-here failed" in text
        for name, level, text in lines
    )
    assert any(name == "geosite.security" and "Token issued" in text for name, _, text in lines)
    assert all(token not in text for _, _, text in lines)


def test_log_lines_are_one_line_and_json_is_json() -> None:
    from geosite.core.log_output import JsonFormatter, TextFormatter, mirror
    from geosite.core.models import LogRecord

    captured: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            captured.append(record)

    logger = logging.getLogger("geosite.request")
    keep, before = Keep(), logger.level
    logger.addHandler(keep)
    logger.setLevel(logging.DEBUG)
    try:
        mirror([LogRecord(1_700_000_000_123, "WARNING", 7101, "Rest", "M", "bad\nINJECTED line",
                          user="ann", elapsed_ms=1.5, request_id="abc")])  # fmt: skip
    finally:
        logger.removeHandler(keep)
        logger.setLevel(before)
    (record,) = captured
    text = TextFormatter().format(record)
    assert "\n" not in text
    assert text == (
        "2023-11-14T22:13:20.123Z WARNING geosite.request [7101 Rest user=ann elapsed=1.5ms "
        "id=abc] bad\\nINJECTED line"
    )
    body = json.loads(JsonFormatter().format(record))
    assert body == {"time": "2023-11-14T22:13:20.123Z", "level": "WARNING",
                    "logger": "geosite.request", "code": 7101, "source": "Rest", "machine": "M",
                    "user": "ann", "requestId": "abc", "elapsedMs": 1.5,
                    "message": "bad\nINJECTED line"}  # fmt: skip


def test_audit_records_are_written_even_at_off(tmp_path: Path) -> None:
    from geosite.core.clock import AdjustableClock
    from geosite.core.logs import LogCode, LogWriter
    from geosite.storage.sqlite_logs import SqliteLogStore

    store = SqliteLogStore(tmp_path / "logs.db")
    store.initialize_schema()
    writer = LogWriter(store, AdjustableClock(), "M", lambda: "OFF")
    writer.log("SEVERE", LogCode.INTERNAL_ERROR, "Admin", "dropped")
    writer.log("INFO", LogCode.AUDIT, "Admin", "ann: stop services/A.MapServer", user="ann")
    writer.flush()
    writer.close()
    assert [(r.code, r.user) for r in store.query()] == [(7201, "ann")]
