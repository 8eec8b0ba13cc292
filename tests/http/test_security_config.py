"""``/admin/security/config`` (HTTPS only, admin protocol and addresses) and the password policy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite


@pytest.fixture
def https(fresh_site: LiveSite) -> Iterator[httpx.Client]:
    """A client of the site's HTTPS listener (self-signed certificate)."""
    with httpx.Client(base_url=fresh_site.https, verify=False, timeout=30) as client:
        yield client


def _admin_token(client: httpx.Client) -> str:
    answer = client.post(
        "/arcgis/admin/generateToken",
        data={"username": ADMIN_USER, "password": ADMIN_PASSWORD, "client": "requestip",
              "f": "json"},
    ).json()  # fmt: skip
    return str(answer["token"])


def _update(client: httpx.Client, token: str, **config: Any) -> dict[str, Any]:
    return client.post(  # type: ignore[no-any-return]
        "/arcgis/admin/security/config/update",
        data={"f": "json", "token": token, "securityConfig": json.dumps(config)},
    ).json()


def _config(client: httpx.Client, token: str) -> dict[str, Any]:
    params = {"f": "json", "token": token}
    return client.get("/arcgis/admin/security/config", params=params).json()  # type: ignore[no-any-return]


def _ssl_required(response: httpx.Response) -> bool:
    body = response.json()
    return body.get("error", body).get("code") == 403 and "SSL Required" in response.text


def test_default_configuration(https: httpx.Client) -> None:
    config = _config(https, _admin_token(https))
    assert config["sslEnabled"] is True and config["httpEnabled"] is True
    assert config["protocol"] == "HTTP and HTTPS"
    assert config["securityEnabled"] is True and config["authenticationTier"] == "GIS_SERVER"
    assert config["allowedAdminAccessProtocol"] == "HTTP_AND_HTTPS"
    assert config["allowedAdminAccessIPs"] == ""


def test_https_only(fresh_site: LiveSite, https: httpx.Client) -> None:
    token = _admin_token(https)
    http_token = fresh_site.token()  # issued over HTTP before the change
    assert _update(https, token, sslEnabled=True, httpEnabled=False) == {"status": "success"}
    assert _config(https, token)["protocol"] == "HTTPS only"
    port = fresh_site.https.rsplit(":", 1)[1]
    # People and anonymous reads move to HTTPS, with their path and query.
    moved = httpx.get(fresh_site.http + "/arcgis/rest/services", params={"f": "json"})
    assert moved.status_code == 301
    assert moved.headers["location"] == (f"https://127.0.0.1:{port}/arcgis/rest/services?f=json")
    followed = httpx.get(moved.headers["location"], verify=False).json()
    assert "services" in followed
    page = httpx.get(fresh_site.admin + "/")
    assert page.status_code == 301 and page.headers["location"].startswith("https://")
    # Tokens and passwords over HTTP are refused, wherever they come from.
    for request in (
        lambda: httpx.get(fresh_site.admin + "/", params={"f": "json", "token": http_token}),
        lambda: httpx.get(
            fresh_site.http + "/arcgis/rest/services",
            params={"f": "json"},
            headers={"X-Esri-Authorization": f"Bearer {http_token}"},
        ),
        lambda: httpx.post(
            fresh_site.http + "/arcgis/tokens/generateToken",
            data={"username": ADMIN_USER, "password": ADMIN_PASSWORD, "f": "json"},
        ),
        lambda: httpx.post(
            fresh_site.admin + "/generateToken",
            data={"username": ADMIN_USER, "password": ADMIN_PASSWORD, "f": "json"},
        ),
        lambda: httpx.post(fresh_site.admin + "/security/config", data={"f": "json"}),
    ):
        response = request()
        assert response.status_code != 301 and _ssl_required(response), response.text
        assert "token" not in response.json()
    # HTTPS keeps working, and the token issued over HTTP works there.
    assert _config(https, http_token)["httpEnabled"] is False
    # Back to HTTP and HTTPS (the change is made over HTTPS).
    assert _update(https, token, httpEnabled=True) == {"status": "success"}
    assert httpx.get(fresh_site.admin + "/", params={"f": "json", "token": http_token}).json()[
        "currentVersion"
    ]


