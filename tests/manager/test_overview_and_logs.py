"""The Manager's Overview and Logs pages, in Chromium, on records made by real requests.

The site gets two services (one stopped), requests to one of them (the usage data of the
chart), WARNING records (requests for a service that does not exist: code 7101; failed
sign-ins: 7301) and a SEVERE one (a sign-in refused to a locked account: 7302), all through
the public API, as a script or a careless client would make them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveSite
from tests.http.test_publishing import publish
from tests.manager.conftest import Manager

PUBLISHER, PUBLISHER_PASSWORD = "overview-pub", "Publisher-Pass-21"
INTRUDER = "intruder-21"
#: More WARNING records than a page of 25 and than the table shows without scrolling.
WARNINGS = 60
#: Counts the Manager's calls of logs/query (the page's own fetch, wrapped before it loads).
COUNT_LOG_QUERIES = """
window.__logQueries = 0;
const original = window.fetch;
window.fetch = (...args) => {
  if (String(args[0]).includes('/admin/logs/query')) window.__logQueries += 1;
  return original(...args);
};
"""


def _post(site: LiveSite, path: str, token: str, **data: Any) -> dict[str, Any]:
    answer = httpx.post(site.admin + path, data={"f": "json", "token": token, **data}, timeout=60)
    return answer.json()  # type: ignore[no-any-return]


def _points(tmp: Path, name: str) -> Path:
    path = tmp / f"{name}.geojson"
    point = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]},
             "properties": {"n": 1}}  # fmt: skip
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [point]}))
    return path


def _missing_service(site: LiveSite, name: str) -> None:
    """A request for a service that does not exist: a WARNING (7101) naming its path."""
    answer = httpx.get(f"{site.http}/arcgis/rest/services/{name}/FeatureServer?f=json")
    assert answer.status_code == 404 or "error" in answer.json()


def _records(site: LiveSite, token: str, level: str, **filter: Any) -> list[dict[str, Any]]:
    site.flush_logs()
    page = _post(site, "/logs/query", token, level=level, pageSize="10000",
                 filter=json.dumps(filter))  # fmt: skip
    return page["logMessages"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def populated(site: LiveSite, tmp_path_factory: pytest.TempPathFactory) -> LiveSite:
    admin = site.token()
    tmp = tmp_path_factory.mktemp("data")
    assert publish(site, admin, _points(tmp, "a"), "Points")["status"] == "success"
    assert _post(site, "/services/createFolder", admin, folderName="Maps")["status"] == "success"
    assert publish(site, admin, _points(tmp, "b"), "Parked", "Maps")["status"] == "success"
    assert _post(site, "/services/Maps/Parked.FeatureServer/stop", admin)["status"] == "success"
    for path, data in (
        ("/security/roles/add", {"rolename": "overview-publishers"}),
        ("/security/roles/assignPrivilege",
         {"rolename": "overview-publishers", "privilege": "PUBLISH"}),
        ("/security/users/add", {"username": PUBLISHER, "password": PUBLISHER_PASSWORD}),
        ("/security/roles/addUsersToRole", {"rolename": "overview-publishers", "users": PUBLISHER}),
    ):  # fmt: skip
        assert _post(site, path, admin, **data)["status"] == "success", path
    for _ in range(5):  # the usage data of the chart
        query = httpx.get(
            f"{site.http}/arcgis/rest/services/Points/FeatureServer/0/query",
            params={"where": "1=1", "f": "json"},
        )
        assert query.status_code == 200
    for number in range(WARNINGS):
        _missing_service(site, f"Missing{number}")
    for _ in range(6):  # five failures lock the name; the sixth attempt is refused: SEVERE
        httpx.post(
            site.admin + "/generateToken",
            data={"username": INTRUDER, "password": "wrong", "client": "requestip", "f": "json"},
        )
    severe = _records(site, admin, "SEVERE")
    assert any(r["code"] == 7302 for r in severe), severe
    assert len(_records(site, admin, "WARNING", codes=[7101])) >= WARNINGS
    return site


def _count_started(site: LiveSite) -> int:
    """The started services, as the Administrator API lists them (Utilities has its own)."""
    token = site.token()
    root = _post(site, "/services", token, detail="true")
    services = list(root["services"])
    for folder in root["folders"]:
        services += _post(site, f"/services/{folder}", token, detail="true")["services"]
    return sum(1 for s in services if s["configuredState"] == "STARTED")


def _levels(manager: Manager) -> list[str]:
    return manager.page.locator("table.logs tbody td.level").all_inner_texts()


def test_overview_shows_machines_services_messages_and_requests(
    manager: Manager, populated: LiveSite
) -> None:
    manager.open()
    manager.sign_in()
    page = manager.page
    machines = page.locator("table.machines")
    machines.get_by_role("rowheader", name="TESTMACHINE.EXAMPLE").wait_for()
    assert "STARTED" in machines.locator("tbody tr").first.inner_text()
    counts = page.locator(".counts")
    counts.wait_for()
    started = _count_started(populated)
    assert page.locator(".started-count").inner_text() == str(started)
    assert page.locator(".stopped-count").inner_text() == "1"
    by_folder = page.locator("table.service-counts")
    assert by_folder.get_by_role("row", name=re.compile(r"^\(root\)\s+1\s+0\s+1$")).count() == 1
    assert by_folder.get_by_role("row", name=re.compile(r"^Maps\s+0\s+1\s+1$")).count() == 1
    messages = page.locator("#overview-messages").locator("..")
    messages.locator("table.logs").wait_for()
    levels = messages.locator("td.level").all_inner_texts()
    assert levels and set(levels) <= {"SEVERE", "WARNING"}
    assert "SEVERE" in levels  # the lockout is among the latest
    assert messages.get_by_text(f"Failed login attempt for user '{INTRUDER}'.").count() >= 1
    chart = page.locator(".chart")
    chart.locator("canvas").first.wait_for()
    summary = chart.locator(".visually-hidden").inner_text()
    found = re.search(r"Requests: (\d+)", summary)
    assert found and int(found.group(1)) >= 5, summary
    # The chart's report is the Manager's own, flagged as ArcGIS Server Manager flags its own.
    listing = _post(populated, "/usagereports", populated.token())
    mine = [r for r in listing["metrics"] if r["reportname"].startswith("geosite-manager")]
    assert len(mine) == 1 and mine[0]["metadata"]["managerReport"] is True
    manager.shot("overview")
    manager.check_accessibility()
    with page.expect_response(re.compile(r"/usagereports/[^/]+/data$")):
        page.get_by_role("button", name="Refresh").click()  # the report is reused, not added
    chart.locator("canvas").first.wait_for()
    listing = _post(populated, "/usagereports", populated.token())
    assert len([r for r in listing["metrics"] if r["reportname"] == mine[0]["reportname"]]) == 1


def test_a_publisher_sees_no_machines(manager: Manager, populated: LiveSite) -> None:
    manager.open()
    manager.sign_in(PUBLISHER, PUBLISHER_PASSWORD)
    page = manager.page
    page.locator(".counts").wait_for()
    page.locator(".chart canvas").first.wait_for()
    page.locator("#overview-messages").wait_for()
    assert page.locator("#overview-machines").count() == 0
    assert page.get_by_role("link", name="All the logs").count() == 1  # publishers read logs
    assert page.get_by_role("alert").count() == 0  # logs/query and usage reports: theirs too
    manager.shot("overview-publisher")
    manager.check_accessibility()


def test_logs_filter_by_level_code_and_text_and_page(manager: Manager, populated: LiveSite) -> None:
    manager.open("logs?level=INFO&size=25")
    manager.sign_in()
    page = manager.page
    page.locator("table.logs tbody tr").first.wait_for()
    # Filter to WARNING (and more severe).
    page.get_by_label("Level (and more severe)").select_option("WARNING")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(r"level=WARNING"))
    page.locator("table.logs tbody tr").first.wait_for()
    page.wait_for_function(
        """() => [...document.querySelectorAll('table.logs tbody td.level')]
                 .every(c => c.textContent === 'WARNING' || c.textContent === 'SEVERE')"""
    )
    levels = _levels(manager)
    assert len(levels) == 25 and set(levels) <= {"WARNING", "SEVERE"}
    assert page.locator("table.logs td.level-WARNING").count() >= 1
    known = "GET /arcgis/rest/services/Missing59/FeatureServer failed with code 404"
    assert page.get_by_text(known).count() == 1
    first_page = page.locator("table.logs tbody td.message").all_inner_texts()
    manager.shot("logs-warning")
    manager.check_accessibility()

    # Page forward by the answer's endTime, and back.
    page.get_by_role("button", name="Older").click()
    page.get_by_text("Page 2", exact=True).wait_for()
    second_page = page.locator("table.logs tbody td.message").all_inner_texts()
    assert second_page and not set(second_page) & set(first_page)
    assert set(_levels(manager)) <= {"WARNING", "SEVERE"}
    page.get_by_role("button", name="Newer").click()
    page.get_by_text("Page 1", exact=True).wait_for()
    assert page.locator("table.logs tbody td.message").all_inner_texts()[:1] == first_page[:1]

    # By code: the failed sign-ins, each naming the user name tried.
    page.get_by_label("Code").fill("7301")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(r"code=7301"))
    page.wait_for_function(
        """() => { const c = [...document.querySelectorAll('table.logs tbody td.num')];
                   return c.length > 0 && c.every(x => x.textContent === '7301'); }"""
    )
    messages = page.locator("table.logs tbody td.message").all_inner_texts()
    assert len(messages) == 5 and all(INTRUDER in m for m in messages), messages
    page.reload()  # the filters are in the URL
    page.locator("table.logs tbody tr").first.wait_for()
    assert page.get_by_label("Code").input_value() == "7301"
    assert page.get_by_label("Level (and more severe)").input_value() == "WARNING"

    # Text is searched in the page's records; an unknown code is the API's own error.
    manager.open("logs?level=WARNING&text=Missing1")
    page.locator("table.logs tbody tr").first.wait_for()
    page.wait_for_function(
        """() => [...document.querySelectorAll('table.logs tbody td.message')]
                 .every(c => c.textContent.includes('Missing1'))"""
    )
    assert page.locator("table.logs tbody tr").count() == 11  # Missing1, Missing10..19
    manager.allow("status of 400")
    page.get_by_label("Code").fill("seven")
    page.get_by_role("button", name="Apply filters").click()
    assert "filter.codes" in page.get_by_role("alert").inner_text()


def test_live_tail_prepends_new_records_and_pauses_when_scrolled(
    manager: Manager, populated: LiveSite
) -> None:
    page = manager.page
    page.clock.install()  # the tail's timer runs when the test says, not after a sleep
    page.add_init_script(COUNT_LOG_QUERIES)
    manager.open("logs?level=WARNING&size=200")
    manager.sign_in()
    rows = page.locator("table.logs tbody tr")
    rows.first.wait_for()
    tail = page.get_by_label("Live tail")
    tail.check()
    status = page.locator(".tail-status")
    assert status.get_attribute("aria-live") == "polite"
    status.get_by_text("Live tail: looking for new records").wait_for()
    page.wait_for_function("() => window.__logQueries >= 2")  # the page, then the tail's look

    _missing_service(populated, "TailedOne")
    page.clock.run_for(5_000)
    page.get_by_text("/arcgis/rest/services/TailedOne/FeatureServer").wait_for()
    assert "TailedOne" in rows.first.inner_text()  # on top, the newest
    status.get_by_text("1 new record").wait_for()
    assert page.evaluate("document.activeElement === document.querySelector('.tail-toggle input')")

    # Scrolled down the table: the tail pauses, and says so.
    region = page.get_by_role("region", name="Log records, newest first")
    region.hover()
    page.mouse.wheel(0, 600)
    status.get_by_text("Paused: scrolled").wait_for()
    resume = page.get_by_role("button", name="Resume")
    assert resume.is_visible()
    manager.shot("logs-tail-paused")
    manager.check_accessibility()
    asked = page.evaluate("window.__logQueries")
    _missing_service(populated, "TailedTwo")
    page.clock.run_for(30_000)  # ten periods of the tail: no look while paused
    assert page.evaluate("window.__logQueries") == asked
    assert page.get_by_text("/arcgis/rest/services/TailedTwo/FeatureServer").count() == 0

    # Resume: back to the top, and the record made meanwhile comes.
    resume.click()
    page.get_by_text("/arcgis/rest/services/TailedTwo/FeatureServer").wait_for()
    assert "TailedTwo" in rows.first.inner_text()
    assert region.evaluate("e => e.scrollTop") == 0
    status.get_by_text("Live tail: looking for new records").wait_for()
    manager.shot("logs-tail")
