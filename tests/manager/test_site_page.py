"""The Manager's Site page in Chromium: machines, server directories, data stores, backup and
restore, usage reports and links, each tab on the live site and checked through the
Administrator API."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ADMIN_USER, MACHINE, LiveSite
from tests.manager.conftest import Manager


def _api(site: LiveSite, path: str, **params: str) -> Any:
    answer = httpx.post(site.admin + path, data={"f": "json", "token": site.token(), **params})
    return answer.json()


def _open(manager: Manager, tab: str) -> None:
    manager.open(f"site?tab={tab}")
    manager.sign_in()
    current = manager.page.get_by_role("navigation", name="Site sections").locator(
        "a[aria-current='page']"
    )
    current.wait_for()


def _confirm(manager: Manager, action: str) -> None:
    dialog = manager.page.get_by_role("dialog")
    dialog.get_by_role("button", name=action, exact=True).click()
    dialog.wait_for(state="detached")


def test_tabs_are_links_in_the_url(manager: Manager) -> None:
    manager.open()
    manager.sign_in()
    manager.go("Site")
    tabs = manager.page.get_by_role("navigation", name="Site sections")
    tabs.get_by_role("link", name="Machines").wait_for()
    assert tabs.locator("a[aria-current='page']").inner_text() == "Machines"
    tabs.get_by_role("link", name="Links").click()
    manager.page.wait_for_url(re.compile(r"#/site\?tab=links$"))
    assert tabs.locator("a[aria-current='page']").inner_text() == "Links"
    main = manager.page.locator("main")
    admin_link = main.get_by_role("link", name="Administrator Directory")
    services_link = main.get_by_role("link", name="Services Directory")
    assert admin_link.get_attribute("href") == "/arcgis/admin/"
    assert services_link.get_attribute("href") == "/arcgis/rest/services"
    for target in ("/arcgis/admin/", "/arcgis/rest/services"):  # both answer (or sign in)
        assert httpx.get(manager.site.http + target, follow_redirects=True).status_code == 200
    manager.shot("links")
    manager.check_accessibility()


def test_machines_tab_shows_this_machine_and_how_to_add_one(manager: Manager) -> None:
    _open(manager, "machines")
    page = manager.page
    card = page.get_by_role("article", name=re.compile(MACHINE))
    card.wait_for()
    text = card.inner_text()
    assert "the machine answering" in text and "STARTED" in text
    machine = _api(manager.site, f"/machines/{MACHINE}")
    assert machine["adminURL"] in text and machine["platform"] in text
    command = page.locator("pre.join-command").inner_text()
    assert command == f"geosite serve --join {manager.site.admin} --user {ADMIN_USER}"
    # The machine answering cannot be unregistered: its button is disabled.
    assert card.get_by_role("button", name=f"Unregister {MACHINE}").is_disabled()
    manager.shot("machines")
    manager.check_accessibility()

    # Registering a machine that cannot be reached shows the API's own message.
    form = page.get_by_role("form", name="Register a waiting machine")
    form.get_by_label("Machine name").fill("geo9.example")
    form.get_by_label("Administrator URL").fill("http://127.0.0.1:1/arcgis/admin")
    form.get_by_role("button", name="Register machine").click()
    alert = form.get_by_role("alert")
    alert.wait_for()
    assert "http://127.0.0.1:1/arcgis/admin cannot be reached" in alert.inner_text()
    names = [m["machineName"] for m in _api(manager.site, "/machines")["machines"]]
    assert names == [MACHINE]


def test_stop_and_start_this_machine(manager: Manager) -> None:
    _open(manager, "machines")
    page = manager.page
    card = page.get_by_role("article", name=re.compile(MACHINE))
    card.get_by_role("button", name=f"Stop {MACHINE}").click()
    _confirm(manager, "Cancel")
    assert _api(manager.site, f"/machines/{MACHINE}/status")["configuredState"] == "STARTED"
    card.get_by_role("button", name=f"Stop {MACHINE}").click()
    _confirm(manager, "Stop")
    card.get_by_role("button", name=f"Start {MACHINE}").wait_for()
    assert _api(manager.site, f"/machines/{MACHINE}/status")["configuredState"] == "STOPPED"
    card.get_by_role("button", name=f"Start {MACHINE}").click()
    card.get_by_role("button", name=f"Stop {MACHINE}").wait_for()
    assert _api(manager.site, f"/machines/{MACHINE}/status")["configuredState"] == "STARTED"


def _directory(site: LiveSite, name: str) -> dict[str, Any]:
    found: dict[str, Any] = _api(site, f"/system/directories/{name}")
    return found


def _edit_directory(manager: Manager, name: str, mode: str, age: str) -> None:
    page = manager.page
    page.get_by_role("button", name=f"Edit {name}", exact=True).click()
    form = page.get_by_role("form", name=f"Edit {name}")
    form.get_by_label("Cleanup mode").select_option(mode)
    form.get_by_label("Maximum file age (minutes)").fill(age)
    form.get_by_role("button", name="Save directory").click()
    page.get_by_role("status").filter(has_text=f"Directory {name} saved.").wait_for()


def test_directories_tab_edits_a_directory(manager: Manager) -> None:
    site = manager.site
    listed = _api(site, "/system/directories")["directories"]
    _open(manager, "directories")
    table = manager.page.get_by_role("table", name="Server directories")
    table.get_by_role("cell", name="arcgisoutput", exact=True).wait_for()
    for d in listed:  # every directory of the site, with its path
        assert d["physicalPath"] in table.inner_text()
    manager.shot("directories")
    manager.check_accessibility()
    before = _directory(site, "arcgisoutput")

    _edit_directory(manager, "arcgisoutput", "TIME_ELAPSED_SINCE_LAST_MODIFIED", "1440")
    after = _directory(site, "arcgisoutput")
    assert after["maxFileAge"] == 1440
    assert after["cleanupMode"] == "TIME_ELAPSED_SINCE_LAST_MODIFIED"
    assert after["physicalPath"] == before["physicalPath"]
    row = table.get_by_role("row").filter(has_text="arcgisoutput")
    assert "1440" in row.inner_text()
    manager.shot("directory-edited")

    _edit_directory(manager, "arcgisoutput", before["cleanupMode"], str(before["maxFileAge"]))
    assert _directory(site, "arcgisoutput") == before

    # A wrong value: the API's own message.
    page = manager.page
    page.get_by_role("button", name="Edit arcgissystem", exact=True).click()
    form = page.get_by_role("form", name="Edit arcgissystem")
    form.get_by_label("Maximum file age (minutes)").fill("-5")
    form.evaluate("f => f.noValidate = true")  # let the server judge it
    form.get_by_role("button", name="Save directory").click()
    assert "maxFileAge" in form.get_by_role("alert").inner_text()


def test_data_stores_register_validate_unregister_a_folder(
    manager: Manager, tmp_path: Path
) -> None:
    site = manager.site
    folder = tmp_path / "shared"
    folder.mkdir()
    _open(manager, "data")
    page = manager.page
    page.get_by_text("No folder or database is registered.").wait_for()
    manager.shot("data-empty")
    manager.check_accessibility()

    form = page.get_by_role("form", name="Register a data store")
    form.get_by_label("Name").fill("sharedgis")
    form.get_by_label("Path on the server").fill(str(folder))
    form.get_by_role("button", name="Validate").click()
    form.get_by_role("status").filter(has_text="/fileShares/sharedgis is valid.").wait_for()
    form.get_by_role("button", name="Register").click()
    form.get_by_role("status").filter(has_text="/fileShares/sharedgis registered.").wait_for()

    table = page.get_by_role("table", name="Registered data stores")
    row = table.get_by_role("row").filter(has_text="/fileShares/sharedgis")
    row.wait_for()
    assert str(folder) in row.inner_text()
    items = _api(site, "/data/items/fileShares")["items"]
    assert [(i["path"], i["info"]["path"]) for i in items] == [
        ("/fileShares/sharedgis", str(folder.resolve()))
    ]
    page.get_by_role("button", name="Validate all").click()
    page.get_by_role("status").filter(has_text="Every registered data store is valid.").wait_for()
    manager.shot("data-registered")
    manager.check_accessibility()

    # Validating it again: the API says it is registered already.
    form.get_by_label("Name").fill("sharedgis")
    form.get_by_label("Path on the server").fill(str(folder))
    form.get_by_role("button", name="Validate").click()
    assert "already registered" in form.get_by_role("alert").inner_text()

    row.get_by_role("button", name="Unregister /fileShares/sharedgis").click()
    _confirm(manager, "Cancel")
    assert len(_api(site, "/data/items/fileShares")["items"]) == 1
    row.get_by_role("button", name="Unregister /fileShares/sharedgis").click()
    _confirm(manager, "Unregister")
    page.get_by_text("No folder or database is registered.").wait_for()
    assert _api(site, "/data/items/fileShares")["items"] == []


def test_data_stores_validate_a_database_shows_the_api_message(manager: Manager) -> None:
    _open(manager, "data")
    form = manager.page.get_by_role("form", name="Register a data store")
    form.get_by_label("PostgreSQL database (PostGIS)").check()
    form.get_by_label("Name").fill("gisdb")
    form.get_by_label("Host").fill("127.0.0.1")
    form.get_by_label("Port").fill("1")
    form.get_by_label("Database", exact=True).fill("gis")
    form.get_by_label("Database user").fill("reader")
    form.get_by_label("Database password").fill("pa;ss word")
    manager.shot("data-database")
    manager.check_accessibility()
    form.get_by_role("button", name="Validate").click()
    alert = form.get_by_role("alert")
    alert.wait_for()
    assert "Could not connect to the database" in alert.inner_text()
    assert "pa;ss" not in alert.inner_text()
    assert _api(manager.site, "/data/items/enterpriseDatabases")["items"] == []


def test_usage_report_created_charted_and_deleted(manager: Manager) -> None:
    site = manager.site
    for _ in range(3):  # some requests to count
        httpx.get(site.http + "/arcgis/rest/services/Utilities/Geometry/GeometryServer?f=json")
    _open(manager, "usage")
    page = manager.page
    table = page.get_by_role("table", name="Usage reports")
    table.wait_for()
    form = page.get_by_role("form", name="New usage report")
    form.get_by_label("Report name").fill("weekly")
    form.get_by_label("Average response time (s)").check()
    form.get_by_label("Resources").select_option(["services/", "services/Utilities"])
    form.get_by_label("Period").select_option("LAST_WEEK")
    form.get_by_role("button", name="Create report").click()
    form.get_by_role("status").filter(has_text="Report weekly created.").wait_for()

    charts = page.locator("figure.chart")
    charts.nth(1).locator("canvas").first.wait_for()
    captions = charts.locator("figcaption").all_inner_texts()
    assert captions == ["Requests", "Average response time (s)"]
    report = _api(site, "/usagereports/weekly")
    assert report["since"] == "LAST_WEEK" and report["aggregationInterval"] == 240
    assert report["queries"] == [
        {
            "resourceURIs": ["services/", "services/Utilities"],
            "metrics": ["RequestCount", "RequestAvgResponseTime"],
        }
    ]
    data = _api(site, "/usagereports/weekly/data")["report"]
    assert len(data["report-data"][0]) == 4  # two resources, two metrics
    assert "weekly" in table.inner_text()
    manager.shot("usage")
    manager.check_accessibility()

    # A name the API refuses: its own message.
    form.get_by_label("Report name").fill("no spaces")
    form.get_by_role("button", name="Create report").click()
    assert "'reportname' must be" in form.get_by_role("alert").inner_text()

    row = table.get_by_role("row").filter(has_text="weekly")
    row.get_by_role("button", name="Delete weekly").click()
    _confirm(manager, "Delete")
    page.get_by_role("status").filter(has_text="Report weekly deleted.").wait_for()
    assert "weekly" not in [r["reportname"] for r in _api(site, "/usagereports")["metrics"]]
    assert "weekly" not in table.inner_text()


def _folders(site: LiveSite) -> list[str]:
    folders: list[str] = _api(site, "/services")["folders"]
    return folders


def test_backup_and_restore(manager: Manager) -> None:
    site = manager.site
    _open(manager, "backup")
    page = manager.page
    manager.shot("backup")
    manager.check_accessibility()
    page.get_by_role("button", name="Back up now").click()
    page.get_by_role("status").filter(has_text="Backup written.").wait_for()
    location = page.get_by_label("Backup file on the server").input_value()
    backup = Path(location)
    assert backup.suffix == ".agssite" and backup.is_file() and backup.stat().st_size > 0
    assert location in page.get_by_role("region", name="Backups made in this session").inner_text()

    # A change after the backup, which the restore takes back.
    made = _api(site, "/services/createFolder", folderName="AfterBackup")
    assert made["status"] == "success" and "AfterBackup" in _folders(site)

    restore = page.get_by_role("button", name="Restore…")
    assert restore.is_disabled()  # not before the person says they understand
    page.get_by_label("I understand that restoring replaces").check()
    restore.click()
    dialog = page.get_by_role("dialog")
    assert "are replaced by the backup's" in dialog.inner_text()
    manager.shot("restore-confirm")
    _confirm(manager, "Cancel")
    assert "AfterBackup" in _folders(site)  # Cancel restores nothing

    restore.click()
    _confirm(manager, "Restore the site")
    page.get_by_role("status").filter(has_text="The site was restored").wait_for()
    assert "AfterBackup" not in _folders(site)
    report = page.locator("dl.facts").inner_text()
    assert "Folders" in report
    manager.shot("restored")
    manager.check_accessibility()

    # A file that is no backup: the API's own message.
    page.get_by_label("Backup file on the server").fill("/nonexistent.agssite")
    page.get_by_label("I understand that restoring replaces").check()
    restore.click()
    _confirm(manager, "Restore the site")
    assert "No backup file at" in page.get_by_role("alert").inner_text()


def test_backup_downloads_and_restores_by_upload(manager: Manager, tmp_path: Path) -> None:
    """A backup downloaded from the list is the server's file; uploaded back, it restores."""
    # The form's navigation becomes the download: Chromium reports it aborted, as any download.
    manager.allow(r"request failed: .*/arcgis/admin/backups/[\w.-]+\.agssite net::ERR_ABORTED")
    site = manager.site
    _open(manager, "backup")
    page = manager.page
    page.get_by_role("button", name="Back up now").click()
    page.get_by_role("status").filter(has_text="Backup written.").wait_for()
    backup = Path(page.get_by_label("Backup file on the server").input_value())
    listed = page.get_by_role("region", name="Backups in the site's backups folder")
    row = listed.get_by_role("row").filter(has_text=backup.name)
    with page.expect_download() as caught:
        row.get_by_role("button", name=f"Download {backup.name}").click()
    saved = tmp_path / "downloaded.agssite"
    caught.value.save_as(saved)
    assert caught.value.suggested_filename == backup.name
    assert saved.read_bytes() == backup.read_bytes()
    manager.shot("backups-listed")
    manager.check_accessibility()

    made = _api(site, "/services/createFolder", folderName="AfterDownload")
    assert made["status"] == "success"
    page.get_by_label("Backup file from this computer").set_input_files(str(saved))
    assert page.get_by_label("Backup file on the server").is_disabled()
    page.get_by_label("I understand that restoring replaces").check()
    page.get_by_role("button", name="Restore…").click()
    _confirm(manager, "Restore the site")
    page.get_by_role("status").filter(
        has_text="The site was restored from downloaded.agssite"
    ).wait_for()
    assert "AfterDownload" not in _folders(site)
    assert _api(site, "/uploads")["items"] == []  # the uploaded copy is removed after
    manager.shot("restored-from-upload")
