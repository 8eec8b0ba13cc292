"""The token service: generateToken, where tokens travel, expiry, binding, lockout."""

import time

import httpx
import pytest

from geosite.core.models import User
from geosite.core.passwords import hash_password
from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite

CREDS = {"username": ADMIN_USER, "password": ADMIN_PASSWORD, "f": "json"}


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@pytest.mark.parametrize(
    "path",
    [
        "/arcgis/admin/generateToken",
        "/arcgis/tokens/generateToken",
        "/arcgis/tokens/",
        "/arcgis/tokens",
    ],
)
def test_generate_token_everywhere(site: LiveSite, path: str) -> None:
    answer = httpx.post(
        site.http + path, data={**CREDS, "client": "requestip"}, follow_redirects=False
    )
    body = answer.json()
    assert set(body) == {"token", "expires", "ssl"}
    assert body["ssl"] is False
    assert abs(body["expires"] - (_now_ms() + 60 * 60_000)) < 60_000


def test_ssl_flag_over_https(site: LiveSite) -> None:
    body = httpx.post(site.https + "/arcgis/tokens/", data=CREDS, verify=False).json()
    assert body["ssl"] is True


@pytest.mark.parametrize(("asked", "minutes"), [("5", 5), ("20160", 1440), ("-1", 60), ("", 60)])
def test_expiration_is_capped(site: LiveSite, asked: str, minutes: int) -> None:
    body = httpx.post(site.http + "/arcgis/tokens/", data={**CREDS, "expiration": asked}).json()
    assert abs(body["expires"] - (_now_ms() + minutes * 60_000)) < 60_000


def test_bad_expiration(site: LiveSite) -> None:
    body = httpx.post(site.http + "/arcgis/tokens/", data={**CREDS, "expiration": "soon"}).json()
    assert body["error"]["code"] == 400


def test_get_with_credentials_is_refused(site: LiveSite) -> None:
    body = httpx.get(site.http + "/arcgis/tokens/generateToken", params=CREDS).json()
    assert body["error"]["code"] == 405
    assert body["error"]["details"] == [
        "Generate Token request should not contain username and password in the query string."
    ]
    admin = httpx.get(site.admin + "/generateToken", params=CREDS).json()
    assert admin["status"] == "error" and admin["code"] == 405


def test_get_without_credentials_says_what_is_wrong(site: LiveSite) -> None:
    """A GET with no credentials is told to POST, not that it sent credentials (issue 17)."""
    body = httpx.get(site.http + "/arcgis/tokens/generateToken", params={"f": "json"}).json()
    assert body["error"]["code"] == 405
    (detail,) = body["error"]["details"]
    assert "only POST" in detail and "query string" not in detail
    admin = httpx.get(site.admin + "/generateToken", params={"f": "json"}).json()
    assert admin["code"] == 405 and "only POST" in admin["messages"][-1], admin


def test_post_with_password_in_url_is_refused(site: LiveSite) -> None:
    answer = httpx.post(site.http + "/arcgis/tokens/generateToken", params=CREDS)
    assert answer.json()["error"]["code"] == 405


def test_generate_token_form_page(site: LiveSite) -> None:
    page = httpx.get(site.http + "/arcgis/tokens/generateToken")
    assert page.headers["content-type"].startswith("text/html")
    assert 'name="password"' in page.text and 'method="post"' in page.text


def test_wrong_credentials_get_one_answer(fresh_site: LiveSite) -> None:
    wrong = httpx.post(
        fresh_site.http + "/arcgis/tokens/", data={**CREDS, "password": "nope-nope"}
    ).json()
    unknown = httpx.post(
        fresh_site.http + "/arcgis/tokens/", data={**CREDS, "username": "ghost"}
    ).json()
    assert (
        wrong
        == unknown
        == {
            "error": {
                "code": 400,
                "message": "Unable to generate token.",
                "details": ["Invalid username or password."],
            }
        }
    )
    admin = httpx.post(
        fresh_site.admin + "/generateToken", data={**CREDS, "username": "ghost"}
    ).json()
    assert admin == {
        "status": "error",
        "code": 400,
        "messages": ["Unable to generate token.", "Invalid username or password."],
    }


@pytest.mark.parametrize("how", ["query", "form", "esri-header", "bearer-header"])
def test_token_sources(site: LiveSite, admin_token: str, how: str) -> None:
    url, params, data, headers = site.admin + "/machines", {"f": "json"}, None, {}
    if how == "query":
        params["token"] = admin_token
    elif how == "form":
        data = {"token": admin_token}
    elif how == "esri-header":
        headers["X-Esri-Authorization"] = f"Bearer {admin_token}"
    else:
        headers["Authorization"] = f"Bearer {admin_token}"
    answer = httpx.post(url, params=params, data=data, headers=headers)
    assert "machines" in answer.json()


def test_missing_token(site: LiveSite) -> None:
    assert httpx.get(site.admin + "/machines", params={"f": "json"}).json() == {
        "status": "error",
        "code": 499,
        "messages": [
            "Unauthorized access. Token not found. You can generate a token using the "
            "'generateToken' operation."
        ],
    }


def test_tampered_token(site: LiveSite, admin_token: str) -> None:
    forged = admin_token[:-4] + ("AAAA" if not admin_token.endswith("AAAA") else "BBBB")
    body = httpx.get(site.admin + "/machines", params={"f": "json", "token": forged}).json()
    assert body == {
        "status": "error",
        "code": 498,
        "messages": ["Could not decrypt token. Token may not be valid."],
    }


