"""Every integer a request gives is read and checked against its range (issue 16, item 3).

A table of the integer parameters of the REST and Administrator APIs, each sent with numbers
beyond what SQLite holds, non-numbers and harmless oddities. A refused value gets the API's
error envelope (HTTP 200, code 400, or a feature's own error inside an edit's results) naming
the parameter; an accepted one is answered normally. Never a 5xx or a code 500, and a refusal
changes nothing: the layer, the settings and the reports stay as they were.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite, make_site
from tests.http.test_editing import EDITABLE, _points
from tests.http.test_publishing import publish

INT32_MAX = 2**31 - 1
INT64 = (-(2**63), 2**63 - 1)
NOT_JSON = "not JSON"

#: The values sent, and what each is as an integer: written as text (a form field, a URL
#: segment, a JSON string) and written into a JSON document as it stands. None: no integer.
VALUES: dict[str, tuple[int | None, int | str | None]] = {
    str(2**63): (2**63, 2**63),
    str(-(2**63) - 1): (-(2**63) - 1, None),  # in JSON, beyond 64 bits: an inexact float
    str(10**30): (10**30, None),
    "1e400": (None, NOT_JSON),
    "NaN": (None, NOT_JSON),
    "-0": (0, 0),
    " 12 ": (12, 12),
    "0x10": (None, NOT_JSON),
}
NONE_VALID = (1, 0)  # a range no value falls in


@dataclass
class Ctx:
    site: LiveSite
    token: str

    @property
    def layer(self) -> str:
        return f"{self.site.http}/arcgis/rest/services/Points/FeatureServer/0"

    @property
    def service(self) -> str:
        return f"{self.site.http}/arcgis/rest/services/Points/FeatureServer"

    def get(self, url: str, **params: str) -> Any:
        return httpx.get(url, params={"f": "json", "token": self.token, **params}, timeout=60)

    def post(self, url: str, **data: str) -> Any:
        return httpx.post(url, data={"f": "json", "token": self.token, **data}, timeout=60)

    def admin(self, path: str, **data: str) -> Any:
        return self.post(self.site.admin + path, **data)


Send = Callable[[Ctx, str], httpx.Response]


@dataclass(frozen=True)
class Case:
    """One integer parameter: how to send a value, what a refusal names, what is accepted."""

    id: str
    send: Send
    names: tuple[str, ...]
    low: int
    high: int
    in_json: bool = False  # the value is written into a JSON document as it stands
    outer: str = ""  # the parameter a document that is not JSON is refused as
    codes: tuple[int, ...] = (400,)
    state: str = "layer"  # what a refusal leaves unchanged: the layer, or an admin resource

    def expected(self, value: str) -> tuple[bool, tuple[str, ...]]:
        """(refused, names one of which the refusal carries)."""
        as_text, as_json = VALUES[value]
        number = as_json if self.in_json else as_text
        if number == NOT_JSON:
            return True, (self.outer,)
        if number is None or not self.low <= int(number) <= self.high:
            return True, self.names
        return False, ()


def _feature(attributes: dict[str, Any] | str) -> str:
    text = attributes if isinstance(attributes, str) else json.dumps(attributes)
    return '{"attributes": ' + text + ', "geometry": {"x": 1, "y": 1}}'


# The second feature is always refused: with rollbackOnFailure, the request writes nothing.
_SPOILER = _feature({"no_such_field": 1})


def _report(ctx: Ctx, **fields: str) -> httpx.Response:
    """Add a usage report whose fields are given as JSON text; its data when it was added."""
    name = "r" + uuid.uuid4().hex[:10]
    body = {"reportname": f'"{name}"', "since": '"CUSTOM"', **fields}
    body["queries"] = '[{"resourceURIs": ["services/"], "metrics": ["RequestCount"]}]'
    text = "{" + ", ".join(f'"{k}": {v}' for k, v in body.items()) + "}"
    added = ctx.admin("/usagereports/add", usagereport=text)
    if added.json().get("status") != "success":
        return added  # type: ignore[no-any-return]
    return ctx.get(f"{ctx.site.admin}/usagereports/{name}/data")  # type: ignore[no-any-return]


def _logs(ctx: Ctx, filter_text: str) -> httpx.Response:
    return ctx.admin("/logs/query", level="DEBUG", filter=filter_text)  # type: ignore[no-any-return]


OID = (0, INT32_MAX)
CASES = [
    # -- query ----------------------------------------------------------------------------------
    Case(
        "query.objectIds",
        lambda c, v: c.get(c.layer + "/query", where="1=1", objectIds=v),
        ("objectIds",),
        -INT32_MAX,
        INT32_MAX,
    ),
    Case(
        "query.resultOffset",
        lambda c, v: c.get(c.layer + "/query", where="1=1", resultOffset=v),
        ("resultOffset",),
        0,
        INT32_MAX,
    ),
    Case(
        "query.resultRecordCount",
        lambda c, v: c.get(c.layer + "/query", where="1=1", resultRecordCount=v),
        ("resultRecordCount",),
        1,
        INT32_MAX,
    ),
    Case(
        "query.geometryPrecision",
        lambda c, v: c.get(c.layer + "/query", where="1=1", geometryPrecision=v),
        ("geometryPrecision",),
        0,
        INT32_MAX,
    ),
    Case(
        "query.outSR",
        lambda c, v: c.get(c.layer + "/query", where="1=1", outSR=v),
        ("outSR",),
        *NONE_VALID,
    ),
    Case(
        "query.inSR",
        lambda c, v: c.get(c.layer + "/query", where="1=1", inSR=v),
        ("inSR",),
        *NONE_VALID,
    ),
    Case(
        "query.geometry.wkid",
        lambda c, v: c.get(
            c.layer + "/query",
            geometry='{"x": 1, "y": 1, "spatialReference": {"wkid": ' + v + "}}",
            geometryType="esriGeometryPoint",
        ),
        ("geometry",),
        *NONE_VALID,
        in_json=True,
        outer="geometry",
    ),
    Case(
        "serviceQuery.layerDefs",
        lambda c, v: c.get(c.service + "/query", layerDefs=json.dumps({v: "1=1"})),
        ("layerDefs",),
        0,
        0,
    ),
    Case("url.objectId", lambda c, v: c.get(f"{c.layer}/{v}"), ("object id",), *OID),
    Case(
        "url.layer", lambda c, v: c.get(f"{c.service}/{v}"), ("Layer",), *NONE_VALID, codes=(404,)
    ),
    # -- edits ----------------------------------------------------------------------------------
    Case(
        "deleteFeatures.objectIds",
        lambda c, v: c.post(c.layer + "/deleteFeatures", objectIds=v),
        ("objectIds",),
        *OID,
    ),
    Case(
        "applyEdits.deletes",
        lambda c, v: c.post(c.layer + "/applyEdits", deletes=v),
        ("deletes",),
        *OID,
    ),
    Case(
        "applyEdits.deletes[]",
        lambda c, v: c.post(c.layer + "/applyEdits", deletes="[" + v + "]"),
        ("deletes",),
        *OID,
        in_json=True,
        outer="deletes",
    ),
    Case(
        "applyEdits.updates.OBJECTID",
        lambda c, v: c.post(
            c.layer + "/applyEdits",
            updates="[" + _feature('{"OBJECTID": ' + v + "}") + "]",
        ),
        ("OBJECTID",),
        *OID,
        in_json=True,
        outer="updates",
        codes=(1000,),
    ),
    Case(
        "updateFeatures.OBJECTID",
        lambda c, v: c.post(
            c.layer + "/updateFeatures",
            features="[" + _feature('{"OBJECTID": ' + v + ', "n": 5}') + "]",
        ),
        ("OBJECTID",),
        *OID,
        in_json=True,
        outer="features",
        codes=(1000,),
    ),
    Case(
        "addFeatures.Integer",
        lambda c, v: c.post(
            c.layer + "/addFeatures",
            features="[" + _feature('{"n": ' + v + "}") + ", " + _SPOILER + "]",
        ),
        ("'n'",),
        -(2**31),
        INT32_MAX,
        in_json=True,
        outer="features",
        codes=(1000,),
    ),
    Case(
        "addFeatures.Date",
        lambda c, v: c.post(
            c.layer + "/addFeatures",
            features="[" + _feature('{"seen": ' + v + "}") + ", " + _SPOILER + "]",
        ),
        ("'seen'",),
        -(10**15),
        10**15,
        in_json=True,
        outer="features",
        codes=(1000,),
    ),
    Case(
        "serviceApplyEdits.deletes",
        lambda c, v: c.post(c.service + "/applyEdits", edits='[{"id": 0, "deletes": [' + v + "]}]"),
        ("deletes",),
        *OID,
        in_json=True,
        outer="edits",
    ),
    Case(
        "serviceApplyEdits.id",
        lambda c, v: c.post(
            c.service + "/applyEdits", edits='[{"id": ' + v + ', "deletes": [99]}]'
        ),
        ("Layer",),
        0,
        0,
        in_json=True,
        outer="edits",
    ),
    # -- tokens ---------------------------------------------------------------------------------
    Case(
        "admin.generateToken.expiration",
        lambda c, v: httpx.post(
            c.site.admin + "/generateToken",
            data={"username": ADMIN_USER, "password": ADMIN_PASSWORD, "client": "requestip"}
            | {"f": "json", "expiration": v},
        ),
        ("expiration",),
        *INT64,
        state="/security/tokens",
    ),
    Case(
        "rest.generateToken.expiration",
        lambda c, v: httpx.post(
            c.site.http + "/arcgis/tokens/generateToken",
            data={"username": ADMIN_USER, "password": ADMIN_PASSWORD, "client": "requestip"}
            | {"f": "json", "expiration": v},
        ),
        ("expiration",),
        *INT64,
        state="/security/tokens",
    ),
    Case(
        "tokens.update.shortTimeout",
        lambda c, v: c.admin("/security/tokens/update", shortTimeout=v),
        ("shortTimeout",),
        1,
        1440,
        state="/security/tokens",
    ),
    # -- logs -----------------------------------------------------------------------------------
    Case(
        "logs.query.pageSize",
        lambda c, v: c.admin("/logs/query", pageSize=v),
        ("pageSize",),
        1,
        10_000,
        state="/logs/settings",
    ),
    Case(
        "logs.query.startTime",
        lambda c, v: c.admin("/logs/query", startTime=v),
        ("startTime",),
        -(10**15) + 1,
        10**15 - 1,
        state="/logs/settings",
    ),
    Case(
        "logs.query.endTime",
        lambda c, v: c.admin("/logs/query", endTime=v),
        ("endTime",),
        -(10**15) + 1,
        10**15 - 1,
        state="/logs/settings",
    ),
    Case(
        "logs.query.filter.codes",
        lambda c, v: _logs(c, '{"codes": [' + v + "]}"),
        ("filter.codes",),
        *INT64,
        in_json=True,
        outer="filter",
        state="/logs/settings",
    ),
    Case(
        "logs.query.filter.codes-text",
        lambda c, v: _logs(c, json.dumps({"codes": [v]})),
        ("filter.codes",),
        *INT64,
        state="/logs/settings",
    ),
    Case(
        "logs.query.filter.processIds",
        lambda c, v: _logs(c, '{"processIds": [' + v + "]}"),
        ("filter.processIds",),
        *INT64,
        in_json=True,
        outer="filter",
        state="/logs/settings",
    ),
    Case(
        "logs.settings.maxLogFileAge",
        lambda c, v: c.admin("/logs/settings/edit", maxLogFileAge=v),
        ("maxLogFileAge",),
        1,
        3650,
        state="/logs/settings",
    ),
    # -- accounts -------------------------------------------------------------------------------
    Case(
        "users.getUsers.startIndex",
        lambda c, v: c.admin("/security/users/getUsers", startIndex=v),
        ("startIndex",),
        0,
        1_000_000,
        state="/security/users",
    ),
    Case(
        "users.getUsers.pageSize",
        lambda c, v: c.admin("/security/users/getUsers", pageSize=v),
        ("pageSize",),
        1,
        10_000,
        state="/security/users",
    ),
    Case(
        "roles.search.maxCount",
        lambda c, v: c.admin("/security/roles/search", filter="", maxCount=v),
        ("maxCount",),
        1,
        10_000,
        state="/security/roles",
    ),
    Case(
        "passwordPolicy.minLength",
        lambda c, v: c.admin(
            "/security/passwordpolicy/update", passwordPolicy='{"minLength": ' + v + "}"
        ),
        ("minLength",),
        8,
        256,
        in_json=True,
        outer="passwordPolicy",
        state="/security/passwordpolicy",
    ),
    # -- usage reports --------------------------------------------------------------------------
    Case(
        "usagereport.from",
        lambda c, v: _report(c, **{"from": v, "to": "1700000000000"}),
        ("from",),
        0,
        253_402_300_799_999,
        in_json=True,
        outer="usagereport",
        state="/usagereports",
    ),
    Case(
        "usagereport.to",
        lambda c, v: _report(c, **{"from": "0", "to": v}),
        ("to",),
        0,
        253_402_300_799_999,
        in_json=True,
        outer="usagereport",
        state="/usagereports",
    ),
    Case(
        "usagereport.aggregationInterval",
        lambda c, v: _report(c, **{"from": "0", "to": "1700000000000", "aggregationInterval": v}),
        ("aggregationInterval",),
        1,
        100 * 366 * 24 * 60,
        in_json=True,
        outer="usagereport",
        state="/usagereports",
    ),
    Case(
        "usagereports.settings.maxHistory",
        lambda c, v: c.admin("/usagereports/settings/edit", maxHistory=v),
        ("maxHistory",),
        0,
        36_500,
        state="/usagereports/settings",
    ),
]


@pytest.fixture(scope="module")
def ctx(site: LiveSite, tmp_path_factory: pytest.TempPathFactory) -> Ctx:
    token = site.token()
    points = _points(tmp_path_factory.mktemp("ints") / "points.geojson")
    assert publish(site, token, points, "Points", capabilities=EDITABLE)["status"] == "success"
    return Ctx(site, token)


def _errors(answer: Any) -> Iterator[tuple[int, str]]:
    """(code, text) of the answer's error envelope and of its edits' errors."""
    if isinstance(answer, dict) and isinstance(answer.get("error"), dict):
        error = answer["error"]
        yield int(error["code"]), " ".join([error["message"], *error.get("details", [])])
    if isinstance(answer, dict) and answer.get("status") == "error":
        yield int(answer["code"]), " ".join(answer["messages"])
    for item in answer if isinstance(answer, list) else [answer]:
        if not isinstance(item, dict):
            continue
        for key in ("addResults", "updateResults", "deleteResults"):
            for result in item.get(key) or []:
                if "error" in result:
                    yield int(result["error"]["code"]), str(result["error"]["description"])


def _state(ctx: Ctx, case: Case) -> Any:
    if case.state == "layer":
        return ctx.get(ctx.layer + "/query", where="1=1", outFields="*").json()["features"]
    return ctx.get(ctx.site.admin + case.state).json()


@pytest.mark.parametrize("value", list(VALUES), ids=repr)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_integer_parameter(ctx: Ctx, case: Case, value: str) -> None:
    before = _state(ctx, case)
    response = case.send(ctx, value)
    assert response.status_code < 500, response.text[:300]
    answer = response.json()  # valid JSON, whatever the input
    errors = list(_errors(answer))
    assert all(code != 500 for code, _ in errors), errors
    refused, names = case.expected(value)
    if refused:
        assert any(
            code in (*case.codes, 400) and any(n in text for n in names) for code, text in errors
        ), f"expected a refusal naming {names}: {answer}"
        assert _state(ctx, case) == before
    else:
        # Accepted as an integer: no refusal saying it is not one or out of its range.
        assert not any("must be an integer" in text for _, text in errors), errors
    if case.state == "layer":
        assert _state(ctx, case) == before  # no value of the table names a feature to change


def test_create_site_directory_max_file_age(tmp_path: Path) -> None:
    """``createNewSite``: a directory's ``maxFileAge`` (minutes) is an integer too."""
    site = make_site(tmp_path / "site", create=False)
    try:

        def create(value: str) -> Any:
            directory = (
                '{"directories": [{"name": "arcgissystem", "directoryType": "SYSTEM", '
                + '"physicalPath": "'
                + str(tmp_path / "system")
                + '", "maxFileAge": '
                + value
                + "}]}"
            )
            data = {
                "f": "json",
                "username": ADMIN_USER,
                "password": ADMIN_PASSWORD,
                "directories": directory,
            }
            return httpx.post(site.admin + "/createNewSite", data=data, timeout=120).json()

        for value in (str(2**63), '"abc"', '"0x10"', "-1", str(10**30)):
            answer = create(value)
            assert answer["status"] == "error" and answer["code"] == 400, answer
            assert "maxFileAge" in " ".join(answer["messages"]), answer
        # Refused requests made no site: a good value still creates it.
        assert create('" 12 "')["status"] == "success"
    finally:
        site.stop()
