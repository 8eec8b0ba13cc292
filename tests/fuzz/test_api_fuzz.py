"""Schema-driven fuzzing (R1): schemathesis generates requests for every operation of our own
OpenAPI document (``/arcgis/rest/openapi.json``) and sends them to a live site that has
published feature services. No answer may be a server error, and the site's log may hold no
unhandled-exception record (code 7500) afterwards.

- Checks: schemathesis's ``not_a_server_error`` (HTTP 5xx, which HTML pages use) and, since
  JSON errors come with HTTP 200 as in ArcGIS, no error envelope with code 500 other than a
  stopped service's "Service ... not started".
- Admin routes get the site administrator's token in ``X-Esri-Authorization``. The site's
  per-address lockout is raised, since the run sends thousands of wrong passwords from
  127.0.0.1 to ``generateToken`` and ``login``.
- Path parameters are either generated or, half the time, names that exist (the services
  ``Cities`` and ``World/Countries``, layer 0, an uploaded item...), so requests reach the
  handlers and not only the 404 of the router; queries also get the common ArcGIS query
  parameters with generated values (the document declares only ``f`` for them), and form
  fields get, half the time, a generated JSON document (most ArcGIS fields carry JSON).
- Generation: schemathesis's coverage phase (deterministic boundary and negative cases,
  about 5,600 requests) plus ``GEOSITE_FUZZ_EXAMPLES`` Hypothesis examples per operation.
- ``GEOSITE_FUZZ_EXAMPLES`` sets the examples per operation (5 in the suite);
  ``make fuzz-api`` sets it high enough for at least ``GEOSITE_FUZZ_MIN_REQUESTS`` (10,000)
  requests and the last test asserts that total.

Excluded operations, because they end the run's own access to the site rather than test
input handling (each is covered by its own tests in tests/http):

- ``POST /arcgis/admin/security/psa/disable`` and ``/security/psa/update``: disable the
  primary site administrator or change its name or password (its token stops working);
- ``POST /arcgis/admin/security/tokens/update``: a new token policy or signing key ends the
  run's token;
- ``POST /arcgis/admin/security/config/update``: HTTPS only, or an admin address allow-list,
  shuts the run (plain HTTP from 127.0.0.1) out of the Administrator API;
- ``POST /arcgis/admin/logs/clean`` and ``/logs/settings/edit``: they would delete, or stop
  writing, the log records the last test searches for unhandled errors;
- ``POST /arcgis/admin/system/directories/register`` and ``/{name}/edit``: they make a folder
  wherever the generated ``physicalPath`` says, anywhere this process may write
  (``tests/http/test_server_directories.py`` tests them, refusals included).

``/data/registerItem``, ``validateDataItem`` and ``items/{root}/{name}/edit`` stay in: a
database item connects to the host its ``info.connectionString`` names, but no generated item
has that key (generated keys come from ``_JSON_KEYS`` or are at most 8 characters long) and the
document's examples are folders (``tests/http/test_data_store_databases.py`` checks them), so
the run never connects anywhere; folders are only looked at.

The existing services are never given to ``stop``, ``delete`` or ``deleteFolder`` (those get
generated names only), so that the services stay there and started for the REST operations.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.generation.case import Case
from schemathesis.hooks import HookContext

from geosite.core.logs import LogCode
from geosite.core.models import LockoutPolicy, Machine
from geosite.demo import DATA_DIR
from geosite.http import admin, openapi, rest
from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, MACHINE, LiveSite, make_site
from tests.http.test_editing import EDITABLE
from tests.http.test_publishing import publish

EXAMPLES = int(os.environ.get("GEOSITE_FUZZ_EXAMPLES", "5"))
MIN_REQUESTS = int(os.environ.get("GEOSITE_FUZZ_MIN_REQUESTS", "0"))

EXCLUDED = [
    # Seeding may start a job drawing up to a million tiles (tests/http/test_map_tiles.py).
    "post:/arcgis/admin/services/{service}.{type}/manageMapCacheTiles",
    "post:/arcgis/admin/services/{folder}/{service}.{type}/manageMapCacheTiles",
    "post:/arcgis/admin/security/psa/disable",
    "post:/arcgis/admin/security/psa/update",
    "post:/arcgis/admin/security/tokens/update",
    "post:/arcgis/admin/security/config/update",
    # These make folders wherever the generated physicalPath says (tested by hand instead).
    "post:/arcgis/admin/system/directories/register",
    "post:/arcgis/admin/system/directories/{name}/edit",
    # These would hide what the run is checking: the log records of unhandled errors.
    "post:/arcgis/admin/logs/clean",
    "post:/arcgis/admin/logs/settings/edit",
]
# Operations that get generated path parameters only (see the module docstring).
_UNMAPPED_SUFFIXES = ("/stop", "/delete", "/deleteFolder")

KNOWN: dict[str, list[str]] = {
    "service": ["Cities", "Countries"],
    "folder": ["World", "System"],
    "type": ["FeatureServer", "MapServer"],
    "layer": ["0", "1", "-1"],
    "oid": ["1", "2", "0", "999999"],
    "level": ["0", "3", "23", "24"],
    "row": ["0", "1", "7"],
    "col": ["0", "1", "7"],
    "report": ["fuzzreport", "nosuchreport"],
    "machine": [MACHINE, MACHINE.lower()],
    "root": ["fileShares", "enterpriseDatabases"],
}

# Keys the ArcGIS JSON parameters use (geometries, edits, service definitions, statistics...).
_JSON_KEYS = st.sampled_from(
    [
        "x", "y", "z", "m", "points", "paths", "rings", "curveRings", "spatialReference",
        "wkid", "latestWkid", "wkt", "xmin", "ymin", "xmax", "ymax", "hasZ", "hasM",
        "attributes", "geometry", "id", "adds", "updates", "deletes", "objectId", "OBJECTID",
        "globalId", "serviceName", "type", "folderName", "capabilities", "properties",
        "itemID", "maxRecordCount", "statisticType", "onStatisticField",
        "outStatisticFieldName", "name", "features", "services", "isAllowed", "principal",
    ]
)  # fmt: skip
_JSON_TEXT = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(_JSON_KEYS | st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=12,
).map(json.dumps)

_QUERY_VALUES = st.one_of(
    _JSON_TEXT,
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            "1=1",
            "*",
            "true",
            "false",
            "0",
            "-1",
            "1e308",
            "name",
            "OBJECTID DESC",
            "4326",
            "102100",
            '{"wkid": 4326}',
            '{"x": 1, "y": 2}',
            '{"xmin": -10, "ymin": -10, "xmax": 10, "ymax": 10}',
            '{"rings": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}',
            "esriGeometryEnvelope",
            "esriSpatialRelIntersects",
            '[{"statisticType": "count", "onStatisticField": "OBJECTID"}]',
            "1,2,3",
            "-180,-90,180,90",
            "-10,40,10,50",
            "-1e308,-1e308,1e308,1e308",
            "256,256",
            "4096,4096",
            "0,0",
            "400,400,96",
            "show:0",
            "hide:0,1",
            "visible:0",
            "all",
            "png8",
            "jpg",
            "3832",
            "2263",
            "Paris",
            "%",
            "null",
            "[]",
            "{}",
        ]
    ),
)
_QUERY_PARAMETERS = [
    "where",
    "outFields",
    "orderByFields",
    "objectIds",
    "geometry",
    "geometryType",
    "spatialRel",
    "inSR",
    "outSR",
    "returnGeometry",
    "returnCountOnly",
    "returnIdsOnly",
    "returnExtentOnly",
    "returnDistinctValues",
    "resultOffset",
    "resultRecordCount",
    "groupByFieldsForStatistics",
    "outStatistics",
    "having",
    "time",
    "distance",
    "units",
    "text",
    "maxAllowableOffset",
    "geometryPrecision",
    "returnZ",
    "returnM",
    "layerDefs",
]

# The parameters of the map operations (services-api §5), fuzzed like a query's.
_MAP_PARAMETERS = [
    "bbox", "bboxSR", "imageSR", "size", "dpi", "format", "transparent", "layers", "layerDefs",
    "geometry", "geometryType", "sr", "tolerance", "mapExtent", "imageDisplay", "returnGeometry",
    "searchText", "contains", "searchFields", "returnFieldName", "returnUnformattedValues",
]  # fmt: skip
_OPERATION_PARAMETERS = {
    "/query": _QUERY_PARAMETERS,
    "/export": _MAP_PARAMETERS,
    "/identify": _MAP_PARAMETERS,
    "/find": _MAP_PARAMETERS,
    "/legend": ["size", "dpi"],
}

# What the run saw; the last test reports it (and asserts the total on the long run).
TALLY: Counter[str] = Counter()


@pytest.fixture(scope="module")
def fuzz_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    live = make_site(
        tmp_path_factory.mktemp("fuzz") / "site",
        lockout=LockoutPolicy(max_failures_per_address=1_000_000_000),
    )
    # A second machine: deleteSite (no parameters, so any fuzzed call of it as an
    # administrator would do it) then refuses, and the fuzzed site stays.
    live.store.add_machine(Machine("SECOND.MACHINE", "http://second:6080/arcgis/admin", 1, 1))
    token = live.token()
    for path, name, folder, capabilities in [
        (DATA_DIR / "naturalearth_cities.zip", "Cities", "", EDITABLE),
        (DATA_DIR / "naturalearth_lowres.zip", "Countries", "World", "Query"),
    ]:
        assert publish(live, token, path, name, folder, capabilities)["status"] == "success"
        # The same data as a map: a cached one with feature access in the folder.
        cached = {"isCached": "true"} if folder else {}
        answer = publish(live, token, path, name, folder, kind="MapServer", **cached)
        assert answer["status"] == "success"
    report = {"reportname": "fuzzreport", "queries": [{"resourceURIs": ["services/"],
                                                       "metrics": ["RequestCount"]}]}  # fmt: skip
    added = httpx.post(
        live.admin + "/usagereports/add",
        data={"f": "json", "token": token, "usagereport": json.dumps(report)},
    ).json()
    assert added == {"status": "success"}
    yield live
    live.stop()


@pytest.fixture(scope="module")
def fuzz_token(fuzz_site: LiveSite) -> str:
    answer = httpx.post(
        fuzz_site.admin + "/generateToken",
        data={
            "username": ADMIN_USER,
            "password": ADMIN_PASSWORD,
            "client": "requestip",
            "expiration": "1440",
            "f": "json",
        },
    ).json()
    uploads = httpx.get(
        fuzz_site.admin + "/uploads", params={"f": "json", "token": answer["token"]}
    )
    ITEMS[:] = [item["itemID"] for item in uploads.json()["items"]]
    return str(answer["token"])


#: Uploaded item ids, known once the site is up (drawn lazily, during the run).
ITEMS: list[str] = []

# The document the server serves (``test_the_fuzzed_document_is_the_served_one`` checks it),
# built from the same route tables at import so that each operation is a test of its own.
SCHEMA = schemathesis.openapi.from_dict(
    openapi.document(
        [
            ("/arcgis/admin", admin.ENDPOINTS),
            ("/arcgis/rest", rest.REST_ENDPOINTS),
            ("/arcgis/tokens", rest.TOKEN_ENDPOINTS),
        ]
    )
).exclude(operation_id=EXCLUDED)


def _known(name: str) -> st.SearchStrategy[str]:
    if name == "item":
        return st.deferred(lambda: st.sampled_from(ITEMS or ["i0"]))
    return st.sampled_from(KNOWN[name])


@SCHEMA.hook
def flatmap_path_parameters(
    context: HookContext, path_parameters: dict[str, Any] | None
) -> st.SearchStrategy[dict[str, Any] | None]:
    operation = context.operation
    if not path_parameters or operation is None or operation.path.endswith(_UNMAPPED_SUFFIXES):
        return st.just(path_parameters)
    existing = st.fixed_dictionaries(
        {
            name: _known(name) if name in KNOWN or name == "item" else st.just(value)
            for name, value in path_parameters.items()
        }
    )
    return st.one_of(st.just(path_parameters), existing)


@SCHEMA.hook
def flatmap_query(
    context: HookContext, query: dict[str, Any] | None
) -> st.SearchStrategy[dict[str, Any] | None]:
    operation = context.operation
    if operation is None:
        return st.just(query)
    names = next(
        (
            found
            for suffix, found in _OPERATION_PARAMETERS.items()
            if operation.path.endswith(suffix)
        ),
        None,
    )
    if names is None:
        return st.just(query)
    extra = st.fixed_dictionaries({}, optional={name: _QUERY_VALUES for name in names})
    return extra.map(lambda params: {**params, **(query or {})})


@SCHEMA.hook
def flatmap_body(context: HookContext, body: Any) -> st.SearchStrategy[Any]:
    """Form fields get their generated text or, as often, a generated JSON document."""
    if not isinstance(body, dict) or not body:
        return st.just(body)
    return st.fixed_dictionaries(
        {
            name: st.one_of(st.just(value), _JSON_TEXT)
            if isinstance(value, str)
            else st.just(value)
            for name, value in body.items()
        }
    )


def test_the_fuzzed_document_is_the_served_one(fuzz_site: LiveSite) -> None:
    served = httpx.get(fuzz_site.http + "/arcgis/rest/openapi.json").json()
    assert served == SCHEMA.raw_schema


def _answer_code(response: Response) -> int:
    """The ArcGIS code of an answer: its error envelope's, or else the HTTP status."""
    try:
        body = response.json()
    except ValueError:
        return response.status_code
    if isinstance(body, dict):
        error = body.get("error", body if body.get("status") == "error" else None)
        if isinstance(error, dict) and isinstance(error.get("code"), int):
            return int(error["code"])
    return response.status_code


