"""The Manager's Security page in Chromium: users and roles made in the Manager decide what
their users see when they sign in; a reset password, a disabled account, an expired or revoked
token; the token and password policies; and a warning before a setting locks the person out.

Each test has a site of its own (``site`` below): they change users, policies and settings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite, make_site
from tests.manager.conftest import TIMEOUT, Manager

PAT_PASSWORD = "pat-Password-1"
ALEX_PASSWORD = "alex-Password-1"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[LiveSite]:
    """A site of each test's own (overrides the module's shared one)."""
    live = make_site(tmp_path / "site")
    yield live
    live.stop()


def api(site: LiveSite, path: str, token: str | None = None, **params: str) -> Any:
    """POST to the Administrator API as a script would, signed in as the site administrator."""
    data = {"f": "json", "token": token or site.token(), **params}
    return httpx.post(site.admin + path, data=data).json()


def ok(answer: Any) -> None:
    assert answer == {"status": "success"}, answer


def add_account(site: LiveSite, username: str, password: str, role: str, privilege: str) -> None:
    """A role with ``privilege`` and a user in it, through the API."""
    token = site.token()
    if not api(site, "/security/roles/getPrivilege", token, rolename=role).get("privilege"):
        ok(api(site, "/security/roles/add", token, rolename=role))
        ok(api(site, "/security/roles/assignPrivilege", token, rolename=role, privilege=privilege))
    ok(api(site, "/security/users/add", token, username=username, password=password))
    ok(api(site, "/security/users/assignRoles", token, username=username, roles=role))


def tab(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Security").get_by_role("link", name=name).click()


def sign_out(manager: Manager) -> None:
    manager.page.get_by_role("button", name="Sign out").click()
    manager.page.get_by_label("Password").wait_for()


def try_sign_in(manager: Manager, username: str, password: str) -> Locator:
    """Sign in on the sign-in page where it is refused: the alert with the API's message."""
    manager.page.get_by_label("Username").fill(username)
    manager.page.get_by_label("Password").fill(password)
    manager.page.get_by_role("button", name="Sign in").click()
    alert = manager.page.get_by_role("alert")
    alert.wait_for()
    return alert


def reauthenticate(page: Page, password: str, username: str | None = None) -> Locator:
    """The "Sign in again" dialog is open: sign in there; returns the dialog."""
    dialog = page.get_by_role("dialog", name="Sign in again")
    dialog.wait_for()
    if username is not None:
        dialog.get_by_label("Username").fill(username)
    dialog.get_by_label("Password").fill(password)
    dialog.get_by_role("button", name="Sign in").click()
    return dialog


def section_links(page: Page) -> list[str]:
    nav = page.get_by_role("navigation", name="Sections")
    return [text.strip() for text in nav.get_by_role("link").all_inner_texts()]


