"""Fuzzing the editing and query operations of a live site (issue 16, "Done means").

A service of four editable layers (points, multipoints, polylines, polygons, each with a
string, integer, small integer, double, date and GlobalID field) is published on a site served
over loopback HTTP. Hypothesis sends ``addFeatures``, ``updateFeatures``, ``deleteFeatures``,
the layer's and the service's ``applyEdits`` and ``query``, with the geometries, attribute
values and parameter text of ``esri_strategies``. Every answer must be:

- no server error: no HTTP 5xx, and no error of code 500 in the envelope or in a result;
- JSON per RFC 8259 (no ``NaN`` or ``Infinity`` token);
- for an edit that was refused (an error envelope; no result that succeeded; or, with
  ``rollbackOnFailure`` true, any result that failed), a GeoPackage whose rows are all as
  they were: every table is hashed before and after (with
  ``GEOSITE_TEST_FEATURE_DATA=postgis``, every table of the service's PostGIS schema).

``make test`` runs ``EXAMPLES`` examples per operation (derandomized, no example database,
so CI runs the same ones); ``FUZZ_EXAMPLES=2000`` (``make fuzz-edits``) runs longer. The last
test asserts that the site logged no unhandled exception.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import uuid
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from geosite.core.logs import LogCode
from geosite.core.models import LockoutPolicy
from tests import pg
from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, ON_POSTGIS, LiveSite, make_site
from tests.fuzz.esri_strategies import (
    BOOLEAN_TEXT,
    CLIENT,
    ENVELOPES,
    GEOMETRIES,
    GUIDS,
    JSON_VALUES,
    MULTIPOINTS,
    PARAMETER_TEXT,
    POINTS,
    POLYGONS,
    POLYLINES,
    SPATIAL_REFERENCES,
    WRONG,
    checked,
    dump,
    examples,
    feature_lists,
    fuzz_settings,
    mostly,
    refused,
)
from tests.http.test_publishing import publish

# A failing example can be large (a 3,000-vertex ring); Hypothesis warns while printing it.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")
EXAMPLES = examples(100)
FUZZ = fuzz_settings(100)
SERVICE = "Fuzz"
FIELDS = {
    "OBJECTID": "esriFieldTypeOID",
    "name": "esriFieldTypeString",
    "n": "esriFieldTypeInteger",
    "small": "esriFieldTypeSmallInteger",
    "big": "esriFieldTypeDouble",
    "seen": "esriFieldTypeDate",
    "GlobalID": "esriFieldTypeGlobalID",
}
LAYERS = {"0": POINTS, "1": MULTIPOINTS, "2": POLYLINES, "3": POLYGONS}
TALLY: Counter[str] = Counter()
MESSAGES: Counter[str] = Counter()


def _dataset(path: Path) -> Path:
    """A zip of four GeoJSON layers, three features each, every field type filled."""
    shapes = {
        "a_points": [{"type": "Point", "coordinates": [i, i]} for i in range(3)],
        "b_multipoints": [
            {"type": "MultiPoint", "coordinates": [[i, i], [i + 1, i]]} for i in range(3)
        ],
        "c_lines": [
            {"type": "LineString", "coordinates": [[i, 0], [i + 1, 1], [i, 2]]} for i in range(3)
        ],
        "d_polygons": [
            {"type": "Polygon", "coordinates": [[[i, 0], [i, 1], [i + 1, 1], [i, 0]]]}
            for i in range(3)
        ],
    }
    with zipfile.ZipFile(path, "w") as archive:
        for name, geometries in shapes.items():
            collection = {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": geometry,
                        "properties": {
                            "name": f"f{i} é",
                            "n": i * 1000,
                            "small": bool(i % 2),
                            "big": i * 1.25,
                            "seen": f"202{i}-01-02T03:04:05Z",
                            "GlobalID": str(uuid.UUID(int=i + 1)),
                        },
                    }
                    for i, geometry in enumerate(geometries)
                ],
            }
            archive.writestr(name + ".geojson", json.dumps(collection))
    return path


@dataclass
class EditSite:
    live: LiveSite
    token: str
    data: str  # the GeoPackage's path, or the postgis:// location of the schema

    def url(self, tail: str) -> str:
        return f"{self.live.http}/arcgis/rest/services/{SERVICE}/FeatureServer/{tail}"

    def post(self, tail: str, params: dict[str, Any]) -> Any:
        data = {
            "f": "json",
            "token": self.token,
            **{k: v for k, v in params.items() if v is not None},
        }
        response = CLIENT.post(self.url(tail), data=data)
        TALLY["requests"] += 1
        body = checked(response, f"POST {tail} {str(data)[:300]}")
        TALLY["refused" if refused(body) else "answered"] += 1
        if refused(body):
            error = body.get("error", body)
            MESSAGES[
                f"{tail.split('/')[-1]} {str(error.get('message') or error.get('messages'))[:50]}"
            ] += 1
        return body

    def rows(self) -> str:
        """A hash of every row of every table of the service's GeoPackage (or schema)."""
        if ON_POSTGIS:
            return pg.fingerprint(self.data)
        digest = hashlib.sha256()
        uri = f"file:{self.data}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=30)) as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
                )
            ]
            for table in tables:
                digest.update(table.encode())
                for row in conn.execute(f'SELECT * FROM "{table}" ORDER BY rowid'):
                    digest.update(repr(row).encode())
        return digest.hexdigest()