def test_admin_over_https_only(fresh_site: LiveSite, https: httpx.Client) -> None:
    token = _admin_token(https)
    assert _update(https, token, allowedAdminAccessProtocol="HTTPS") == {"status": "success"}
    refused = httpx.get(fresh_site.admin + "/machines", params={"f": "json", "token": token})
    assert _ssl_required(refused)
    public = httpx.post(
        fresh_site.http + "/arcgis/tokens/generateToken",
        data={"username": ADMIN_USER, "password": ADMIN_PASSWORD, "f": "json"},
    ).json()
    assert public["token"]  # the public token service and REST still answer over HTTP
    assert _config(https, token)["allowedAdminAccessProtocol"] == "HTTPS"


def test_admin_addresses(fresh_site: LiveSite, https: httpx.Client) -> None:
    token = _admin_token(https)
    locked_out = _update(https, token, allowedAdminAccessIPs="10.0.0.0/8")
    assert locked_out["status"] == "error" and "lock you out" in locked_out["messages"][0]
    assert _update(https, token, allowedAdminAccessIPs="127.0.0.1, 10.1.0.0/16") == {
        "status": "success"
    }
    assert _config(https, token)["allowedAdminAccessIPs"] == "127.0.0.1/32,10.1.0.0/16"
    other = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"))
    with other:
        answer = other.get(fresh_site.admin + "/machines", params={"f": "json", "token": token})
        assert answer.json()["code"] == 403
        rest = other.get(fresh_site.http + "/arcgis/rest/services", params={"f": "json"})
        assert "services" in rest.json()
    assert _update(https, token, allowedAdminAccessIPs="") == {"status": "success"}


@pytest.mark.parametrize(
    "config",
    [
        {"sslEnabled": False, "httpEnabled": False},
        {"securityEnabled": False},
        {"authenticationTier": "WEB_ADAPTOR"},
        {"userStoreConfig": {"type": "LDAP", "properties": {}}},
        {"allowedAdminAccessProtocol": "FTP"},
        {"sslEnabled": False, "allowedAdminAccessProtocol": "HTTPS"},
        {"allowedAdminAccessIPs": "not-an-address"},
        {"sslEnabled": "perhaps"},
    ],
)
def test_refused_configurations(https: httpx.Client, config: dict[str, Any]) -> None:
    token = _admin_token(https)
    before = _config(https, token)
    answer = _update(https, token, **config)
    assert answer["status"] == "error" and answer["code"] == 400
    assert _config(https, token) == before


def test_password_policy(fresh_site: LiveSite) -> None:
    token = fresh_site.token()

    def call(path: str, **data: Any) -> dict[str, Any]:
        fields = {"f": "json", "token": token, **data}
        return httpx.post(fresh_site.admin + path, data=fields).json()  # type: ignore[no-any-return]

    assert call("/security/passwordPolicy")["passwordPolicy"]["type"] == "default"
    policy = {"minLength": 10, "minUpper": 1, "minDigit": "2"}
    answer = call("/security/passwordPolicy/update", passwordPolicy=json.dumps(policy))
    assert answer == {"status": "success"}
    shown = call("/security/passwordPolicy")["passwordPolicy"]
    assert shown == {"type": "custom", "minLength": 10, "minUpper": 1, "minLower": 0,
                     "minDigit": 2, "minOther": 0}  # fmt: skip
    weak = call("/security/users/add", username="u1", password="password12")
    assert weak["status"] == "error"
    assert weak["messages"] == ["The password needs at least 1 upper-case letters."]
    assert call("/security/users/add", username="u1", password="Short1")["status"] == "error"
    assert call("/security/users/add", username="u1", password="Password12") == {
        "status": "success"
    }
    refused = call("/security/users/changePassword", username="u1", password="password")
    assert refused["status"] == "error"
    for bad in ({"minLength": 3}, {"minUpper": "x"}, {"maxAge": 1}, ["minLength"]):
        answer = call("/security/passwordPolicy/update", passwordPolicy=json.dumps(bad))
        assert answer["status"] == "error" and answer["code"] == 400, bad
    # Flat fields work too; and "type": "default" restores the default.
    assert call("/security/passwordPolicy/update", minOther="1")["status"] == "success"
    assert call("/security/passwordPolicy")["passwordPolicy"]["minOther"] == 1
    reset = call("/security/passwordPolicy/update", passwordPolicy='{"type": "default"}')
    assert reset["status"] == "success"
    assert call("/security/passwordPolicy")["passwordPolicy"]["minLength"] == 8
