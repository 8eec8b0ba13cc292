"""The Manager's service page (#/services/<folder or _root>/<Name>.<Type>), in Chromium.

Countries (naturalearth_lowres.zip, 177 features) is published by the API; its page previews
it on a Leaflet map (the map's pixels are counted: not blank), pages its attribute table,
edits maxRecordCount (seen through the REST API; a bad value shows the API's own message and
changes nothing), stops and starts it, and shows its statistics. A MapServer's preview draws
too, and a service is deleted from its page.
"""

from __future__ import annotations

import io
import json
import re

import httpx
import pytest
from PIL import Image, ImageChops

from geosite.demo import DATA_DIR
from tests.conftest import LiveSite
from tests.http.test_publishing import publish
from tests.manager.conftest import Manager

COUNTRIES = "services/_root/Countries.FeatureServer"
REST = "/arcgis/rest/services/Countries/FeatureServer"
#: The map's own background (styles.css): what an empty map shows.
BACKGROUND = (0xF7, 0xF9, 0xFB)
PUBLISHER_PASSWORD = "Publisher-Password-1"


@pytest.fixture(scope="module")
def published(site: LiveSite) -> LiveSite:
    token = site.token()
    lowres = DATA_DIR / "naturalearth_lowres.zip"
    assert publish(site, token, lowres, "Countries")["status"] == "success"
    assert publish(site, token, lowres, "CountryMap", "Maps", kind="MapServer")["status"] == (
        "success"
    )
    return site


def open_tab(manager: Manager, route: str, tab: str) -> None:
    """Open a service's tab, signing in on the way."""
    manager.open(f"{route}?tab={tab}")
    manager.sign_in()
    tabs = manager.page.get_by_role("navigation", name="Service")
    tabs.locator("a[aria-current=page]").wait_for()
    assert tabs.locator("a[aria-current=page]").inner_text().lower() == tab


def drawn_pixels(manager: Manager) -> float:
    """The share of the map's pixels that are not its background."""
    shot = manager.page.locator(".map[data-loaded=true]").screenshot()
    image = Image.open(io.BytesIO(shot)).convert("RGB")
    empty = Image.new("RGB", image.size, BACKGROUND)
    difference = ImageChops.difference(image, empty).convert("L").histogram()
    return sum(difference[24:]) / (image.size[0] * image.size[1])


def rest_json(site: LiveSite, path: str, **params: object) -> dict:  # type: ignore[type-arg]
    answer = httpx.post(site.http + path, data={"f": "json", **params}, timeout=60)
    return answer.json()  # type: ignore[no-any-return]


def test_preview_draws_the_countries(published: LiveSite, manager: Manager) -> None:
    open_tab(manager, COUNTRIES, "preview")
    page = manager.page
    page.locator(".map[data-loaded=true]").wait_for()
    status = page.get_by_text(re.compile(r"^Map loaded")).inner_text()
    assert re.search(r"\b177 features of 1 layer\b", status), status
    assert page.get_by_role("region", name="Map of Countries").is_visible()
    assert page.locator(".map canvas").count() >= 1
    share = drawn_pixels(manager)
    assert share > 0.05, f"the map is blank: {share:.3%} drawn"
    manager.shot("preview")
    manager.check_accessibility()


def test_map_server_preview_draws(published: LiveSite, manager: Manager) -> None:
    open_tab(manager, "services/Maps/CountryMap.MapServer", "preview")
    page = manager.page
    page.locator(".map[data-loaded=true] img.leaflet-image-layer").first.wait_for()
    share = drawn_pixels(manager)
    assert share > 0.05, f"the map image is blank: {share:.3%} drawn"
    manager.shot("mapserver-preview")
    manager.check_accessibility()
    page.get_by_role("link", name="Table").click()  # a map service's layer pages too
    page.get_by_text("177 records; rows 1 to 25.").wait_for()
    assert len(table_ids(manager)) == 25