def _internal_error_envelope(response: Response) -> str | None:
    """The message of a code-500 JSON error envelope that is not a stopped service's."""
    if "json" not in response.headers.get("content-type", [""])[0]:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    error = body.get("error", body if body.get("status") == "error" else None)
    if not isinstance(error, dict) or not isinstance(error.get("code"), int):
        return None
    if error["code"] < 500:
        return None
    text = str(error.get("message") or error.get("messages"))
    return None if "not started" in text else text


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@SCHEMA.parametrize()
def test_no_server_error(case: Case[Any], fuzz_site: LiveSite, fuzz_token: str) -> None:
    headers = {"X-Esri-Authorization": f"Bearer {fuzz_token}"}
    response = case.call(base_url=fuzz_site.http, headers=headers, timeout=120)
    TALLY["requests"] += 1
    if response.status_code >= 500:
        TALLY["http_5xx"] += 1
    TALLY[f"code {_answer_code(response)}"] += 1
    internal = _internal_error_envelope(response)
    if internal is not None:
        TALLY["envelope_500"] += 1
    case.validate_response(response, checks=[not_a_server_error], headers=headers)
    assert internal is None, f"{case.method} {case.formatted_path}: code-500 envelope {internal}"


def test_the_run_left_no_unhandled_exception(fuzz_site: LiveSite) -> None:
    fuzz_site.flush_logs()
    records = fuzz_site.log_store.query(levels=["SEVERE"], limit=1_000_000)
    unhandled = [r for r in records if r.code == LogCode.INTERNAL_ERROR]
    print(
        f"\nfuzz-api: {TALLY['requests']} requests, {TALLY['http_5xx']} HTTP 5xx, "
        f"{TALLY['envelope_500']} code-500 envelopes, {len(unhandled)} unhandled exceptions "
        f"({EXAMPLES} examples per operation)"
    )
    print("fuzz-api answers by code:", sorted((k, v) for k, v in TALLY.items() if "code " in k))
    assert TALLY["requests"] > 0, "the fuzzing test did not run"
    assert [r.message for r in unhandled] == []
    assert TALLY["requests"] >= MIN_REQUESTS
