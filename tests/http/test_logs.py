"""``/admin/logs``: query with every filter and the paging contract, settings, clean, counts."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from geosite.core.logs import LEVELS, level_rank
from geosite.core.models import LogRecord
from tests.conftest import LiveSite, make_site

MACHINES = ("SRV1.EXAMPLE", "SRV2.EXAMPLE", "SRV3.EXAMPLE")
SOURCES = ("Maps/Cities.MapServer", "Roads.FeatureServer", "Rest", "Admin", "Server")
USERS = ("", "ann", "bob")
BASE_MS = 1_700_000_000_000


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveSite, list[LogRecord]]]:
    """A site whose log store holds 600 generated records of 3 machines and 5 sources, many
    sharing a millisecond; the site itself logs nothing (level SEVERE, no errors)."""
    site = make_site(tmp_path_factory.mktemp("logs") / "site")
    token = site.token()
    httpx.post(site.admin + "/logs/settings/edit", data={"f": "json", "token": token,
                                                          "logLevel": "OFF"})  # fmt: skip
    site.flush_logs()
    site.log_store.delete_logs()
    rng = random.Random(7)
    records = []
    for i in range(600):
        records.append(
            LogRecord(
                time_ms=BASE_MS + rng.randrange(0, 200) * 1000,  # ~3 records per millisecond
                level=rng.choice(list(LEVELS)),
                code=rng.choice((7100, 7101, 7200, 7500)),
                source=rng.choice(SOURCES),
                machine=rng.choice(MACHINES),
                message=f"record {i}",
                process=rng.choice((100, 200)),
                thread=1,
                user=rng.choice(USERS),
                elapsed_ms=rng.random() * 100,
                request_id=f"r{i % 50}",
            )
        )
    site.log_store.write(records)
    try:
        yield site, records
    finally:
        site.stop()


def _query(site: LiveSite, **params: Any) -> dict[str, Any]:
    fields = {"f": "json", "token": site.token(), **params}
    return httpx.post(site.admin + "/logs/query", data=fields).json()  # type: ignore[no-any-return]


def _pages(site: LiveSite, page_size: int, **params: Any) -> list[dict[str, Any]]:
    """Every page, following hasMore/endTime as the ArcGIS API for Python does."""
    messages: list[dict[str, Any]] = []
    start = BASE_MS + 10**7
    for _ in range(10_000):
        page = _query(site, startTime=start, pageSize=page_size, **params)
        assert "error" not in page and page.get("status") != "error", page
        messages += page["logMessages"]
        if not page["hasMore"]:
            return messages
        assert page["endTime"] < start
        start = page["endTime"]
    raise AssertionError("paging did not end")


def _expected(records: list[LogRecord], level: str = "WARNING", **keep: Any) -> list[str]:
    """The messages a query must return, newest first, computed here independently."""

    def wanted(r: LogRecord) -> bool:
        service = r.source.endswith("Server") and "." in r.source
        return (
            level_rank(r.level) >= level_rank(level)
            and keep.get("codes", lambda _: True)(r.code)
            and keep.get("machines", lambda _: True)(r.machine)
            and keep.get("users", lambda _: True)(r.user)
            and keep.get("processIds", lambda _: True)(r.process)
            and keep.get("requestIds", lambda _: True)(r.request_id)
            and (
                keep.get("services", lambda _: True)
                if service
                else keep.get("server", lambda _: True)
            )(r.source)
        )

    chosen = [(r.time_ms, i, r.message) for i, r in enumerate(records) if wanted(r)]
    return [m for _, _, m in sorted(chosen, reverse=True)]


FILTERS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({}, {}),
    ({"codes": [7500, 7101]}, {"codes": lambda c: c in (7500, 7101)}),
    ({"machines": ["srv2.example"]}, {"machines": lambda m: m == "SRV2.EXAMPLE"}),
    ({"users": ["ann"]}, {"users": lambda u: u == "ann"}),
    ({"processIds": [200]}, {"processIds": lambda p: p == 200}),
    ({"requestIds": ["r3", "r7"]}, {"requestIds": lambda r: r in ("r3", "r7")}),
    ({"services": ["Roads.FeatureServer"]}, {"services": lambda s: s == "Roads.FeatureServer"}),
    ({"server": ["Rest", "Admin"], "services": "*"}, {"server": lambda s: s in ("Rest", "Admin")}),
    (
        {"services": ["Maps/Cities.MapServer"], "server": [], "codes": [7100, 7200]},
        {
            "services": lambda s: s == "Maps/Cities.MapServer",
            "server": lambda _: False,
            "codes": lambda c: c in (7100, 7200),
        },
    ),
    ({"services": "*", "machines": "*", "server": "*"}, {}),
    # Empty codes, processIds and requestIds: all (a blank box of the filter form). The Esri
    # Developer Summit 2014 getLogs.py sends this one, its services list left empty: none.
    ({"codes": [], "processIds": [], "requestIds": []}, {}),
    (
        {"codes": [], "processIds": [], "server": "*", "services": [], "machines": "*"},
        {"services": lambda _: False},
    ),
]


@pytest.mark.parametrize(("flt", "keep"), FILTERS, ids=[json.dumps(f) for f, _ in FILTERS])
@pytest.mark.parametrize("page_size", [7, 10_000])
def test_filters_and_paging(
    logged: tuple[LiveSite, list[LogRecord]], flt: dict[str, Any], keep: dict[str, Any],
    page_size: int,
) -> None:  # fmt: skip
    """The union of the pages is the full result, newest first, each record once."""
    site, records = logged
    got = _pages(site, page_size, filter=json.dumps(flt), filterType="json", level="INFO")
    assert [m["message"] for m in got] == _expected(records, "INFO", **keep)
    times = [m["time"] for m in got]
    assert times == sorted(times, reverse=True)


@pytest.mark.parametrize("level", list(LEVELS))
def test_levels(logged: tuple[LiveSite, list[LogRecord]], level: str) -> None:
    site, records = logged
    got = _pages(site, 250, level=level)
    assert [m["message"] for m in got] == _expected(records, level)


def test_time_window_and_record_shape(logged: tuple[LiveSite, list[LogRecord]]) -> None:
    site, records = logged
    newest, oldest = BASE_MS + 150_000, BASE_MS + 50_000
    stamp = datetime.fromtimestamp(newest / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S,000")
    page = _query(site, startTime=stamp, endTime=oldest, level="DEBUG", pageSize=10_000)
    inside = [r for r in records if oldest <= r.time_ms <= newest]
    assert len(page["logMessages"]) == len(inside) and not page["hasMore"]
    assert page["startTime"] == newest
    first = page["logMessages"][0]
    assert set(first) >= {"type", "message", "time", "source", "machine", "user", "code",
                          "elapsed", "process", "thread", "methodName", "requestID"}  # fmt: skip
    assert float(first["elapsed"]) >= 0  # seconds, as a string, as the Esri sample reads it


def test_the_classic_single_quoted_filter(logged: tuple[LiveSite, list[LogRecord]]) -> None:
    site, records = logged
    page = _query(site, filter="{'services': '*', 'server': '*', 'codes': [7500]}",
                  level="DEBUG", pageSize=10_000, startTime=BASE_MS + 10**7)  # fmt: skip
    assert len(page["logMessages"]) == sum(1 for r in records if r.code == 7500)


@pytest.mark.parametrize(
    "params",
    [
        {"filter": "not json"},
        {"filter": "[1, 2]"},
        {"filter": '{"colour": ["red"]}'},
        {"filter": '{"codes": ["x"]}'},
        {"filter": '{"codes": {"a": 1}}'},
        {"level": "LOUD"},
        {"startTime": "yesterday"},
        {"endTime": "2024-13-45T99:00:00"},
        {"startTime": "1000", "endTime": "2000"},
        {"pageSize": "0"},
        {"pageSize": "10001"},
        {"pageSize": "many"},
    ],
)
def test_bad_queries(logged: tuple[LiveSite, list[LogRecord]], params: dict[str, str]) -> None:
    site, _ = logged
    answer = _query(site, **params)
    assert answer["status"] == "error" and answer["code"] == 400, answer


def test_settings_clean_and_counts(fresh_site: LiveSite) -> None:
    token = fresh_site.token()

    def call(path: str, **data: Any) -> dict[str, Any]:
        fields = {"f": "json", "token": token, **data}
        return httpx.post(fresh_site.admin + path, data=fields).json()  # type: ignore[no-any-return]

    settings = call("/logs/settings")["settings"]
    assert settings["logLevel"] == "FINE" and settings["logDir"].endswith("/")
    edited = call("/logs/settings/edit", logLevel="severe", maxLogFileAge="30")
    assert edited["status"] == "success"
    assert edited["settings"]["logLevel"] == "SEVERE" and edited["settings"]["maxLogFileAge"] == 30
    for bad in ({"logLevel": "LOUD"}, {"maxLogFileAge": "0"}, {"maxErrorReportsCount": "x"}):
        assert call("/logs/settings/edit", **bad)["code"] == 400
    assert call("/logs/settings")["settings"]["maxLogFileAge"] == 30
    now, machine = fresh_site.clock.now_ms(), "TESTMACHINE.EXAMPLE"
    fresh_site.log_store.write(
        [
            LogRecord(now, "SEVERE", 7500, "Rest", machine, "x"),
            LogRecord(now, "WARNING", 7101, "Rest", machine, "y"),
        ]
    )
    assert call("/logs/countErrorReports") == {"TESTMACHINE.EXAMPLE": 1}
    assert call("/logs/countErrorReports", machine="nobody") == {"nobody": 0}
    # At SEVERE, a request no longer writes its FINE record; FINE again writes it.
    call("/logs/clean")
    fresh_site.flush_logs()  # what is left: the audit record of the clean itself
    left = fresh_site.log_store.query(levels=list(LEVELS))
    assert [(r.code, r.message) for r in left] == [(7201, "siteadmin: clean logs")]
    httpx.get(fresh_site.http + "/arcgis/rest/services", params={"f": "json"})
    fresh_site.flush_logs()
    assert fresh_site.log_store.query(levels=["FINE"]) == []
    call("/logs/settings/edit", logLevel="FINE")
    httpx.get(fresh_site.http + "/arcgis/rest/services", params={"f": "json"})
    fresh_site.flush_logs()
    assert fresh_site.log_store.query(levels=["FINE"]) != []


def test_publishers_query_and_access_users_do_not(fresh_site: LiveSite) -> None:
    token = fresh_site.token()
    for path, data in (
        ("/security/roles/add", {"rolename": "pubs"}),
        ("/security/roles/assignPrivilege", {"rolename": "pubs", "privilege": "PUBLISH"}),
        ("/security/users/add", {"username": "p1", "password": "Publisher-1-Pass"}),
        ("/security/users/add", {"username": "v1", "password": "Viewer-1-Pass"}),
        ("/security/roles/addUsersToRole", {"rolename": "pubs", "users": "p1"}),
    ):
        httpx.post(fresh_site.admin + path, data={"f": "json", "token": token, **data})
    publisher = fresh_site.token("p1", "Publisher-1-Pass")
    answer = httpx.post(fresh_site.admin + "/logs/query", data={"f": "json", "token": publisher})
    assert "logMessages" in answer.json()
    viewer = httpx.post(
        fresh_site.http + "/arcgis/tokens/generateToken",
        data={"username": "v1", "password": "Viewer-1-Pass", "f": "json"},
    ).json()["token"]
    answer = httpx.post(fresh_site.admin + "/logs/query", data={"f": "json", "token": viewer})
    assert answer.json()["code"] == 403
    for path in ("/logs/clean", "/logs/settings/edit"):
        refused = httpx.post(fresh_site.admin + path, data={"f": "json", "token": publisher})
        assert refused.json()["code"] == 403


def test_the_log_page(logged: tuple[LiveSite, list[LogRecord]]) -> None:
    """The Directory's page: the filters as a form, the records as a table, older ones linked."""
    site, records = logged
    token = site.token()
    params = {"f": "html", "token": token, "level": "SEVERE", "pageSize": "5",
              "startTime": str(BASE_MS + 10**7), "filter": '{"codes": [7500]}'}  # fmt: skip
    page = httpx.get(site.admin + "/logs/query", params=params)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    body = page.text
    assert '<table class="records">' in body and 'name="filter"' in body
    severe = sorted(
        (r for r in records if r.level == "SEVERE" and r.code == 7500),
        key=lambda r: r.time_ms,
        reverse=True,
    )
    assert severe[0].message in body
    assert "Older messages" in body and "startTime=" in body
    bad = httpx.get(site.admin + "/logs/query", params={**params, "level": "LOUD"})
    assert bad.status_code == 200 and "must be one of" in bad.text