def test_a_role_and_a_user_made_in_the_manager_decide_what_they_see(
    manager: Manager, site: LiveSite
) -> None:
    page = manager.page
    manager.open("security?tab=roles")
    manager.sign_in()
    page.get_by_role("button", name="Add role").click()
    page.get_by_label("Role name").fill("publishers")
    page.get_by_label("Description").fill("People who publish")
    page.get_by_label("Privilege").select_option("PUBLISH")
    page.get_by_role("button", name="Add", exact=True).click()
    page.get_by_role("status").filter(has_text="Role publishers added.").wait_for()
    row = page.get_by_role("row").filter(has_text="publishers")
    expect(row).to_contain_text("PUBLISH", timeout=TIMEOUT)
    manager.shot("roles")
    manager.check_accessibility()

    tab(page, "Users")
    page.get_by_role("button", name="Add user").click()
    page.get_by_label("Username").fill("pat")
    page.get_by_label(re.compile("^Password")).fill(PAT_PASSWORD)
    page.get_by_label("Confirm password").fill(PAT_PASSWORD)
    page.get_by_label("Full name").fill("Pat Publisher")
    page.get_by_label("Email").fill("pat@example.com")
    page.get_by_role("button", name="Add", exact=True).click()
    page.get_by_role("status").filter(has_text="User pat added.").wait_for()
    manager.shot("users")
    manager.check_accessibility()

    page.get_by_role("link", name="pat", exact=True).click()
    page.get_by_role("heading", name="User pat").wait_for()
    page.get_by_label("Role to assign").select_option("publishers")
    page.get_by_role("button", name="Assign role").click()
    page.get_by_role("status").filter(has_text="Role publishers assigned.").wait_for()
    expect(page.get_by_text("Privilege: PUBLISH")).to_be_visible(timeout=TIMEOUT)
    manager.shot("user")
    manager.check_accessibility()
    assert api(site, "/security/users/getRoles", username="pat")["roles"] == ["publishers"]
    assert api(site, "/security/users/getPrivilege", username="pat") == {"privilege": "PUBLISH"}
    user = api(site, "/security/users/search", filter="pat")["users"][0]
    assert user["fullname"] == "Pat Publisher" and user["email"] == "pat@example.com"

    page.get_by_role("link", name="publishers").click()
    page.get_by_role("heading", name="Role publishers").wait_for()
    expect(page.get_by_role("row").filter(has_text="pat")).to_be_visible(timeout=TIMEOUT)
    manager.shot("role")
    manager.check_accessibility()

    sign_out(manager)
    manager.sign_in("pat", PAT_PASSWORD)
    assert page.get_by_text("pat (publish)").is_visible()
    links = section_links(page)
    assert {"Services", "Publish", "Logs"} <= set(links)  # a publisher reads the logs too
    assert not {"Security", "Site"} & set(links)
    manager.go("Logs")  # without a machine list, which is the administrators'
    page.get_by_role("table").first.wait_for()
    manager.check_accessibility()
    manager.open("security")  # typed by hand: not a page a publisher has
    expect(page.get_by_text("There is no such page in the Manager.")).to_be_visible(timeout=TIMEOUT)

    # A user whose roles give only ACCESS: the Manager is for publishers and administrators.
    add_account(site, "reader", "reader-Password-1", "readers", "ACCESS")
    sign_out(manager)
    alert = try_sign_in(manager, "reader", "reader-Password-1")
    assert "no administrative or publisher privileges" in alert.inner_text()
    manager.shot("access-only")
    assert not page.get_by_role("button", name="Sign out").is_visible()


def test_a_reset_password_and_a_disabled_account(manager: Manager, site: LiveSite) -> None:
    add_account(site, "pat", PAT_PASSWORD, "publishers", "PUBLISH")
    add_account(site, "alex", ALEX_PASSWORD, "admins", "ADMINISTER")
    page = manager.page
    manager.open("security?tab=users&user=pat")
    manager.sign_in()
    page.get_by_label(re.compile("^New password")).fill("pat-New-Password-2")
    page.get_by_label("Confirm new password").fill("pat-New-Password-2")
    page.get_by_role("button", name="Reset password").click()
    page.get_by_role("status").filter(has_text="password of pat was reset").wait_for()
    sign_out(manager)
    manager.sign_in("pat", "pat-New-Password-2")
    assert page.get_by_text("pat (publish)").is_visible()
    old = httpx.post(
        site.admin + "/generateToken",
        data={"username": "pat", "password": PAT_PASSWORD, "client": "requestip", "f": "json"},
    ).json()
    assert old["status"] == "error"

    # Any other user is disabled with users/update's `disabled`: pat's session ends.
    sign_out(manager)
    manager.sign_in("alex", ALEX_PASSWORD)
    manager.open("security?tab=users&user=pat")
    page.get_by_role("button", name="Disable").click()
    page.get_by_role("dialog").get_by_role("button", name="Disable").click()
    page.get_by_role("status").filter(has_text="pat is disabled.").wait_for()
    found = api(site, "/security/users/search", site.token("alex", ALEX_PASSWORD), filter="pat")
    assert found["users"][0]["disabled"] is True
    sign_out(manager)
    alert = try_sign_in(manager, "pat", "pat-New-Password-2")
    assert "Invalid username or password" in alert.inner_text()
    manager.sign_in("alex", ALEX_PASSWORD)
    manager.open("security?tab=users&user=pat")
    page.get_by_role("button", name="Enable").click()
    page.get_by_role("status").filter(has_text="pat is enabled.").wait_for()

    # The primary site administrator is disabled with psa/disable, once another user
    # administers the site.
    manager.open(f"security?tab=users&user={ADMIN_USER}")
    page.get_by_role("button", name="Disable").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("ADMINISTER privilege", timeout=TIMEOUT)
    manager.shot("disable")
    dialog.get_by_role("button", name="Disable").click()
    page.get_by_role("status").filter(has_text=f"{ADMIN_USER} is disabled.").wait_for()
    psa = api(site, "/security/psa", site.token("alex", ALEX_PASSWORD))
    assert psa == {"username": ADMIN_USER, "disabled": True}
    sign_out(manager)
    alert = try_sign_in(manager, ADMIN_USER, ADMIN_PASSWORD)
    assert "Invalid username or password" in alert.inner_text()
    manager.shot("disabled-refused")
    manager.sign_in("alex", ALEX_PASSWORD)  # and enabled again
    manager.open(f"security?tab=users&user={ADMIN_USER}")
    page.get_by_role("button", name="Enable").click()
    page.get_by_role("status").filter(has_text=f"{ADMIN_USER} is enabled.").wait_for()
    assert api(site, "/security/psa")["disabled"] is False


