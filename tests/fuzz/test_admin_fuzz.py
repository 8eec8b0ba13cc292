"""Fuzzing the service and folder administration and ``logs/query`` of a live site (issue 16).

Hypothesis sends ``createFolder``, ``editFolder``, ``deleteFolder``, ``createService``,
``renameService``, a service's ``edit``, ``start``, ``stop`` and ``delete``,
``startServices``/``stopServices``, ``exists`` and ``logs/query``, with odd names (empty, dots,
slashes, NUL, 300 characters, unicode, other cases of existing names) and odd JSON (wrong
types, NaN and ``1e999`` tokens, missing keys). Every answer must be no server error and JSON
per RFC 8259, and a refused operation must leave the site's listing as it was: the root
folder and every folder's services, with their states, are compared before and after. The
service ``Kept/Keep`` is never given to ``delete`` or ``stopServices``, nor its folder to
``deleteFolder`` (which deletes the services in it, as ArcGIS does), and its queries must keep
working; renaming it is undone at once.

``make test`` runs ``EXAMPLES`` examples per operation; ``FUZZ_EXAMPLES`` runs more.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from geosite.core.logs import LogCode
from geosite.core.models import LockoutPolicy
from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite, make_site
from tests.fuzz.esri_strategies import (
    BOOLEAN_TEXT,
    CLIENT,
    JSON_VALUES,
    NON_FINITE,
    PARAMETER_TEXT,
    WRONG,
    checked,
    dump,
    examples,
    fuzz_settings,
    mostly,
    refused,
)
from tests.http.test_publishing import publish

# A failing example can be large (a 3,000-vertex ring); Hypothesis warns while printing it.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")
EXAMPLES = examples(40)
FUZZ = fuzz_settings(40)
FOLDER, SERVICE = "Kept", "Keep"
TALLY: Counter[str] = Counter()

NAMES = st.one_of(
    st.sampled_from(
        [
            "", " ", ".", "..", "../x", "a/b", "a\\b", "System", "system", FOLDER, FOLDER.upper(),
            SERVICE, "keep", "CON", "a" * 300, "x\x00y", "名前", "a b", "%2e%2e", "x.FeatureServer",
            "😀", "-", "_x", "1", "fz_new", "fz_other",
        ]
    ),
    st.text(max_size=20),
    st.from_regex(r"fz_[A-Za-z0-9_]{1,12}", fullmatch=True),
)  # fmt: skip
TYPES = st.sampled_from(["FeatureServer", "MapServer", "featureserver", "", "GPServer", "x"])


@dataclass
class AdminSite:
    live: LiveSite
    token: str
    item: str

    def call(self, method: str, tail: str, **params: Any) -> Any:
        data = {
            "f": "json",
            "token": self.token,
            **{k: v for k, v in params.items() if v is not None},
        }
        url = self.live.admin + tail
        response = CLIENT.get(url, params=data) if method == "GET" else CLIENT.post(url, data=data)
        TALLY["requests"] += 1
        body = checked(response, f"{method} {tail} {str(params)[:300]}")
        TALLY["refused" if refused(body) else "answered"] += 1
        return body

    def listing(self) -> str:
        """The root's and every folder's services, with their states, as one text."""
        root = self.call("GET", "/services")
        shown = [sorted(root.get("folders", []))]
        for folder in ["", *root.get("folders", [])]:
            answer = self.call("GET", f"/services/{quote(folder)}" if folder else "/services")
            shown.append(sorted((s["serviceName"], s["type"]) for s in answer["services"]))
        return json.dumps(shown)

    def keep_answers(self) -> None:
        url = f"{self.live.http}/arcgis/rest/services/{FOLDER}/{SERVICE}/FeatureServer/0/query"
        body = checked(CLIENT.get(url, params={"f": "json", "where": "1=1"}), "query Keep")
        assert "features" in body, body


def _path(name: str) -> str:
    """A path segment: usually escaped, sometimes as is (dots and slashes reach the router)."""
    return name if name in ("..", ".", "a/b", "../x") else quote(name, safe="")


@pytest.fixture(scope="module")
def admin_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdminSite]:
    folder = tmp_path_factory.mktemp("fuzz-admin")
    live = make_site(folder / "site", lockout=LockoutPolicy(max_failures_per_address=10**9))
    token = live.token()
    points = folder / "points.geojson"
    points.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [i, i]},
                        "properties": {"name": f"p{i}"},
                    }
                    for i in range(3)
                ],
            }
        )
    )
    answer = publish(live, token, points, SERVICE, FOLDER, "Query,Editing")
    assert answer["status"] == "success", answer
    long_token = httpx.post(
        live.admin + "/generateToken",
        data={"username": ADMIN_USER, "password": ADMIN_PASSWORD, "client": "requestip",
              "expiration": "1440", "f": "json"},
    ).json()["token"]  # fmt: skip
    item = httpx.post(
        live.admin + "/uploads/upload",
        data={"f": "json", "token": long_token},
        files={"itemFile": (points.name, points.read_bytes())},
    ).json()["item"]["itemID"]
    yield AdminSite(live, str(long_token), str(item))
    live.stop()


def operation(site: AdminSite, method: str, tail: str, **params: Any) -> Any:
    """Send an operation; when refused, the listing must not have changed."""
    before = site.listing()
    body = site.call(method, tail, **params)
    if refused(body):
        assert site.listing() == before, f"refused {tail} changed the listing: {body}"
    site.keep_answers()
    return body


def _tidy(site: AdminSite) -> None:
    """Delete what a successful operation made (services and folders other than the kept
    ones), so that the listing compared around each operation stays small."""
    root = site.call("GET", "/services")
    for folder in ["", *root.get("folders", [])]:
        if folder.lower() == "system":
            continue
        where = f"/services/{quote(folder, safe='')}" if folder else "/services"
        for service in site.call("GET", where)["services"]:
            if (folder, service["serviceName"]) != (FOLDER, SERVICE):
                TALLY["services tidied"] += 1
                name = quote(service["serviceName"], safe="")
                site.call("POST", f"{where}/{name}.{service['type']}/delete")
        if folder and folder != FOLDER:
            TALLY["folders tidied"] += 1
            site.call("POST", f"{where}/deleteFolder")


@FUZZ
@given(name=NAMES, description=st.one_of(st.none(), PARAMETER_TEXT, st.just("d" * 70_000)))
def test_create_folder(admin_site: AdminSite, name: str, description: str | None) -> None:
    body = operation(
        admin_site, "POST", "/services/createFolder", folderName=name, description=description
    )
    if not refused(body):
        _tidy(admin_site)


@FUZZ
@given(name=NAMES, description=st.one_of(st.none(), PARAMETER_TEXT))
def test_edit_and_delete_folder(admin_site: AdminSite, name: str, description: str | None) -> None:
    if FOLDER.lower() in name.lower():
        name = "fz_" + name  # deleteFolder deletes the services in it too, as ArcGIS does
    operation(admin_site, "POST", f"/services/{_path(name)}/editFolder", description=description)
    operation(admin_site, "POST", f"/services/{_path(name)}/deleteFolder")


@st.composite
def _definitions(draw: st.DrawFn, item: str) -> str:
    if draw(st.integers(0, 9)) == 4:
        return dump(draw(JSON_VALUES | PARAMETER_TEXT))
    properties = draw(
        st.fixed_dictionaries(
            {"itemID": mostly(st.just(item), NAMES | WRONG)},
            optional={
                "maxRecordCount": mostly(st.integers(1, 5000), PARAMETER_TEXT | WRONG | NON_FINITE),
                "description": PARAMETER_TEXT,
            },
        )
    )
    definition = draw(
        st.fixed_dictionaries(
            {"serviceName": NAMES, "properties": mostly(st.just(properties), WRONG)},
            optional={
                "type": TYPES,
                "folderName": mostly(st.sampled_from(["", FOLDER, "fzfolder"]), NAMES | WRONG),
                "capabilities": st.sampled_from(["Query", "Query,Editing", "Nope", "", "query,"]),
            },
        )
    )
    return dump(definition)


@FUZZ
@given(data=st.data(), overwrite=st.one_of(st.none(), BOOLEAN_TEXT))
def test_create_service(admin_site: AdminSite, data: st.DataObject, overwrite: str | None) -> None:
    service = data.draw(_definitions(admin_site.item))
    body = operation(
        admin_site, "POST", "/services/createService", service=service, overwrite=overwrite
    )
    if not refused(body):
        _tidy(admin_site)


def _kept_names(site: AdminSite) -> set[str]:
    return {s["serviceName"] for s in site.call("GET", f"/services/{FOLDER}")["services"]}


def _restore_keep(site: AdminSite, before: set[str]) -> None:
    """Name the kept service ``Keep`` again after a rename that succeeded."""
    new = _kept_names(site) - before
    if new:
        (name,) = new
        TALLY["renames undone"] += 1
        site.call(
            "POST",
            f"/services/{FOLDER}/renameService",
            serviceName=name,
            serviceType="FeatureServer",
            serviceNewName=SERVICE,
        )


@FUZZ
@given(
    folder=mostly(st.just(FOLDER), NAMES),
    name=mostly(st.just(SERVICE), NAMES),
    kind=mostly(st.just("FeatureServer"), TYPES),
    new_name=NAMES,
)
def test_rename_service(
    admin_site: AdminSite, folder: str, name: str, kind: str, new_name: str
) -> None:
    before, names = admin_site.listing(), _kept_names(admin_site)
    body = admin_site.call(
        "POST",
        f"/services/{_path(folder)}/renameService",
        serviceName=name,
        serviceType=kind,
        serviceNewName=new_name,
    )
    if refused(body):
        assert admin_site.listing() == before, f"refused rename changed the listing: {body}"
    _restore_keep(admin_site, names)
    admin_site.keep_answers()


@FUZZ
@given(
    folder=NAMES,
    name=NAMES,
    kind=TYPES,
    action=st.sampled_from(["start", "stop", "delete", "edit", "status", "iteminfo"]),
    service=st.one_of(st.none(), JSON_VALUES.map(dump), PARAMETER_TEXT),
)
def test_service_operations(
    admin_site: AdminSite, folder: str, name: str, kind: str, action: str, service: str | None
) -> None:
    """A service's own operations under odd names (the kept service only through ``edit``)."""
    if name.lower() == SERVICE.lower() and action in ("stop", "delete"):
        name = "fz_" + name
    method = "GET" if action in ("status", "iteminfo") else "POST"
    path = f"/services/{_path(folder)}/{_path(name)}.{_path(kind)}/{action}"
    operation(admin_site, method, path, service=service)
    if action == "edit":
        # The kept service's definition under odd JSON: it must keep answering afterwards.
        kept = f"/services/{FOLDER}/{SERVICE}.FeatureServer/edit"
        operation(admin_site, "POST", kept, service=service)