def table_ids(manager: Manager) -> list[str]:
    table = manager.page.locator("table.attributes")
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    column = headers.index("FID") + 1 if "FID" in headers else 1
    return table.locator(f"tbody tr td:nth-child({column})").all_inner_texts()


def test_table_pages(published: LiveSite, manager: Manager) -> None:
    open_tab(manager, COUNTRIES, "table")
    page = manager.page
    pager = page.get_by_role("navigation", name="Table pages")
    pager.get_by_text("Page 1 of 8").wait_for()
    assert page.get_by_text("177 records; rows 1 to 25.").is_visible()
    first = table_ids(manager)
    assert len(first) == 25
    manager.shot("table")
    manager.check_accessibility()
    pager.get_by_role("button", name="Next").click()
    pager.get_by_text("Page 2 of 8").wait_for()
    page.get_by_text("177 records; rows 26 to 50.").wait_for()
    second = table_ids(manager)
    assert len(second) == 25 and not set(first) & set(second)
    expected = rest_json(
        published,
        REST + "/0/query",
        where="1=1",
        returnIdsOnly="true",
    )["objectIds"]
    assert sorted(int(i) for i in first + second) == sorted(expected)[:50]


def max_record_count(site: LiveSite) -> int:
    return int(rest_json(site, REST)["maxRecordCount"])


def test_edit_max_record_count(published: LiveSite, manager: Manager) -> None:
    manager.allow(r"status of 400")  # the refused edits, answered as to any client
    open_tab(manager, COUNTRIES, "properties")
    page = manager.page
    field = page.get_by_label("Maximum records per query (maxRecordCount)")
    field.wait_for()
    assert field.input_value() == "2000"  # geosite's default
    manager.shot("properties")
    manager.check_accessibility()
    field.fill("500")
    page.get_by_role("checkbox", name=re.compile("^Create")).check()
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("The properties are saved.").wait_for()
    root = rest_json(published, REST)
    assert root["maxRecordCount"] == 500
    assert "Create" in root["capabilities"].split(",")
    for bad, message in (("-5", "between 1 and 100000"), ("many", "must be an integer")):
        field.fill(bad)
        page.get_by_role("button", name="Save", exact=True).click()
        alert = page.get_by_role("alert").filter(has_text="maxRecordCount")
        alert.wait_for()
        assert message in alert.inner_text()
        assert max_record_count(published) == 500
    manager.shot("properties-error")
    page.get_by_role("button", name="Reset").click()
    assert field.input_value() == "500"


def test_permissions_by_role(published: LiveSite, manager: Manager) -> None:
    open_tab(manager, COUNTRIES, "properties")
    page = manager.page
    section = page.get_by_role("region", name="Permissions by role")
    row = section.get_by_role("row", name=re.compile("^Everyone"))
    row.get_by_text("Allowed").wait_for()
    section.get_by_role("button", name="Clear Everyone").click()
    row.get_by_text("Not set").wait_for()
    page.get_by_text("Private: roles allowed below").wait_for()
    anonymous = httpx.get(published.http + REST, params={"f": "json"}).json()
    assert anonymous["error"]["code"] in (401, 403, 499), anonymous
    manager.shot("permissions")
    manager.check_accessibility()
    section.get_by_role("button", name="Allow Everyone").click()
    row.get_by_text("Allowed").wait_for()
    assert "layers" in httpx.get(published.http + REST, params={"f": "json"}).json()


def test_stop_and_start(published: LiveSite, manager: Manager) -> None:
    open_tab(manager, COUNTRIES, "properties")
    page = manager.page
    page.get_by_role("button", name="Stop", exact=True).click()
    dialog = page.get_by_role("dialog")
    assert "Stop Countries?" in dialog.inner_text()
    manager.check_accessibility()
    dialog.get_by_role("button", name="Stop").click()
    page.locator(".badge", has_text="STOPPED").wait_for()
    page.get_by_text("Countries stopped.").wait_for()
    status = rest_json(
        published, "/arcgis/admin/services/Countries.FeatureServer/status", token=published.token()
    )
    assert status["configuredState"] == "STOPPED"
    assert "error" in rest_json(published, REST)
    manager.shot("stopped")
    page.get_by_role("link", name="Preview").click()
    page.get_by_text("The service is stopped: start it to preview it").wait_for()
    page.get_by_role("button", name="Start", exact=True).click()
    page.locator(".badge", has_text="STARTED").wait_for()
    page.locator(".map[data-loaded=true]").wait_for()  # the preview draws once started
    assert rest_json(published, REST)["layers"][0]["name"]