def test_an_expired_token_asks_to_sign_in_and_the_action_completes(
    manager: Manager, site: LiveSite
) -> None:
    page = manager.page
    manager.open("security?tab=roles")
    manager.sign_in()
    page.get_by_role("button", name="Add role").click()
    page.get_by_label("Role name").fill("late")
    page.get_by_label("Description").fill("Typed before the token expired")
    site.clock.advance(minutes=61)  # the Manager's token lasts an hour
    page.get_by_role("button", name="Add", exact=True).click()
    dialog = page.get_by_role("dialog", name="Sign in again")
    dialog.wait_for()
    expect(dialog).to_contain_text("Token", timeout=TIMEOUT)
    manager.shot("expired")
    manager.check_accessibility()
    reauthenticate(page, ADMIN_PASSWORD)
    dialog.wait_for(state="hidden")
    page.get_by_role("status").filter(has_text="Role late added.").wait_for()
    assert "tab=roles" in page.url
    roles = api(site, "/security/roles/search", filter="late")["roles"]
    assert roles == [{"rolename": "late", "description": "Typed before the token expired"}]


def test_a_revoked_token_asks_to_sign_in_again(manager: Manager, site: LiveSite) -> None:
    add_account(site, "alex", ALEX_PASSWORD, "admins", "ADMINISTER")
    page = manager.page
    manager.open("security")
    manager.sign_in("alex", ALEX_PASSWORD)
    page.get_by_role("link", name="alex", exact=True).wait_for()
    # A script changes alex's password: the token of alex's session ends.
    ok(api(site, "/security/users/update", username="alex", password="alex-Password-2"))
    tab(page, "Roles")
    dialog = reauthenticate(page, "alex-Password-2")
    dialog.wait_for(state="hidden")
    page.get_by_role("link", name="admins").wait_for()
    assert "tab=roles" in page.url

    # alex is removed: the next action asks again, alex is refused, another account goes on.
    ok(api(site, "/security/users/remove", username="alex"))
    tab(page, "Users")
    reauthenticate(page, "alex-Password-2")
    expect(dialog.get_by_role("alert")).to_contain_text("Invalid username", timeout=TIMEOUT)
    reauthenticate(page, ADMIN_PASSWORD, username=ADMIN_USER)
    dialog.wait_for(state="hidden")
    page.get_by_role("link", name=ADMIN_USER, exact=True).wait_for()
    assert page.get_by_text(f"{ADMIN_USER} (administer)").is_visible()