@FUZZ
@given(
    services=st.one_of(
        JSON_VALUES.map(dump),
        st.lists(
            st.fixed_dictionaries(
                {"serviceName": NAMES, "type": TYPES},
                optional={"folderName": mostly(st.just(FOLDER), NAMES | WRONG)},
            ),
            max_size=3,
        ).map(lambda items: dump({"services": items})),
    ),
    action=st.sampled_from(["startServices", "stopServices"]),
)
def test_start_and_stop_services(admin_site: AdminSite, services: str, action: str) -> None:
    if action == "stopServices" and SERVICE.lower() in services.lower():
        action = "startServices"  # the kept service keeps running
    operation(admin_site, "POST", f"/services/{action}", services=services)
    _tidy(admin_site)  # the services a rename or an edit left behind


@FUZZ
@given(folder=NAMES | st.none(), name=NAMES | st.none(), kind=TYPES | st.none())
def test_exists(
    admin_site: AdminSite, folder: str | None, name: str | None, kind: str | None
) -> None:
    admin_site.call("POST", "/services/exists", folderName=folder, serviceName=name, type=kind)


LOG_FILTERS = st.one_of(
    PARAMETER_TEXT,
    JSON_VALUES.map(dump),
    st.fixed_dictionaries(
        {},
        optional={
            key: st.one_of(st.just("*"), NAMES, st.lists(NAMES | WRONG, max_size=3), WRONG)
            for key in (
                "codes",
                "processIds",
                "requestIds",
                "services",
                "machines",
                "server",
                "users",
            )
        },
    ).map(dump),
)