def test_the_log_dir_exists_and_edits_to_it_are_checked(
    fresh_site: LiveSite, tmp_path: Path
) -> None:
    token = fresh_site.token()

    def call(path: str, **data: Any) -> dict[str, Any]:
        fields = {"f": "json", "token": token, **data}
        return httpx.post(fresh_site.admin + path, data=fields).json()  # type: ignore[no-any-return]

    settings = call("/logs/settings")["settings"]
    log_dir = Path(settings["logDir"])
    assert settings["logDir"] == str((fresh_site.data_dir / "logs").resolve()) + "/"
    assert log_dir.is_dir() and log_dir.stat().st_mode & 0o777 == 0o700
    # As the ArcGIS API for Python edits: every key back, the directory with its slash.
    assert call("/logs/settings/edit", **settings)["status"] == "success"
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    for bad, why in (
        (str(tmp_path / "missing"), "must be a directory that exists"),
        (str(a_file), "must be a directory that exists"),
        ("relative/logs", "must be an absolute path"),
    ):
        answer = call("/logs/settings/edit", logDir=bad)
        assert answer["code"] == 400 and why in answer["messages"][0], answer
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        answer = call("/logs/settings/edit", logDir=str(locked))
        assert answer["code"] == 400 and "can write to" in answer["messages"][0], answer
    assert call("/logs/settings")["settings"]["logDir"] == settings["logDir"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    edited = call("/logs/settings/edit", logDir=str(elsewhere) + "/")
    assert edited["settings"]["logDir"] == str(elsewhere) + "/"
    assert call("/logs/settings")["settings"]["logDir"] == str(elsewhere) + "/"


def test_a_missing_log_dir_is_made_when_the_site_starts(tmp_path: Path) -> None:
    """A site made before the directory was (or restored from another machine) gets one."""
    site = make_site(tmp_path / "site")
    try:
        gone = tmp_path / "gone"
        stored = site.store.get_setting("logSettings")
        site.store.put_setting("logSettings", {**stored, "logDir": str(gone)})
    finally:
        site.stop()
    again = make_site(tmp_path / "site", create=False)
    try:
        token = again.token()
        answer = httpx.get(again.admin + "/logs/settings", params={"f": "json", "token": token})
        assert answer.json()["settings"]["logDir"] == str(gone) + "/"
        assert gone.is_dir() and gone.stat().st_mode & 0o777 == 0o700
    finally:
        again.stop()