@pytest.fixture(scope="module")
def edit_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EditSite]:
    folder = tmp_path_factory.mktemp("fuzz-edits")
    live = make_site(folder / "site", lockout=LockoutPolicy(max_failures_per_address=10**9))
    token = live.token()
    answer = publish(
        live, token, _dataset(folder / "layers.zip"), SERVICE, capabilities="Query,Editing"
    )
    assert answer["status"] == "success", answer
    long_token = httpx.post(
        live.admin + "/generateToken",
        data={"username": ADMIN_USER, "password": ADMIN_PASSWORD, "client": "requestip",
              "expiration": "1440", "f": "json"},
    ).json()["token"]  # fmt: skip
    data = live.store.get_service("", SERVICE, "FeatureServer").data.location
    yield EditSite(live, str(long_token), data)
    live.stop()


def _results(body: object) -> list[dict[str, Any]]:
    """The per-feature results of an edit answer (layer or service level)."""
    found: list[dict[str, Any]] = []
    items = body if isinstance(body, list) else [body]
    for item in items:
        if not isinstance(item, dict):
            continue
        for key in ("addResults", "updateResults", "deleteResults"):
            found.extend(r for r in item.get(key) or [] if isinstance(r, dict))
    return found


def _rollback(value: str | None) -> bool:
    return value is None or value.strip().lower() == "true"


def edit(site: EditSite, tail: str, params: dict[str, Any], rollback: str | None) -> Any:
    """Send an edit; if it was refused, the GeoPackage must hold the rows it held before."""
    before = site.rows()
    body = site.post(tail, {**params, "rollbackOnFailure": rollback})
    results = _results(body)
    succeeded = [r for r in results if r.get("success") is True]
    TALLY["edits with a success"] += bool(succeeded)
    for r in results:
        if not r.get("success"):
            MESSAGES["result: " + str((r.get("error") or {}).get("description"))[:60]] += 1
    may_change = (
        not refused(body)
        and bool(succeeded)
        and (not _rollback(rollback) or len(succeeded) == len(results))
    )
    if not may_change:
        TALLY["unchanged checked"] += 1
        assert site.rows() == before, f"refused edit changed the layer: {tail} {body}"
    return body


# Four in five draws name a layer that exists.
LAYER_IDS = st.sampled_from(
    [*sorted(LAYERS) * 10, "-1", "4", "99", "00", "0x1", "\u0661", "9" * 30, " 0", "0.0", "%00"]
)
ROLLBACK = st.one_of(st.none(), st.none(), st.sampled_from(["true", "false"]), BOOLEAN_TEXT)
EXISTING_IDS = mostly(st.integers(1, 8), st.none() | PARAMETER_TEXT | WRONG)


def _geometries(layer: str) -> st.SearchStrategy[Any]:
    """Mostly the layer's own geometry type, sometimes any."""
    return mostly(LAYERS.get(layer, POINTS), GEOMETRIES)


@st.composite
def _layer_and_features(draw: st.DrawFn, ids: st.SearchStrategy[Any]) -> tuple[str, str]:
    layer = draw(LAYER_IDS)
    return layer, dump(draw(feature_lists(FIELDS, _geometries(layer), ids)))