def test_expired_token(fresh_site: LiveSite) -> None:
    token = httpx.post(
        fresh_site.admin + "/generateToken", data={**CREDS, "expiration": "5"}
    ).json()["token"]
    ok = httpx.get(fresh_site.admin + "/machines", params={"f": "json", "token": token}).json()
    assert "machines" in ok
    fresh_site.clock.advance(minutes=6)
    body = httpx.get(fresh_site.admin + "/machines", params={"f": "json", "token": token}).json()
    assert body == {"status": "error", "code": 498, "messages": ["Token Expired."]}


def test_token_bound_to_another_ip(site: LiveSite) -> None:
    token = httpx.post(
        site.admin + "/generateToken", data={**CREDS, "client": "ip", "ip": "10.9.9.9"}
    ).json()["token"]
    body = httpx.get(site.admin + "/machines", params={"f": "json", "token": token}).json()
    assert body == {
        "status": "error",
        "code": 498,
        "messages": ["Invalid token, ClientID does not match."],
    }


def test_token_bound_to_a_referer(site: LiveSite) -> None:
    token = httpx.post(
        site.http + "/arcgis/tokens/",
        data={**CREDS, "client": "referer", "referer": "https://app.example/"},
    ).json()["token"]
    good = httpx.get(
        site.admin + "/machines",
        params={"f": "json", "token": token},
        headers={"Referer": "https://app.example/viewer.html"},
    ).json()
    assert "machines" in good
    for referer in ("https://evil.example/", None):
        headers = {"Referer": referer} if referer else {}
        bad = httpx.get(
            site.admin + "/machines", params={"f": "json", "token": token}, headers=headers
        ).json()
        assert bad["code"] == 498
        assert bad["messages"] == ["Invalid token, ClientID does not match."]


def test_ip_binding_on_the_python_api_referer(site: LiveSite) -> None:
    """The ArcGIS API for Python asks with referer=http and sends Referer: http."""
    token = httpx.post(
        site.http + "/arcgis/tokens/",
        data={**CREDS, "client": "referer", "referer": "http", "expiration": "60"},
    ).json()["token"]
    body = httpx.get(
        site.admin + "/machines",
        params={"f": "json"},
        headers={"X-Esri-Authorization": f"Bearer {token}", "Referer": "http"},
    )
    assert "machines" in body.json()


def test_password_change_ends_tokens(fresh_site: LiveSite) -> None:
    token = fresh_site.token()
    fresh_site.store.set_password(ADMIN_USER, hash_password("another-password"))
    body = httpx.get(fresh_site.admin + "/machines", params={"f": "json", "token": token}).json()
    assert body["code"] == 498


def test_access_users(fresh_site: LiveSite) -> None:
    """A user without administrative roles gets public tokens, not admin ones or admin access."""
    fresh_site.store.add_user(User("viewer", hash_password("viewer-password")))
    creds = {"username": "viewer", "password": "viewer-password", "f": "json"}
    admin = httpx.post(fresh_site.admin + "/generateToken", data=creds).json()
    assert admin["status"] == "error" and admin["code"] == 403
    token = httpx.post(fresh_site.http + "/arcgis/tokens/", data=creds).json()["token"]
    body = httpx.get(fresh_site.admin + "/machines", params={"f": "json", "token": token}).json()
    assert body["code"] == 403


@pytest.mark.parametrize("username", [ADMIN_USER, "no-such-user"])
def test_lockout_after_repeated_failures(fresh_site: LiveSite, username: str) -> None:
    for _ in range(5):
        httpx.post(
            fresh_site.http + "/arcgis/tokens/",
            data={**CREDS, "username": username, "password": "bad-password"},
        )
    locked = httpx.post(
        fresh_site.http + "/arcgis/tokens/", data={**CREDS, "username": username}
    ).json()
    assert locked["error"]["code"] == 400
    assert locked["error"]["details"] == ["Too many failed login attempts. Try again later."]
    fresh_site.clock.advance(minutes=16)
    if username == ADMIN_USER:
        assert "token" in httpx.post(fresh_site.http + "/arcgis/tokens/", data=CREDS).json()
    else:
        again = httpx.post(
            fresh_site.http + "/arcgis/tokens/", data={**CREDS, "username": username}
        ).json()
        assert again["error"]["details"] == ["Invalid username or password."]


def test_lockout_is_per_account(fresh_site: LiveSite) -> None:
    for _ in range(5):
        httpx.post(
            fresh_site.http + "/arcgis/tokens/",
            data={**CREDS, "username": "someone-else", "password": "bad-password"},
        )
    assert "token" in httpx.post(fresh_site.http + "/arcgis/tokens/", data=CREDS).json()


def test_token_post_without_username_is_an_error(site: LiveSite) -> None:
    body = httpx.post(site.http + "/arcgis/tokens/", data={"f": "json"}).json()
    assert body["error"]["code"] == 400


def test_a_successful_login_resets_the_failure_count(fresh_site: LiveSite) -> None:
    for _ in range(4):
        httpx.post(fresh_site.http + "/arcgis/tokens/", data={**CREDS, "password": "bad-one"})
    assert "token" in httpx.post(fresh_site.http + "/arcgis/tokens/", data=CREDS).json()
    for _ in range(4):
        httpx.post(fresh_site.http + "/arcgis/tokens/", data={**CREDS, "password": "bad-one"})
    assert "token" in httpx.post(fresh_site.http + "/arcgis/tokens/", data=CREDS).json()
