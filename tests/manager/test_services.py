"""The Manager's Services list and Publish page, in Chromium, checked through the APIs.

Publishing uploads through the page's file input (/admin/uploads/upload with progress) and
calls /admin/services/createService; the list's batch actions call startServices,
stopServices and each service's delete. What they did is read back through the REST API
and the Administrator API, as any client would see it.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator

from geosite.demo import DATA_DIR
from tests.conftest import LiveSite
from tests.http.test_publishing import publish
from tests.manager.conftest import Manager

#: A deliberate failure's answer (the API's error envelope may come with a 4xx status).
API_REFUSAL = r"status of 4\d\d"


@pytest.fixture(scope="module")
def token(site: LiveSite) -> str:
    return site.token()


def _admin(site: LiveSite, path: str, token: str, **data: Any) -> dict[str, Any]:
    answer = httpx.post(site.admin + path, data={"f": "json", "token": token, **data}, timeout=60)
    return answer.json()  # type: ignore[no-any-return]


def _rest(site: LiveSite, path: str, token: str) -> dict[str, Any]:
    answer = httpx.get(
        site.http + "/arcgis/rest/services" + path, params={"f": "json", "token": token}
    )
    return answer.json()  # type: ignore[no-any-return]


def _exists(site: LiveSite, token: str, name: str, folder: str = "") -> bool:
    answer = _admin(
        site, "/services/exists", token, folderName=folder, serviceName=name, type="FeatureServer"
    )
    return bool(answer["exists"])


def _state(site: LiveSite, token: str, path: str) -> str:
    return str(_admin(site, f"/services/{path}/status", token)["realTimeState"])


def _published(site: LiveSite, token: str, name: str, folder: str = "", data: str = "") -> None:
    """A service published through the API (the list's data, not the page under test)."""
    source = DATA_DIR / (data or "naturalearth_cities.zip")
    assert publish(site, token, source, name, folder)["status"] == "success"


def _row(manager: Manager, name: str) -> Locator:
    page = manager.page
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=name, exact=True))


def _wait_for_state(manager: Manager, name: str, state: str) -> None:
    _row(manager, name).locator(".badge", has_text=state).wait_for()


def _open_list(manager: Manager, query: str = "", user: tuple[str, str] | None = None) -> None:
    """Open the list (``query``: its filters) and sign in (as ``user``, else the admin)."""
    manager.open("services" + query)
    manager.sign_in(*(user or ()))
    manager.page.get_by_role("heading", name="Services", level=1).wait_for()
    manager.page.get_by_role("table").wait_for()


def test_publish_by_upload_then_see_it_listed(manager: Manager, site: LiveSite, token: str) -> None:
    page = manager.page
    manager.open("publish")
    manager.sign_in()
    page.get_by_role("heading", name="Publish a service").wait_for()
    assert page.locator(".dropzone").count() == 1
    manager.shot("publish-drop")
    manager.check_accessibility()

    page.get_by_label("Or choose a file to publish").set_input_files(
        DATA_DIR / "naturalearth_lowres.zip"
    )
    progress = page.get_by_role("progressbar", name="Uploading naturalearth_lowres.zip")
    progress.wait_for()
    page.get_by_text("Uploaded naturalearth_lowres.zip.").wait_for()
    assert progress.get_attribute("value") == "100"
    assert page.locator(".upload-progress span", has_text="100%").is_visible()
    name = page.get_by_label("Service name")
    assert name.input_value() == "naturalearth_lowres"  # from the file name, made valid
    manager.shot("publish-form")
    manager.check_accessibility()

    name.fill("Countries")
    page.get_by_label("Folder").select_option(label="A new folder…")
    page.get_by_label("New folder name").fill("World")
    page.get_by_role("checkbox", name="Update", exact=True).check()
    page.get_by_label("Description (optional)").fill("Countries of the world")
    page.get_by_role("button", name="Publish", exact=True).click()
    page.wait_for_url(
        re.compile(r"#/services/World/Countries\.FeatureServer\?tab=preview$"), timeout=120_000
    )

    described = _rest(site, "/World/Countries/FeatureServer", token)
    assert "error" not in described, described
    assert described["layers"] and "Update" in described["capabilities"]
    folders = _admin(site, "/services", token)["folders"]
    assert "World" in folders

    manager.go("Services")
    _wait_for_state(manager, "Countries", "STARTED")
    row = _row(manager, "Countries")
    assert "FeatureServer" in row.inner_text() and "Countries of the world" in row.inner_text()
    link = row.get_by_role("link", name="Countries")
    assert link.get_attribute("href") == "#/services/World/Countries.FeatureServer"
    manager.shot("services-list")
    manager.check_accessibility()