def test_the_token_and_password_policies(manager: Manager, site: LiveSite) -> None:
    page = manager.page
    manager.open("security?tab=policies")
    manager.sign_in()
    page.get_by_label("Default token lifetime (minutes)").fill("30")
    page.get_by_label("Longest token lifetime (minutes)").fill("600")
    page.get_by_role("button", name="Save token configuration").click()
    page.get_by_role("status").filter(has_text="Token configuration saved.").wait_for()
    properties = api(site, "/security/tokens")["properties"]
    assert properties["shortTimeout"] == "30" and properties["longTimeout"] == "600"
    assert properties["allowHttpGet"] == "false"

    page.get_by_label("Minimum length").fill("12")
    page.get_by_label("Minimum digits").fill("1")
    page.get_by_role("button", name="Save password policy").click()
    page.get_by_role("status").filter(has_text="Password policy saved.").wait_for()
    policy = api(site, "/security/passwordPolicy")["passwordPolicy"]
    assert policy["type"] == "custom" and policy["minLength"] == 12 and policy["minDigit"] == 1
    expect(page.get_by_label("Minimum length")).to_have_value("12", timeout=TIMEOUT)
    manager.shot("policies")
    manager.check_accessibility()

    # A password the policy refuses: the API's own message.
    tab(page, "Users")
    page.get_by_role("button", name="Add user").click()
    page.get_by_label("Username").fill("shorty")
    page.get_by_label(re.compile("^Password")).fill("short-pw")
    page.get_by_label("Confirm password").fill("short-pw")
    page.get_by_role("button", name="Add", exact=True).click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("at least 12 characters", timeout=TIMEOUT)

    tab(page, "Policies")
    page.get_by_role("button", name="Use the default policy").click()
    page.get_by_role("status").filter(has_text="default password policy").wait_for()
    assert api(site, "/security/passwordPolicy")["passwordPolicy"]["minLength"] == 8


def test_settings_warn_before_a_change_that_locks_the_person_out(
    manager: Manager, site: LiveSite
) -> None:
    page = manager.page
    before = api(site, "/security/config")
    manager.open("security?tab=settings")
    manager.sign_in()
    page.get_by_role("button", name="Save settings").wait_for()
    manager.shot("settings")
    manager.check_accessibility()

    # HTTPS only while the Manager is open over http://: a warning; Cancel changes nothing.
    page.get_by_label("HTTPS only", exact=True).check()
    page.get_by_role("button", name="Save settings").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("over plain HTTP", timeout=TIMEOUT)
    manager.shot("https-warning")
    manager.check_accessibility()
    dialog.get_by_role("button", name="Cancel").click()
    dialog.wait_for(state="hidden")
    assert api(site, "/security/config") == before

    # An admin address list: a warning; one without this address is refused by the server.
    page.get_by_label("HTTP and HTTPS", exact=True).check()
    addresses = page.get_by_label("Addresses allowed to use the Administrator API")
    addresses.fill("10.0.0.0/8")
    page.get_by_role("button", name="Save settings").click()
    expect(dialog).to_contain_text("locked out", timeout=TIMEOUT)
    dialog.get_by_role("button", name="Save anyway").click()
    expect(page.get_by_role("alert")).to_contain_text("lock you out", timeout=TIMEOUT)
    assert api(site, "/security/config") == before
    addresses.fill("127.0.0.1\n10.0.0.0/8")
    page.get_by_role("button", name="Save settings").click()
    dialog.get_by_role("button", name="Save anyway").click()
    page.get_by_role("status").filter(has_text="Security configuration saved").wait_for()
    after = api(site, "/security/config")
    assert after["allowedAdminAccessIPs"] == "127.0.0.1/32,10.0.0.0/8"
    assert after["sslEnabled"] and after["httpEnabled"]

    # HTTPS only, confirmed: saved, and the Manager says where to go on (not an error).
    page.get_by_label("HTTPS only", exact=True).check()
    page.get_by_role("button", name="Save settings").click()
    expect(dialog).to_contain_text("over plain HTTP", timeout=TIMEOUT)
    dialog.get_by_role("button", name="Save anyway").click()
    expect(page.get_by_text("accepts tokens only over HTTPS")).to_be_visible(timeout=TIMEOUT)
    manager.shot("https-only")
    # Over HTTPS, as the site now asks, a script sees the change.
    login = {"username": ADMIN_USER, "password": ADMIN_PASSWORD, "client": "requestip"}
    https = site.https + "/arcgis/admin"
    token = httpx.post(https + "/generateToken", data={**login, "f": "json"}, verify=False)
    now = httpx.post(
        https + "/security/config",
        data={"f": "json", "token": token.json()["token"]},
        verify=False,
    ).json()
    assert now["sslEnabled"] is True and now["httpEnabled"] is False