@FUZZ
@given(target=_layer_and_features(st.none()), rollback=ROLLBACK, extra=st.booleans())
def test_add_features(
    edit_site: EditSite, target: tuple[str, str], rollback: str | None, extra: bool
) -> None:
    layer, text = target
    params = {"features": text, "returnEditMoment": "true" if extra else None}
    edit(edit_site, f"{layer}/addFeatures", params, rollback)


@FUZZ
@given(target=_layer_and_features(EXISTING_IDS), rollback=ROLLBACK)
def test_update_features(
    edit_site: EditSite, target: tuple[str, str], rollback: str | None
) -> None:
    layer, text = target
    edit(edit_site, f"{layer}/updateFeatures", {"features": text}, rollback)


WHERES = st.one_of(
    st.none(),
    PARAMETER_TEXT,
    st.sampled_from(
        [
            "1=0",
            "n > 99999999",
            "name = 'nobody'",
            "n = 2147483648",
            "n = 99999999999999999999",
            "big = 1e999",
            "seen < DATE '1900-01-01'",
            "GlobalID = '{00000000-0000-0000-0000-000000000000}'",
            "name LIKE '%' ESCAPE '!'",
            "1=1 OR",
        ]
    ),
)


@FUZZ
@given(
    layer=LAYER_IDS,
    object_ids=st.one_of(st.none(), PARAMETER_TEXT, st.sampled_from(["1", "1,2", "6,7,8"])),
    where=WHERES,
    geometry=st.one_of(st.none(), ENVELOPES.map(dump), GEOMETRIES.map(dump), PARAMETER_TEXT),
    geometry_type=st.one_of(st.none(), st.sampled_from(["esriGeometryEnvelope", "x"])),
    rollback=ROLLBACK,
)
def test_delete_features(
    edit_site: EditSite,
    layer: str,
    object_ids: str | None,
    where: str | None,
    geometry: str | None,
    geometry_type: str | None,
    rollback: str | None,
) -> None:
    params = {
        "objectIds": object_ids,
        "where": where,
        "geometry": geometry,
        "geometryType": geometry_type,
    }
    edit(edit_site, f"{layer}/deleteFeatures", params, rollback)


DELETES = st.one_of(
    st.none(),
    PARAMETER_TEXT,
    st.lists(st.one_of(st.integers(-3, 8), GUIDS, WRONG), max_size=4).map(dump),
    JSON_VALUES.map(dump),
)


@FUZZ
@given(
    layer=LAYER_IDS,
    adds=st.one_of(st.none(), st.deferred(lambda: _features_text(st.none()))),
    updates=st.one_of(st.none(), st.deferred(lambda: _features_text(EXISTING_IDS))),
    deletes=DELETES,
    rollback=ROLLBACK,
    global_ids=st.one_of(st.none(), BOOLEAN_TEXT),
)
def test_layer_apply_edits(
    edit_site: EditSite,
    layer: str,
    adds: str | None,
    updates: str | None,
    deletes: str | None,
    rollback: str | None,
    global_ids: str | None,
) -> None:
    params = {"adds": adds, "updates": updates, "deletes": deletes, "useGlobalIds": global_ids}
    edit(edit_site, f"{layer}/applyEdits", params, rollback)


def _features_text(ids: st.SearchStrategy[Any]) -> st.SearchStrategy[str]:
    return feature_lists(FIELDS, GEOMETRIES, ids).map(dump)


@st.composite
def _service_edits(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 9)) == 0:
        return dump(draw(JSON_VALUES))
    entries = []
    for _ in range(draw(st.integers(0, 3))):
        layer = draw(LAYER_IDS)
        odd = draw(st.integers(0, 9)) == 0
        entry: dict[str, Any] = {"id": draw(WRONG) if odd else layer}
        for key, ids in (("adds", st.none()), ("updates", EXISTING_IDS)):
            if draw(st.booleans()):
                entry[key] = draw(feature_lists(FIELDS, _geometries(layer), ids))
        if draw(st.booleans()):
            entry["deletes"] = draw(
                st.one_of(st.lists(st.one_of(st.integers(-3, 8), GUIDS), max_size=3), WRONG)
            )
        entries.append(entry)
    return dump(entries)


