"""The authorization matrix: every Administrator API route, tried by every kind of caller.

Generated from the route table, so a new route is covered the day it is added. Each route is
called with no token, by an ACCESS user, by a PUBLISH user and by an administrator, and the
answer is checked against what its privilege allows:

* no token: ArcGIS's 499, except on the routes that must work before a login;
* ACCESS: 403 on every route that needs a privilege;
* PUBLISH: 403 on administrator routes and on services it did not publish; through elsewhere;
* ADMINISTER: through everywhere.

"Through" means the request passed authorization: the handler ran and answered (a result, or
a 400/404/409 about the request itself). Administrator operations are sent without their
parameters or to missing names, so the matrix changes nothing. The no-token row is also sent
in other spellings of each path (upper case, trailing slash, doubled slashes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from geosite.core.models import Machine, Privilege
from geosite.http.admin import ENDPOINTS
from geosite.http.rest import REST_ENDPOINTS
from geosite.http.routing import OPERATION, Endpoint
from tests.conftest import MACHINE, LiveSite, make_site
from tests.http.test_publishing import publish

PASSWORD = "Matrix-Password-1"
DENIED = {499, 498, 403}
#: Routes that answer without a token. ``logout`` only clears the caller's own cookie.
#: The public key is read before logging in, to encrypt the credentials (as on ArcGIS Server).
OPEN_ROUTES = {
    "/generateToken",
    "/login",
    "/logout",
    "/info/healthCheck",
    "/publicKey",
    "/joinInfo",  # what a machine shows to a machine that registers or joins it
}
#: Open only on a machine without a site; an administrator route once the site exists.
ADMIN_ONCE_SITE_EXISTS = {"/createNewSite", "/joinSite", "/acceptSite"}


USERS = {"ACCESS": "viewer", "PUBLISH": "publisher"}


@dataclass
class Matrix:
    site: LiveSite
    tokens: dict[str, str]
    item: str

    def fresh_token(self, caller: str) -> str:
        """A token of its own, for a route that ends the token it is given (logout)."""
        if caller == "ADMINISTER":
            return self.site.token()
        return _public_token(self.site, USERS[caller])


def _public_token(site: LiveSite, user: str) -> str:
    answer = httpx.post(
        site.http + "/arcgis/tokens/generateToken",
        data={"username": user, "password": PASSWORD, "client": "requestip", "f": "json"},
    ).json()
    return str(answer["token"])


def _points(tmp_path: Path) -> Path:
    path = tmp_path / "m.geojson"
    point = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [point]}))
    return path


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    folder = tmp_path_factory.mktemp("matrix")
    site = make_site(folder / "site")
    # A second machine: deleteSite, which an administrator may run, then refuses (only the
    # last machine deletes a site), and the matrix's site stays.
    site.store.add_machine(Machine("SECOND.MACHINE", "http://second:6080/arcgis/admin", 1, 1))
    admin = site.token()

    def post(path: str, **data: str) -> None:
        answer = httpx.post(site.admin + path, data={"f": "json", "token": admin, **data})
        assert answer.json().get("status") == "success", (path, answer.text)

    points = _points(folder)
    assert publish(site, admin, points, "Owned")["status"] == "success"
    assert publish(site, admin, points, "Inner", folder="Maps")["status"] == "success"
    upload = httpx.post(
        site.admin + "/uploads/upload",
        data={"f": "json", "token": admin},
        files={"itemFile": (points.name, points.read_bytes())},
    ).json()
    for privilege, user in USERS.items():
        role = user + "s"
        post("/security/roles/add", rolename=role)
        post("/security/roles/assignPrivilege", rolename=role, privilege=privilege)
        post("/security/users/add", username=user, password=PASSWORD)
        post("/security/roles/addUsersToRole", rolename=role, users=user)
    tokens = {"ADMINISTER": admin, **{k: _public_token(site, u) for k, u in USERS.items()}}
    # REST: a private service of the publisher's and a private one of the administrator's,
    # both allowed to the viewers role; "stranger" is an ACCESS user without that role.
    assert publish(site, tokens["PUBLISH"], points, "Theirs")["status"] == "success"
    assert publish(site, tokens["PUBLISH"], points, "Theirs", kind="MapServer")["status"] == (
        "success"
    )
    assert publish(site, admin, points, "Inner", "Maps", kind="MapServer")["status"] == "success"
    for service in (
        "Theirs.FeatureServer",
        "Maps/Inner.FeatureServer",
        "Theirs.MapServer",
        "Maps/Inner.MapServer",
    ):
        base = f"/services/{service}/permissions"
        post(base + "/add", principal="viewers", isAllowed="true")
        post(base + "/add", principal="esriEveryone", isAllowed="false")
    post("/security/users/add", username="stranger", password=PASSWORD)
    report = {"reportname": "matrixreport", "queries": [{"resourceURIs": ["services/"],
                                                         "metrics": ["RequestCount"]}]}  # fmt: skip
    post("/usagereports/add", usagereport=json.dumps(report))
    tokens["stranger"] = _public_token(site, "stranger")
    try:
        yield Matrix(site, tokens, upload["item"]["itemID"])
    finally:
        site.stop()


def _path(endpoint: Endpoint, matrix: Matrix, harmless: bool) -> str:
    """The route's pattern with its placeholders filled in.

    Existing names for reads; for operations run by someone who may, names that do not exist,
    so that nothing is stopped or deleted.
    """
    names = {
        "folder": "Maps",
        "service": "Inner" if "{folder}" in endpoint.pattern else "Owned",
        "type": "FeatureServer",
        "item": matrix.item,
        "machine": MACHINE,
        "root": "fileShares",
        "name": "nothing",
        "report": "matrixreport",
        "job": "j" + "0" * 32,  # no such job: a publisher or administrator gets a 404
        "id": "0" * 32,  # no such web adaptor
    }
    if harmless:
        names.update(
            folder="NoSuchFolder",
            service="NoSuchService",
            item="inosuchitem",
            report="noreport",
            machine="NOSUCH.MACHINE",  # stop: the site's one machine keeps serving
        )
    return re.sub(r"\{(\w+)\}", lambda m: names[m.group(1)], endpoint.pattern)


def _effective(endpoint: Endpoint) -> Privilege | None:
    if endpoint.pattern in ADMIN_ONCE_SITE_EXISTS:
        return Privilege.ADMINISTER
    return endpoint.privilege


def _call(matrix: Matrix, endpoint: Endpoint, path: str, token: str | None) -> int:
    params = {"f": "json"}
    if token is not None:
        params["token"] = token
    url = matrix.site.admin + path
    if endpoint.kind == OPERATION:
        response = httpx.post(url, data=params, timeout=60)
    else:
        response = httpx.get(url, params=params, timeout=60)
    if response.is_redirect:  # logout sends the browser on
        return 200
    assert response.status_code == 200, (path, response.status_code)
    if response.headers.get("content-type", "").startswith("text/plain"):
        return 200  # the metrics, in Prometheus's text format
    body = response.json()
    return int(body["code"]) if body.get("status") == "error" else 200


def _expected_denial(endpoint: Endpoint, caller: str | None) -> int | None:
    """The code the caller must get, or None when the request must get through."""
    needed = _effective(endpoint)
    if needed is None:
        return None
    if caller is None:
        return 499
    held = Privilege[caller]
    if held < needed:
        return 403
    owned_elsewhere = "{service}" in endpoint.pattern and "/permissions" not in endpoint.pattern
    if held == Privilege.PUBLISH and owned_elsewhere:
        return 403  # the administrator published it
    return None


def test_only_the_login_routes_are_open() -> None:
    open_routes = {e.pattern for e in ENDPOINTS if e.privilege is None}
    assert open_routes == OPEN_ROUTES | ADMIN_ONCE_SITE_EXISTS


ROUTES = [pytest.param(e, id=f"{e.kind[:3]}:{e.pattern}") for e in ENDPOINTS]


@pytest.mark.parametrize("endpoint", ROUTES)
def test_matrix(matrix: Matrix, endpoint: Endpoint) -> None:
    for caller in (None, "ACCESS", "PUBLISH", "ADMINISTER"):
        expected = _expected_denial(endpoint, caller)
        harmless = expected is None and endpoint.kind == OPERATION
        path = _path(endpoint, matrix, harmless)
        token = matrix.tokens[caller] if caller else None
        if caller and endpoint.pattern == "/logout":
            token = matrix.fresh_token(caller)
        code = _call(matrix, endpoint, path, token)
        if expected is None:
            assert code not in DENIED, (caller, path, code)
        else:
            assert code == expected, (caller, path, code)
    if _effective(endpoint) is not None:
        path = _path(endpoint, matrix, harmless=False)
        for variant in (path.upper(), path + "/"):
            assert _call(matrix, endpoint, variant, None) in {499, 404}, variant
        # Doubled slashes are the same path (as on ArcGIS Server): refused as it is.
        assert _call(matrix, endpoint, path.replace("/", "//"), None) == 499, path


REST_ROUTES = [pytest.param(e, id=f"{e.kind[:3]}:{e.pattern}") for e in REST_ENDPOINTS]


def _rest_path(endpoint: Endpoint) -> str:
    names = {"folder": "Maps", "layer": "0", "oid": "1", "image": "0" * 32}
    names.update(level="0", row="0", col="0")
    names["file"] = "_ags_map" + "0" * 32 + ".png"
    names["service"] = "Inner" if "{folder}" in endpoint.pattern else "Theirs"
    if "/GeometryServer" in endpoint.pattern:  # the site's own, public by default
        names.update(folder="Utilities", service="Geometry")
    return re.sub(r"\{(\w+)\}", lambda m: names[m.group(1)], endpoint.pattern)


@pytest.mark.parametrize("endpoint", REST_ROUTES)
def test_rest_matrix(matrix: Matrix, endpoint: Endpoint) -> None:
    """Private services: anonymous 499, a user without an allowed role 403, its owner and
    allowed roles and administrators through; every other REST route is open."""
    path = _rest_path(endpoint)
    owner_is_publisher = "{service}" in endpoint.pattern and "{folder}" not in endpoint.pattern
    for caller in (None, "stranger", "ACCESS", "PUBLISH", "ADMINISTER"):
        token = matrix.tokens[caller] if caller else None
        params = {"f": "json", **({"token": token} if token else {})}
        url = matrix.site.http + "/arcgis/rest" + path
        if endpoint.kind == OPERATION:
            body = httpx.post(url, data=params, timeout=60).json()
        else:
            body = httpx.get(url, params=params, timeout=60).json()
        code = body["error"]["code"] if "error" in body else 200
        expected: int | None = None
        if "{service}" in endpoint.pattern and "/GeometryServer" not in endpoint.pattern:
            if caller is None:
                expected = 499
            elif caller == "stranger" or (caller == "PUBLISH" and not owner_is_publisher):
                expected = 403
        if expected is None:
            assert code not in DENIED, (caller, path, code)
        else:
            assert code == expected, (caller, path, code)


def test_the_matrix_changed_nothing(matrix: Matrix) -> None:
    admin = matrix.tokens["ADMINISTER"]
    for path in (
        "/services/Owned.FeatureServer/status",
        "/services/Maps/Inner.FeatureServer/status",
    ):
        answer = httpx.get(matrix.site.admin + path, params={"f": "json", "token": admin}).json()
        assert answer["configuredState"] == "STARTED"
    answer = httpx.get(
        matrix.site.admin + f"/uploads/{matrix.item}", params={"f": "json", "token": admin}
    ).json()
    assert answer["itemID"] == matrix.item
