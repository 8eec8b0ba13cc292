"""Signing in and out of the Manager through the token service, in Chromium."""

from __future__ import annotations

import httpx

from tests.conftest import ADMIN_USER, LiveSite
from tests.manager.conftest import Manager


def test_page_is_served_under_a_strict_csp(site: LiveSite) -> None:
    answer = httpx.get(site.http + "/arcgis/manager/")
    assert answer.status_code == 200
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert answer.headers["cache-control"] == "no-store"
    assert "<script>" not in answer.text  # the only script is a file
    moved = httpx.get(site.http + "/arcgis/manager")
    assert moved.status_code == 302 and moved.headers["location"] == "/arcgis/manager/"
    missing = httpx.get(site.http + "/arcgis/manager/assets/nothing.js")
    assert missing.status_code == 404
    traversal = httpx.get(site.http + "/arcgis/manager/assets/..%2Fmanifest.json")
    assert traversal.status_code == 404


def test_sign_in_and_out(manager: Manager) -> None:
    manager.open()
    manager.shot("sign-in")
    manager.check_accessibility()
    manager.sign_in()
    assert manager.page.get_by_text(f"{ADMIN_USER} (administer)").is_visible()
    manager.shot("signed-in")
    manager.check_accessibility()
    cookie = [c for c in manager.page.context.cookies() if c["name"] == "geosite_manager_token"]
    assert cookie and cookie[0]["sameSite"] == "Strict" and cookie[0]["path"] == "/arcgis/manager"
    assert manager.page.evaluate("Object.keys(localStorage).length") == 0
    manager.page.reload()  # the cookie keeps the session
    manager.page.get_by_role("button", name="Sign out").click()
    manager.page.get_by_label("Password").wait_for()
    assert not [c for c in manager.page.context.cookies() if c["name"] == "geosite_manager_token"]


def test_wrong_password_shows_the_api_message(manager: Manager) -> None:
    manager.allow("status of 400|status of 401")  # the token service's answer, as to any client
    manager.open()
    manager.page.get_by_label("Username").fill(ADMIN_USER)
    manager.page.get_by_label("Password").fill("not the password")
    manager.page.get_by_role("button", name="Sign in").click()
    alert = manager.page.get_by_role("alert")
    alert.wait_for()
    assert "Unable to generate token" in alert.inner_text() or "Invalid" in alert.inner_text()
    manager.shot("wrong-password")