def test_search_and_filters_narrow_the_list(manager: Manager, site: LiveSite, token: str) -> None:
    _published(site, token, "Cities")
    _published(site, token, "Boroughs", "NewYork", "nybb_16a.zip")
    assert (
        _admin(
            site,
            "/services/stopServices",
            token,
            services='[{"folderName": "NewYork", '
            '"serviceName": "Boroughs", "type": "FeatureServer"}]',
        )["status"]
        == "success"
    )
    page = manager.page
    _open_list(manager)
    _wait_for_state(manager, "Boroughs", "STOPPED")
    assert _row(manager, "Cities").count() == 1
    # The root's services link with _root in the place of a folder.
    link = _row(manager, "Cities").get_by_role("link", name="Cities")
    assert link.get_attribute("href") == "#/services/_root/Cities.FeatureServer"

    page.get_by_role("searchbox", name="Search").fill("borough")
    _row(manager, "Cities").wait_for(state="detached")
    assert _row(manager, "Boroughs").count() == 1
    assert "q=borough" in page.url  # kept in the URL
    page.get_by_role("searchbox", name="Search").fill("")
    _row(manager, "Cities").wait_for()

    page.get_by_label("State").select_option("STOPPED")
    _row(manager, "Cities").wait_for(state="detached")
    assert _row(manager, "Boroughs").count() == 1
    page.get_by_label("State").select_option("STARTED")
    _row(manager, "Boroughs").wait_for(state="detached")
    assert _row(manager, "Cities").count() == 1
    page.get_by_label("State").select_option("")

    page.get_by_label("Folder").select_option("NewYork")
    _row(manager, "Cities").wait_for(state="detached")
    assert _row(manager, "Boroughs").count() == 1
    assert "folder=NewYork" in page.url
    manager.shot("services-filtered")

    # A reload keeps the filters the URL holds.
    page.reload()
    _row(manager, "Boroughs").wait_for()
    assert _row(manager, "Cities").count() == 0
    assert page.get_by_label("Folder").input_value() == "NewYork"

    page.get_by_label("Folder").select_option("_root")
    _row(manager, "Cities").wait_for()
    assert _row(manager, "Boroughs").count() == 0
    page.get_by_label("Type").select_option("FeatureServer")
    assert _row(manager, "Cities").count() == 1
    page.get_by_role("searchbox", name="Search").fill("no such service")
    page.get_by_text("No service matches the filters.").wait_for()
    manager.check_accessibility()


def test_stop_and_start_from_the_list(manager: Manager, site: LiveSite, token: str) -> None:
    _published(site, token, "Stoppable")
    page = manager.page
    _open_list(manager)
    _wait_for_state(manager, "Stoppable", "STARTED")

    page.get_by_role("checkbox", name="Select Stoppable.FeatureServer").check()
    page.get_by_role("button", name="Stop", exact=True).click()
    dialog = page.get_by_role("dialog")
    assert "Stop 1 service: Stoppable.FeatureServer?" in dialog.inner_text()
    manager.shot("stop-confirm")
    dialog.get_by_role("button", name="Stop").click()
    _wait_for_state(manager, "Stoppable", "STOPPED")
    assert _state(site, token, "Stoppable.FeatureServer") == "STOPPED"
    page.get_by_role("status").filter(has_text="1 service stopped").wait_for()
    # The REST API no longer serves it.
    assert "error" in _rest(site, "/Stoppable/FeatureServer", token)

    page.get_by_role("button", name="Start", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="Start").click()
    _wait_for_state(manager, "Stoppable", "STARTED")
    assert _state(site, token, "Stoppable.FeatureServer") == "STARTED"
    assert "error" not in _rest(site, "/Stoppable/FeatureServer", token)


