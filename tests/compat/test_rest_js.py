"""ArcGIS REST JS 4.10.2 (``@esri/arcgis-rest-request``, in Node) against a live site.

``js/token.mjs`` logs in with ``ArcGISIdentityManager({server, username, password})``,
reads ``/arcgis/admin/machines`` with the token (GET and POST), and tries a wrong
password; it prints what happened as one JSON document, which these tests check.
The packages come from ``js/package-lock.json``: ``make js-deps`` runs
``npm ci --prefix tests/compat/js``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, MACHINE, LiveSite

pytestmark = pytest.mark.compat

JS_DIR = Path(__file__).parent / "js"
SCRIPT = JS_DIR / "token.mjs"
PACKAGE = JS_DIR / "node_modules" / "@esri" / "arcgis-rest-request" / "package.json"
REST_JS_VERSION = "4.10.2"
# What REST JS asks for (tokenDuration defaults to 14 days) ...
REQUESTED_MINUTES = 20160
# ... and what the server grants at most (the token policy's longTimeout).
LONG_TIMEOUT_MINUTES = 1440
MINUTE_MS = 60_000
MACHINES = {
    "machines": [
        {"machineName": MACHINE, "adminURL": "http://testmachine.example:6080/arcgis/admin"}
    ]
}


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the ArcGIS REST JS tests need Node.js 18 or later")
    if not PACKAGE.is_file():
        pytest.skip(
            f"ArcGIS REST JS is not installed in {JS_DIR / 'node_modules'}: "
            "run `make js-deps` (npm ci --prefix tests/compat/js)"
        )
    return node


@pytest.fixture(scope="module")
def run(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Run the script once against the module's site; its parsed output."""
    node = _node()  # skip before starting a site for nothing
    site: LiveSite = request.getfixturevalue("site")
    env = {
        **os.environ,
        "GEOSITE_BASE": site.http,
        "GEOSITE_USERNAME": ADMIN_USER,
        "GEOSITE_PASSWORD": ADMIN_PASSWORD,
    }
    done = subprocess.run(
        [node, str(SCRIPT)],
        cwd=JS_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"node failed ({done.returncode}):\n{done.stderr}"
    output: dict[str, Any] = json.loads(done.stdout)
    output["finishedAt"] = time.time_ns() // 1_000_000
    return output


def test_pinned_version() -> None:
    _node()
    assert json.loads(PACKAGE.read_text())["version"] == REST_JS_VERSION


def test_login_returns_token_capped_at_long_timeout(run: dict[str, Any], site: LiveSite) -> None:
    login = run["login"]
    assert login["ok"], login
    assert isinstance(login["token"], str) and len(login["token"]) > 20
    assert login["tokenDuration"] == REQUESTED_MINUTES
    policy = httpx.get(
        site.admin + "/security/tokens", params={"f": "json", "token": site.token()}
    ).json()
    assert int(policy["properties"]["longTimeout"]) == LONG_TIMEOUT_MINUTES
    expires = login["tokenExpires"]  # epoch milliseconds, from the "expires" of the answer
    assert expires > run["finishedAt"]
    assert login["requestedAt"] + LONG_TIMEOUT_MINUTES * MINUTE_MS <= expires
    assert expires <= run["finishedAt"] + LONG_TIMEOUT_MINUTES * MINUTE_MS
    assert expires < login["requestedAt"] + REQUESTED_MINUTES * MINUTE_MS


def test_token_reads_admin_machines_by_get(run: dict[str, Any]) -> None:
    answer = run["machinesGET"]
    assert answer["ok"], answer
    assert answer["response"] == MACHINES


def test_token_reads_admin_machines_by_post(run: dict[str, Any]) -> None:
    answer = run["machinesPOST"]
    assert answer["ok"], answer
    assert answer["response"] == MACHINES


def test_unattached_token_gets_token_required(run: dict[str, Any]) -> None:
    """A manager bound to /arcgis/rest/services does not send its token to /arcgis/admin.

    REST JS looks up ``<url>/rest/info`` for a URL outside ``/rest/services``, gets an error
    and sends the request anonymously. The server must then answer with the Administrator
    API's 499, which REST JS reports as an error carrying that code.
    """
    answer = run["machinesRestServicesManager"]
    assert not answer["ok"]
    assert answer["error"]["code"] == 499
    assert answer["error"]["response"]["status"] == "error"


def test_wrong_password_rejects(run: dict[str, Any]) -> None:
    answer = run["wrongPassword"]
    assert not answer["ok"], "refreshCredentials() accepted a wrong password"
    assert answer["error"]["name"] == "ArcGISTokenRequestError"
    assert answer["error"]["code"] == "TOKEN_REFRESH_FAILED"
    assert answer["error"]["response"]["error"]["code"] == 400
    assert answer["error"]["response"]["error"]["message"] == "Unable to generate token."