@FUZZ
@given(edits=_service_edits(), rollback=ROLLBACK, global_ids=st.one_of(st.none(), BOOLEAN_TEXT))
def test_service_apply_edits(
    edit_site: EditSite, edits: str, rollback: str | None, global_ids: str | None
) -> None:
    edit(edit_site, "applyEdits", {"edits": edits, "useGlobalIds": global_ids}, rollback)


QUERY_TEXT = {
    "where": WHERES,
    "objectIds": PARAMETER_TEXT,
    "outFields": st.one_of(PARAMETER_TEXT, st.sampled_from(["*", "name,n", "NAME, nope", ""])),
    "orderByFields": st.one_of(PARAMETER_TEXT, st.sampled_from(["n DESC", "seen ASC, name"])),
    "geometry": st.one_of(GEOMETRIES.map(dump), PARAMETER_TEXT, st.just("1,2,3,4")),
    "geometryType": st.sampled_from(
        ["esriGeometryEnvelope", "esriGeometryPoint", "esriGeometryPolygon", "nope", ""]
    ),
    "spatialRel": st.sampled_from(["esriSpatialRelIntersects", "esriSpatialRelWithin", "x"]),
    "inSR": st.one_of(PARAMETER_TEXT, SPATIAL_REFERENCES.map(dump)),
    "outSR": st.one_of(PARAMETER_TEXT, SPATIAL_REFERENCES.map(dump)),
    "resultOffset": PARAMETER_TEXT,
    "resultRecordCount": PARAMETER_TEXT,
    "maxAllowableOffset": PARAMETER_TEXT,
    "geometryPrecision": PARAMETER_TEXT,
    "distance": PARAMETER_TEXT,
    "units": st.sampled_from(["esriSRUnit_Meter", "esriSRUnit_Kilometer", "furlong", ""]),
    "time": PARAMETER_TEXT,
    "returnGeometry": BOOLEAN_TEXT,
    "returnCountOnly": BOOLEAN_TEXT,
    "returnIdsOnly": BOOLEAN_TEXT,
    "returnExtentOnly": BOOLEAN_TEXT,
    "returnDistinctValues": BOOLEAN_TEXT,
    "returnZ": BOOLEAN_TEXT,
    "returnM": BOOLEAN_TEXT,
    "groupByFieldsForStatistics": PARAMETER_TEXT,
    "outStatistics": st.one_of(
        PARAMETER_TEXT,
        st.lists(
            st.fixed_dictionaries(
                {
                    "statisticType": st.sampled_from(["count", "sum", "avg", "max", "x"]),
                    "onStatisticField": st.sampled_from([*FIELDS, "", "nope"]),
                },
                optional={"outStatisticFieldName": PARAMETER_TEXT},
            ),
            max_size=3,
        ).map(dump),
    ),
    "having": WHERES,
    "sqlFormat": st.sampled_from(["standard", "native", "none", "x"]),
    "f": st.sampled_from(["json", "pjson", "geojson", "pbf", "html", "x"]),
}


@FUZZ
@given(
    layer=LAYER_IDS,
    params=st.fixed_dictionaries({}, optional=QUERY_TEXT),
    method=st.sampled_from(["GET", "POST"]),
)
def test_query(edit_site: EditSite, layer: str, params: dict[str, str], method: str) -> None:
    params = {"f": "json", "where": "1=1", **params}
    if sum(len(str(v)) for v in params.values()) > 8_000:
        method = "POST"  # a URL that long is refused by the client itself
    response = CLIENT.request(
        method,
        edit_site.url(f"{layer}/query"),
        **({"params": params} if method == "GET" else {"data": params}),  # type: ignore[arg-type]
    )
    TALLY["requests"] += 1
    if params["f"] in ("json", "pjson", "geojson"):
        checked(response, f"{method} {layer}/query {str(params)[:300]}")
    else:
        assert response.status_code < 500, f"{layer}/query {params}: HTTP {response.status_code}"


def test_the_run_left_no_unhandled_exception(edit_site: EditSite) -> None:
    edit_site.live.flush_logs()
    records = edit_site.live.log_store.query(levels=["SEVERE"], limit=1_000_000)
    unhandled = [r.message for r in records if r.code == LogCode.INTERNAL_ERROR]
    print("\n".join(f"{n:5} {m}" for m, n in MESSAGES.most_common(15)))
    print(f"\nfuzz-edits ({EXAMPLES} examples per operation): {dict(TALLY)}")
    assert TALLY["requests"] > 0
    assert unhandled == []