def test_batch_delete_with_confirmation(manager: Manager, site: LiveSite, token: str) -> None:
    _published(site, token, "Doomed_A")
    _published(site, token, "Doomed_B", "Attic")
    page = manager.page
    _open_list(manager, "?q=doomed")
    _row(manager, "Doomed_B").wait_for()
    page.get_by_role("checkbox", name="Select all shown services").check()
    assert page.get_by_text("2 selected").is_visible()

    page.get_by_role("button", name="Delete", exact=True).click()
    dialog = page.get_by_role("dialog")
    text = dialog.inner_text()
    assert "Delete 2 services" in text and "Doomed_A.FeatureServer" in text
    assert "Attic/Doomed_B.FeatureServer" in text
    dialog.get_by_role("button", name="Cancel").click()
    dialog.wait_for(state="detached")
    assert _exists(site, token, "Doomed_A") and _exists(site, token, "Doomed_B", "Attic")
    assert _row(manager, "Doomed_A").count() == 1

    page.get_by_role("button", name="Delete", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    _row(manager, "Doomed_A").wait_for(state="detached")
    _row(manager, "Doomed_B").wait_for(state="detached")
    assert not _exists(site, token, "Doomed_A")
    assert not _exists(site, token, "Doomed_B", "Attic")
    assert "error" in _rest(site, "/Doomed_A/FeatureServer", token)
    page.get_by_text("0 selected").wait_for()


def test_publishing_under_a_taken_name_shows_the_api_message(
    manager: Manager, site: LiveSite, token: str
) -> None:
    manager.allow(API_REFUSAL)
    _published(site, token, "Taken")
    page = manager.page
    manager.open("publish")
    manager.sign_in()
    # Dropped on the drop zone this time: a GeoJSON file made in the page.
    dropped = page.evaluate_handle(
        """() => {
            const point = {type: "Feature", properties: {name: "here"},
                           geometry: {type: "Point", coordinates: [2.35, 48.85]}};
            const text = JSON.stringify({type: "FeatureCollection", features: [point]});
            const data = new DataTransfer();
            data.items.add(new File([text], "my places.geojson", {type: "application/geo+json"}));
            return data;
        }"""
    )
    page.locator(".dropzone").dispatch_event("drop", {"dataTransfer": dropped})
    page.get_by_text("Uploaded my places.geojson.").wait_for()
    assert page.get_by_label("Service name").input_value() == "my_places"
    page.get_by_label("Service name").fill("Taken")
    page.get_by_role("button", name="Publish", exact=True).click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "Service 'Taken.FeatureServer' already exists in folder '/'." in alert.inner_text()
    assert page.url.endswith("#/publish")
    manager.shot("publish-taken")
    manager.check_accessibility()

    # The form stays: another name publishes.
    page.get_by_label("Service name").fill("Taken_Too")
    page.get_by_role("button", name="Publish", exact=True).click()
    page.wait_for_url(
        re.compile(r"#/services/_root/Taken_Too\.FeatureServer\?tab=preview$"), timeout=120_000
    )
    assert _exists(site, token, "Taken_Too")


def test_a_publisher_is_refused_what_the_api_refuses(
    manager: Manager, site: LiveSite, token: str
) -> None:
    manager.allow(API_REFUSAL)
    security = "/security"
    assert (
        _admin(site, security + "/roles/add", token, rolename="Publishers")["status"] == "success"
    )
    answer = _admin(
        site, security + "/roles/assignPrivilege", token, rolename="Publishers", privilege="PUBLISH"
    )
    assert answer["status"] == "success"
    password = "Publisher-pass-1"
    answer = _admin(site, security + "/users/add", token, username="pat", password=password)
    assert answer["status"] == "success"
    answer = _admin(
        site, security + "/roles/addUsersToRole", token, rolename="Publishers", users="pat"
    )
    assert answer["status"] == "success"
    _published(site, token, "Admins_Own")

    page = manager.page
    _open_list(manager, user=("pat", password))
    _wait_for_state(manager, "Admins_Own", "STARTED")  # listed, with its state
    page.get_by_role("checkbox", name="Select Admins_Own.FeatureServer").check()
    page.get_by_role("button", name="Stop", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="Stop").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "You do not have permissions" in alert.inner_text()  # the API's own words
    manager.shot("publisher-refused")
    assert _state(site, token, "Admins_Own.FeatureServer") == "STARTED"
    _wait_for_state(manager, "Admins_Own", "STARTED")
