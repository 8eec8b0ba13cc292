"""The Manager follows the Administrator API's transport rules: HTTPS only moves it to HTTPS
(where signing in works, with a Secure cookie), and the admin address list closes it."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from playwright.sync_api import Browser

from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite, make_site
from tests.manager.conftest import TIMEOUT


def _update(site: LiveSite, base: str, token: str, **config: object) -> None:
    answer = httpx.post(
        base + "/arcgis/admin/security/config/update",
        data={"f": "json", "token": token, "securityConfig": json.dumps(config)},
        verify=False,
    ).json()
    assert answer == {"status": "success"}, answer


def test_https_only_moves_the_manager_to_https(fresh_site: LiveSite, browser: Browser) -> None:
    token = httpx.post(
        fresh_site.https + "/arcgis/admin/generateToken",
        data={"username": ADMIN_USER, "password": ADMIN_PASSWORD, "client": "requestip",
              "f": "json"},
        verify=False,
    ).json()["token"]  # fmt: skip
    _update(fresh_site, fresh_site.https, token, sslEnabled=True, httpEnabled=False)
    moved = httpx.get(fresh_site.http + "/arcgis/manager/")
    assert moved.status_code == 301
    assert moved.headers["location"] == fresh_site.https + "/arcgis/manager/"
    context = browser.new_context(ignore_https_errors=True)
    context.set_default_timeout(TIMEOUT)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(fresh_site.http + "/arcgis/manager/")  # followed to HTTPS
        assert page.url.startswith(fresh_site.https)
        page.get_by_label("Username").fill(ADMIN_USER)
        page.get_by_label("Password").fill(ADMIN_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("button", name="Sign out").wait_for()
        cookie = [c for c in context.cookies() if c["name"] == "geosite_manager_token"]
        assert cookie and cookie[0]["secure"] and cookie[0]["sameSite"] == "Strict"
    finally:
        context.close()
    assert errors == []


def test_admin_address_list_closes_the_manager(tmp_path: Path) -> None:
    """Behind a trusted proxy, a person at an address the list leaves out gets the 403 page."""
    site = make_site(tmp_path / "site", trusted_proxies=("127.0.0.1/32",))
    try:
        _update(site, site.http, site.token(), allowedAdminAccessIPs="127.0.0.1,198.51.100.0/24")
        allowed = httpx.get(
            site.http + "/arcgis/manager/", headers={"X-Forwarded-For": "198.51.100.7"}
        )
        assert allowed.status_code == 200
        refused = httpx.get(
            site.http + "/arcgis/manager/", headers={"X-Forwarded-For": "203.0.113.50"}
        )
    finally:
        site.stop()
    assert refused.status_code == 403
    assert "not open to this address" in refused.text
    assert "<script" not in refused.text