def test_statistics(published: LiveSite, manager: Manager) -> None:
    for _ in range(3):
        rest_json(published, REST + "/0/query", where="1=1", returnCountOnly="true")
    open_tab(manager, COUNTRIES, "statistics")
    page = manager.page
    figures = page.locator("dl.service-figures")
    figures.wait_for()
    requests = figures.locator("dt:text-is('Requests') + dd").inner_text()
    assert int(requests.replace(",", "")) >= 3
    page.locator("figure.chart canvas").first.wait_for()
    assert page.get_by_text(re.compile(r"Requests to Countries: Requests: \d+")).count() == 1
    manager.shot("statistics")
    manager.check_accessibility()
    listed = rest_json(published, "/arcgis/admin/usagereports", token=published.token())
    assert not [r for r in listed["metrics"] if r["reportname"].startswith("manager_")]


def test_delete_service(published: LiveSite, manager: Manager) -> None:
    token = published.token()
    path = DATA_DIR / "naturalearth_cities.zip"
    assert publish(published, token, path, "Doomed", "Scratch")["status"] == "success"
    open_tab(manager, "services/Scratch/Doomed.FeatureServer", "properties")
    page = manager.page
    page.get_by_role("button", name="Delete service").click()
    dialog = page.get_by_role("dialog")
    assert "Delete Doomed (FeatureServer)" in dialog.inner_text()
    dialog.get_by_role("button", name="Delete").click()
    page.wait_for_url(re.compile(r"#/services$"))
    folder = rest_json(published, "/arcgis/rest/services/Scratch")
    assert folder["services"] == [], json.dumps(folder)


def test_a_publisher_sees_no_permissions(published: LiveSite, manager: Manager) -> None:
    admin = published.token()

    def post(path: str, **data: str) -> dict:  # type: ignore[type-arg]
        return rest_json(published, "/arcgis/admin" + path, token=admin, **data)

    assert post("/security/roles/add", rolename="mappers")["status"] == "success"
    post("/security/roles/assignPrivilege", rolename="mappers", privilege="PUBLISH")
    assert post("/security/users/add", username="mapper", password=PUBLISHER_PASSWORD)[
        "status"
    ] == ("success")
    post("/security/roles/addUsersToRole", rolename="mappers", users="mapper")
    token = published.token("mapper", PUBLISHER_PASSWORD)
    path = DATA_DIR / "naturalearth_cities.zip"
    assert publish(published, token, path, "Mine")["status"] == "success"
    manager.open("services/_root/Mine.FeatureServer?tab=properties")
    manager.sign_in("mapper", PUBLISHER_PASSWORD)
    page = manager.page
    page.get_by_label("Maximum records per query (maxRecordCount)").wait_for()
    assert page.get_by_role("region", name="Delete").is_visible()
    assert page.get_by_role("region", name="Permissions by role").count() == 0
    manager.check_accessibility()
    page.get_by_role("link", name="Preview").click()
    page.locator(".map[data-loaded=true]").wait_for()  # points, drawn as circles
    assert re.search(
        r"\b\d{2,} features\b", page.get_by_text(re.compile("^Map loaded")).inner_text()
    )
    assert drawn_pixels(manager) > 0.001
    manager.shot("publisher-preview")
    page.get_by_role("link", name="Statistics").click()
    page.locator("figure.chart canvas").first.wait_for()
    manager.check_accessibility()
