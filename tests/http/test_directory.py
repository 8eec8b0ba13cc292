"""The Administrator Directory: login, pages, forms with CSRF, escaping."""

import re

import httpx
import pytest

from geosite.core.models import Machine, User
from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite

HOSTILE = '<script>alert("x")</script>'
_CLIENTS: list[httpx.Client] = []


@pytest.fixture(autouse=True)
def _close_clients():  # type: ignore[no-untyped-def]
    yield
    while _CLIENTS:
        _CLIENTS.pop().close()


def _login(site: LiveSite, base: str | None = None) -> httpx.Client:
    client = httpx.Client(base_url=base or site.http, verify=False, follow_redirects=False)
    _CLIENTS.append(client)
    answer = client.post(
        "/arcgis/admin/login",
        data={
            "username": ADMIN_USER,
            "password": ADMIN_PASSWORD,
            "redirect": "/arcgis/admin/machines",
        },
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/arcgis/admin/machines"
    return client


def test_pages_redirect_to_login(site: LiveSite) -> None:
    answer = httpx.get(site.admin + "/machines", follow_redirects=False)
    assert answer.status_code == 302
    assert answer.headers["location"] == "/arcgis/admin/login?redirect=/arcgis/admin/machines"
    form = httpx.get(site.http + answer.headers["location"])
    assert 'name="password"' in form.text and 'type="password"' in form.text


def test_login_cookie_flags(site: LiveSite) -> None:
    client = _login(site)
    cookie = next(c for c in client.cookies.jar if c.name == "AGS_ADMIN_TOKEN")
    header = client.post(
        "/arcgis/admin/login", data={"username": ADMIN_USER, "password": ADMIN_PASSWORD}
    ).headers["set-cookie"]
    assert "HttpOnly" in header and "SameSite=strict" in header.replace("Strict", "strict")
    assert "Secure" not in header and cookie.path == "/arcgis"
    secure = httpx.post(
        site.https + "/arcgis/admin/login",
        verify=False,
        data={"username": ADMIN_USER, "password": ADMIN_PASSWORD},
    )
    assert "Secure" in secure.headers["set-cookie"]


def test_wrong_login_stays_on_the_form(site: LiveSite) -> None:
    answer = httpx.post(site.admin + "/login", data={"username": ADMIN_USER, "password": "no"})
    assert answer.status_code == 401
    assert "Invalid username or password." in answer.text


def test_open_redirects_are_refused(site: LiveSite) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/arcgis/..//evil"):
        answer = httpx.post(
            site.admin + "/login",
            data={"username": ADMIN_USER, "password": ADMIN_PASSWORD, "redirect": target},
        )
        assert answer.headers["location"] == "/arcgis/admin/"


def test_resource_page(site: LiveSite) -> None:
    client = _login(site)
    page = client.get("/arcgis/admin/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Logged in as" in page.text and ADMIN_USER in page.text
    for child in ("machines", "security", "services", "logs", "info"):
        assert f'href="/arcgis/admin/{child}"' in page.text
    assert 'href="/arcgis/admin/generateToken"' in page.text
    assert (
        'href="/arcgis/admin?f=pjson"' in page.text or 'href="/arcgis/admin/?f=pjson"' in page.text
    )
    machines = client.get("/arcgis/admin/machines")
    assert (
        '<a href="/arcgis/admin/">Home</a> &gt; <a href="/arcgis/admin/machines">' in machines.text
    )
    assert 'href="/arcgis/admin/machines/TESTMACHINE.EXAMPLE"' in machines.text


def test_html_security_headers(site: LiveSite) -> None:
    page = _login(site).get("/arcgis/admin/")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "http://" not in page.text.replace(site.http, "") or "https://" not in page.text


def _csrf(page: str) -> str:
    found = re.search(r'name="csrfToken" value="([^"]+)"', page)
    assert found, "form has no CSRF token"
    return found.group(1)


def test_operation_form_needs_csrf_with_a_cookie(site: LiveSite) -> None:
    client = _login(site)
    form = client.get("/arcgis/admin/security/users/search")
    assert '<form method="post"' in form.text and 'name="filter"' in form.text
    refused = client.post("/arcgis/admin/security/users/search", data={"filter": "site"})
    assert refused.status_code == 403
    refused_json = client.post(
        "/arcgis/admin/security/users/search",
        data={"filter": "site", "f": "json", "csrfToken": "forged"},
    )
    assert refused_json.json()["code"] == 403
    done = client.post(
        "/arcgis/admin/security/users/search",
        data={"filter": "site", "csrfToken": _csrf(form.text)},
    )
    assert done.status_code == 200 and "&#34;siteadmin&#34;" in done.text


def test_header_tokens_need_no_csrf(site: LiveSite, admin_token: str) -> None:
    answer = httpx.post(
        site.admin + "/security/users/search",
        data={"f": "json"},
        headers={"X-Esri-Authorization": f"Bearer {admin_token}"},
    )
    assert answer.json()["users"][0]["username"] == ADMIN_USER


def test_logout_clears_the_cookie(site: LiveSite) -> None:
    client = _login(site)
    answer = client.get("/arcgis/admin/logout")
    assert answer.status_code == 303 and answer.headers["location"] == "/arcgis/admin/login"
    assert "AGS_ADMIN_TOKEN" not in client.cookies
    assert client.get("/arcgis/admin/machines").status_code == 302


def test_hostile_values_are_escaped(fresh_site: LiveSite) -> None:
    fresh_site.store.add_user(User("mallory", "x", fullname=HOSTILE, email=HOSTILE))
    fresh_site.store.add_machine(
        Machine("EVIL", HOSTILE, 1, 1, platform=HOSTILE, properties={"ports": {HOSTILE: HOSTILE}})
    )
    client = _login(fresh_site)
    pages = [
        client.get("/arcgis/admin/machines").text,
        client.get("/arcgis/admin/machines/EVIL").text,
    ]
    form = client.get("/arcgis/admin/security/users/search").text
    pages.append(
        client.post(
            "/arcgis/admin/security/users/search",
            data={"filter": "mallory", "csrfToken": _csrf(form)},
        ).text
    )
    pages.append(client.get("/arcgis/admin/machines/" + HOSTILE).text)
    pages.append(client.get("/arcgis/admin/security/users/search", params={"filter": HOSTILE}).text)
    for page in pages:
        assert "<script>" not in page
    assert "&lt;script&gt;" in pages[1]


@pytest.mark.parametrize("path", ["/arcgis/admin/createNewSite", "/arcgis/admin/generateToken"])
def test_public_operation_forms(site: LiveSite, path: str) -> None:
    page = httpx.get(site.http + path)
    assert page.status_code == 200 and '<form method="post"' in page.text


def test_pages_read_well_as_text(site: LiveSite) -> None:
    """The page has its content in document order, without scripts (a text browser's view)."""
    page = _login(site).get("/arcgis/admin/machines").text
    assert "<script" not in page
    text = re.sub(r"<[^>]+>", " ", page)
    assert text.index("Machines") < text.index("TESTMACHINE.EXAMPLE")


def test_a_url_token_is_carried_through_links_and_forms(site: LiveSite, admin_token: str) -> None:
    page = httpx.get(site.admin + "/security/users", params={"token": admin_token})
    assert f'href="/arcgis/admin/security/users/search?token={admin_token}"' in page.text
    form = httpx.get(site.admin + "/security/users/search", params={"token": admin_token})
    assert f'name="token" value="{admin_token}"' in form.text
    done = httpx.post(
        site.admin + "/security/users/search", data={"token": admin_token, "filter": "site"}
    )
    assert done.status_code == 200 and "&#34;siteadmin&#34;" in done.text