@FUZZ
@given(
    params=st.fixed_dictionaries(
        {},
        optional={
            "startTime": st.one_of(PARAMETER_TEXT, st.just("2024-05-01T12:00:00,000")),
            "endTime": PARAMETER_TEXT,
            "sinceServerStart": BOOLEAN_TEXT,
            "level": st.one_of(
                st.sampled_from(["SEVERE", "WARNING", "INFO", "FINE", "DEBUG", "OFF", "severe"]),
                PARAMETER_TEXT,
            ),
            "filterType": st.sampled_from(["json", "xml", ""]),
            "filter": LOG_FILTERS,
            "pageSize": PARAMETER_TEXT,
        },
    ),
    method=st.sampled_from(["GET", "POST"]),
)
def test_logs_query(admin_site: AdminSite, params: dict[str, str], method: str) -> None:
    admin_site.call(method, "/logs/query", **params)


def test_the_run_left_no_unhandled_exception(admin_site: AdminSite) -> None:
    admin_site.live.flush_logs()
    records = admin_site.live.log_store.query(levels=["SEVERE"], limit=1_000_000)
    unhandled = [r.message for r in records if r.code == LogCode.INTERNAL_ERROR]
    print(f"\nfuzz-admin ({EXAMPLES} examples per operation): {dict(TALLY)}")
    assert TALLY["requests"] > 0
    assert unhandled == []
