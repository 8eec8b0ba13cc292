"""A machine that belongs to no site, and createNewSite over the API (the classic script)."""

import json
from pathlib import Path

import httpx
import pytest

from tests.conftest import MACHINE, LiveSite, make_site

NO_SITE = (
    f"Server machine '{MACHINE}' does not participate in any Site. "
    "Create a new Site or join an existing Site."
)


@pytest.fixture
def bare(tmp_path: Path):  # type: ignore[no-untyped-def]
    live = make_site(tmp_path / "machine", create=False)
    yield live
    live.stop()


def test_no_site_answers(bare: LiveSite) -> None:
    for path in ("/", "/machines", "/generateToken"):
        body = httpx.post(bare.admin + path, data={"f": "json"}).json()
        assert body == {"status": "error", "code": 404, "messages": [NO_SITE]}, path
    page = httpx.get(bare.admin + "/")
    assert page.status_code == 404 and 'href="/arcgis/admin/createNewSite"' in page.text
    assert httpx.get(bare.http + "/arcgis/rest/info/healthCheck?f=json").json() == {
        "success": True,
        "siteCreated": False,
    }


def test_create_new_site_like_the_classic_script(bare: LiveSite, tmp_path: Path) -> None:
    store = tmp_path / "config-store"
    directories = {
        "directories": [
            {
                "name": "arcgiscache",
                "physicalPath": str(tmp_path / "d" / "cache"),
                "directoryType": "CACHE",
                "cleanupMode": "NONE",
                "maxFileAge": 0,
                "description": "c",
            },
            {
                "name": "arcgisoutput",
                "physicalPath": str(tmp_path / "d" / "output"),
                "directoryType": "OUTPUT",
                "cleanupMode": "TIME_ELAPSED_SINCE_LAST_MODIFIED",
                "maxFileAge": 10,
                "description": "o",
            },
        ]
    }
    answer = httpx.post(
        bare.admin + "/createNewSite?f=json",
        data={
            "username": "psa",
            "password": "a-long-password",
            "configStoreConnection": json.dumps(
                {"type": "FILESYSTEM", "connectionString": str(store)}
            ),
            "directories": json.dumps(directories),
            "settings": json.dumps({"logLevel": "INFO", "maxLogFileAge": 30}),
            "cluster": "",
            "f": "json",
        },
    )
    assert answer.json() == {"status": "success"}
    assert (store / "site.db").exists()
    assert (tmp_path / "d" / "output").is_dir()
    unauthenticated = httpx.get(bare.admin + "/", params={"f": "json"}).json()
    assert unauthenticated["code"] == 499
    token = bare.token("psa", "a-long-password")
    dirs = httpx.get(
        bare.admin + "/system/directories", params={"f": "json", "token": token}
    ).json()["directories"]
    assert [d["name"] for d in dirs] == ["arcgiscache", "arcgisoutput"]
    settings = httpx.get(
        bare.admin + "/logs/settings", params={"f": "json", "token": token}
    ).json()["settings"]
    assert settings["logLevel"] == "INFO" and settings["maxLogFileAge"] == 30
    # No SYSTEM directory: no service data, so nothing in the quarantine (issue 16).
    quarantine = httpx.get(
        bare.admin + "/system/quarantine", params={"f": "json", "token": token}
    ).json()
    assert quarantine.get("entries") == [], quarantine
    # Once the site exists, createNewSite is an admin route: no token, no answer.
    again = httpx.post(
        bare.admin + "/createNewSite",
        data={"username": "x", "password": "another-password", "f": "json"},
    )
    assert again.json()["status"] == "error" and again.json()["code"] == 499
    again = httpx.post(
        bare.admin + "/createNewSite",
        data={"username": "x", "password": "another-password", "f": "json", "token": token},
    )
    assert again.json()["status"] == "error" and again.json()["code"] == 409


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"password": "a-long-password"}, 400),
        ({"username": "psa"}, 400),
        ({"username": "psa", "password": "short"}, 400),
        ({"username": "bad name<", "password": "a-long-password"}, 400),
        (
            {
                "username": "psa",
                "password": "a-long-password",
                "configStoreConnection": '{"type":"ORACLE"}',
            },
            400,
        ),
        ({"username": "psa", "password": "a-long-password", "directories": "[1,2]"}, 400),
        (
            {
                "username": "psa",
                "password": "a-long-password",
                "logsSettings": '{"logLevel":"LOUD"}',
            },
            400,
        ),
    ],
)
def test_create_new_site_validation(bare: LiveSite, data: dict, code: int) -> None:  # type: ignore[type-arg]
    body = httpx.post(bare.admin + "/createNewSite", data={**data, "f": "json"}).json()
    assert body["status"] == "error" and body["code"] == code, body
    assert not (bare.data_dir / "machine.json").exists()
