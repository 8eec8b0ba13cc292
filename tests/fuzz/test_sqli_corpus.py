"""The SQL-injection corpus against a live FeatureServer layer (security-and-reliability §4 R2).

Every payload of ``tests.fuzz.sqli_corpus`` goes over HTTP into every query parameter that
reaches SQL (or could be mistaken to): ``where``, ``outFields``, ``orderByFields``,
``groupByFieldsForStatistics``, ``outStatistics`` (its ``onStatisticField`` and
``outStatisticFieldName``), ``havingClause``, ``objectIds``, ``text``, ``time``, ``geometry``,
``distance``, ``resultOffset`` and ``resultRecordCount``. Each request is otherwise bounded to
three known object ids, so that an injection that escapes its clause shows as extra rows.

For every (parameter, payload): no 5xx (neither the HTTP status nor the envelope's code); the
answer is ArcGIS's 400 envelope or a normal answer within the bound (rows, object ids, field
names); no database error text in the body. Over the whole run: the GeoPackage's schema and
rows are unchanged (with ``GEOSITE_TEST_FEATURE_DATA=postgis``, the PostGIS schema's tables,
columns, indexes and rows), no ATTACH/VACUUM INTO file appeared, and the sleep-style payloads
take no longer than benign requests.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from geosite.demo import DATA_DIR
from tests import pg
from tests.conftest import ON_POSTGIS, LiveSite
from tests.fuzz.sqli_corpus import ATTACH_MARKER, corpus
from tests.http.test_publishing import publish

PAYLOADS = corpus()
BOUND = (1, 2, 3)  # every request is limited to these object ids
LAYER_FIELDS = {
    "OBJECTID",
    "pop_est",
    "continent",
    "name",
    "iso_a3",
    "gdp_md_est",
}
DB_ERRORS = (
    "sqlite",
    "syntax error",
    "no such",
    "operationalerror",
    "programmingerror",
    "psycopg",
    'near "',
    'near \\"',
    "traceback",
    "unrecognized token",
    "incomplete input",
    "sql logic error",
    "postgresql",
    "postgis",
    "sqlstate",
    "line 1:",
    "database answered",
)
SLEEP_DELTA_SECONDS = 0.2  # median of the sleep-style set against the median of benign requests
SLEEP_MAX_SECONDS = 1.5  # any single one (pg_sleep(2) or randomblob(1e9) would exceed it)


@dataclass
class Run:
    """What the corpus run saw, shared by the tests of this module."""

    requests: int = 0
    seconds: float = 0.0
    per_param: dict[str, dict[str, int]] = field(default_factory=dict)
    sleepy_seconds: list[float] = field(default_factory=list)
    benign_seconds: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Case:
    """How one parameter carries a payload, and what bounds the answer."""

    params: Callable[[str], dict[str, str]]
    benign: str
    statistics: bool = False  # the answer is grouped statistics, not features


def _stats(on: str = "OBJECTID", out: str = "n") -> str:
    return json.dumps(
        [{"statisticType": "count", "onStatisticField": on, "outStatisticFieldName": out}]
    )


_IDS = ",".join(map(str, BOUND))
_WHERE_BOUND = f"OBJECTID IN ({_IDS})"
_BASE = {"f": "json", "returnGeometry": "false", "outFields": "OBJECTID,name"}
_GROUPED = {
    "f": "json",
    "where": _WHERE_BOUND,
    "outStatistics": _stats(),
    "groupByFieldsForStatistics": "continent",
}
CASES: dict[str, Case] = {
    "where": Case(lambda p: {**_BASE, "objectIds": _IDS, "where": p}, "name <> 'x'"),
    "outFields": Case(lambda p: {**_BASE, "objectIds": _IDS, "outFields": "OBJECTID," + p}, "name"),
    "orderByFields": Case(lambda p: {**_BASE, "objectIds": _IDS, "orderByFields": p}, "name DESC"),
    "groupByFieldsForStatistics": Case(
        lambda p: {**_GROUPED, "groupByFieldsForStatistics": p}, "continent", statistics=True
    ),
    "outStatistics.onStatisticField": Case(
        lambda p: {**_GROUPED, "outStatistics": _stats(on=p)}, "pop_est", statistics=True
    ),
    "outStatistics.outStatisticFieldName": Case(
        lambda p: {**_GROUPED, "outStatistics": _stats(out=p)}, "total", statistics=True
    ),
    "havingClause": Case(
        lambda p: {**_GROUPED, "havingClause": p}, "COUNT(OBJECTID) > 0", statistics=True
    ),
    "objectIds": Case(lambda p: {**_BASE, "where": _WHERE_BOUND, "objectIds": "1," + p}, "2"),
    "text": Case(lambda p: {**_BASE, "objectIds": _IDS, "text": p}, "France"),
    "time": Case(lambda p: {**_BASE, "objectIds": _IDS, "time": p}, "0,1700000000000"),
    "geometry": Case(
        lambda p: {
            **_BASE,
            "objectIds": _IDS,
            "geometry": p,
            "geometryType": "esriGeometryEnvelope",
        },
        "-180,-90,180,90",
    ),
    "distance": Case(
        lambda p: {
            **_BASE,
            "objectIds": _IDS,
            "geometry": "35,-6",  # in Tanzania (object id 2)
            "geometryType": "esriGeometryPoint",
            "inSR": "4326",
            "distance": p,
            "units": "esriSRUnit_Kilometer",
        },
        "100",
    ),
    "resultOffset": Case(lambda p: {**_BASE, "objectIds": _IDS, "resultOffset": p}, "1"),
    "resultRecordCount": Case(lambda p: {**_BASE, "objectIds": _IDS, "resultRecordCount": p}, "2"),
}


@pytest.fixture(scope="module")
def layer(site: LiveSite, admin_token: str) -> str:
    path = DATA_DIR / "naturalearth_lowres.zip"
    assert publish(site, admin_token, path, "Injection")["status"] == "success"
    return site.http + "/arcgis/rest/services/Injection/FeatureServer/0/query"


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    # A reused loopback connection answers in ~40 ms here against ~4 ms for a fresh one (a
    # Nagle/delayed-ACK stall, reported separately): one connection per request keeps the
    # ~12,000 requests within the suite's budget.
    limits = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(timeout=30, limits=limits) as session:
        yield session


@pytest.fixture(scope="module")
def run() -> Run:
    return Run()


def _fingerprints(site: LiveSite) -> dict[str, str]:
    """Each GeoPackage of the site (or each service's PostGIS schema) and its fingerprint."""
    if ON_POSTGIS:
        locations = [s.data.location for s in site.store.list_services(None) if s.data.location]
        assert locations and all(loc.startswith("postgis://") for loc in locations), locations
        return {loc: pg.fingerprint(loc) for loc in locations}
    return {str(p): fingerprint(p) for p in sorted(site.data_dir.rglob("*.gpkg"))}


def fingerprint(path: Path) -> str:
    """The schema and every row of a GeoPackage, hashed (read-only)."""
    digest = hashlib.sha256()
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        schema = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name")
        for kind, name, _, sql in schema.fetchall():
            digest.update(repr((kind, name, sql)).encode())
            if kind == "table" and not name.startswith("sqlite_"):
                quoted = '"' + name.replace('"', '""') + '"'
                for row in conn.execute(f"SELECT * FROM {quoted} ORDER BY 1"):
                    digest.update(repr(row).encode())
    finally:
        conn.close()
    return digest.hexdigest()


@pytest.fixture(scope="module")
def before(site: LiveSite, layer: str) -> dict[str, str]:
    Path(ATTACH_MARKER).unlink(missing_ok=True)
    return _fingerprints(site)


def _ids(features: list[dict[str, Any]]) -> set[int]:
    return {int(f["attributes"]["OBJECTID"]) for f in features if "OBJECTID" in f["attributes"]}


def problems(case: Case, name: str, payload: str, answer: httpx.Response) -> list[str]:
    """What is wrong with the answer to one injection attempt (empty when nothing)."""
    if answer.status_code >= 500:
        return [f"HTTP {answer.status_code}"]
    found: list[str] = []
    # The errors quote the offending text back, truncated ("Unknown field 'sqlite_vers'"):
    # single-quoted excerpts and words of the payload are not evidence; the rest is.
    lowered = re.sub(r"'[^']*'", "''", answer.text.lower())
    for word in sorted(set(re.findall(r"\w+", payload.lower())), key=len, reverse=True):
        if len(word) >= 3:
            lowered = lowered.replace(word, "")
    found += [f"database text {marker!r}" for marker in DB_ERRORS if marker in lowered]
    try:
        body = answer.json()
    except ValueError:
        return [*found, "not JSON"]
    if "error" in body:
        code = body["error"].get("code")
        if not isinstance(code, int) or code >= 500:
            found.append(f"error code {code}")
        return found
    features = body.get("features")
    if not isinstance(features, list):
        return [*found, "neither an error nor features"]
    if case.statistics:
        # At most one group per bounded row; only the asked-for output names.
        if len(features) > len(BOUND):
            found.append(f"{len(features)} groups for {len(BOUND)} rows")
        for feature in features:
            extra = {k.lower() for k in feature["attributes"]} - {
                "continent",
                "n",
                "total",
                payload.lower(),
            }
            if extra and name != "groupByFieldsForStatistics":
                found.append(f"unexpected outputs {sorted(extra)[:3]}")
                break
        return found
    allowed = set(BOUND)
    if name == "objectIds":
        allowed = {1} | {int(n) for n in re.findall(r"\d+", payload) if len(n) < 10}
    ids = _ids(features)
    if not ids <= allowed:
        found.append(f"extra rows {sorted(ids - allowed)[:5]}")
    if len(features) > len(BOUND):
        found.append(f"{len(features)} features")
    for feature in features:
        if not set(feature["attributes"]) <= LAYER_FIELDS | {"iso_a3", "name"}:
            found.append(f"unexpected columns {sorted(feature['attributes'])[:5]}")
            break
    return found


@pytest.mark.parametrize("name", list(CASES))
def test_every_payload_in_every_parameter(
    name: str, layer: str, client: httpx.Client, run: Run, before: dict[str, str]
) -> None:
    case = CASES[name]
    baseline = client.get(layer, params=case.params(case.benign)).json()
    assert "error" not in baseline and baseline["features"], baseline
    failures: list[str] = []
    refused = 0
    start = time.perf_counter()
    for index, payload in enumerate(PAYLOADS):
        if index % 20 == 0:  # benign requests interleaved, for the timing comparison
            tick = time.perf_counter()
            client.get(layer, params=case.params(case.benign))
            run.benign_seconds.append(time.perf_counter() - tick)
        tick = time.perf_counter()
        answer = client.get(layer, params=case.params(payload.text))
        elapsed = time.perf_counter() - tick
        if payload.sleepy:
            run.sleepy_seconds.append(elapsed)
            if elapsed > SLEEP_MAX_SECONDS:
                failures.append(f"{payload.text[:80]!r}: took {elapsed:.2f} s")
        refused += answer.status_code < 500 and '"error"' in answer.text[:20]
        failures += [
            f"{payload.text[:80]!r}: {why}" for why in problems(case, name, payload.text, answer)
        ]
    seconds = time.perf_counter() - start
    run.requests += len(PAYLOADS)
    run.seconds += seconds
    run.per_param[name] = {
        "payloads": len(PAYLOADS),
        "refused": refused,
        "answered": len(PAYLOADS) - refused,
        "failures": len(failures),
        "ms": round(seconds * 1000),
    }
    assert not failures, f"{len(failures)} failures in {name}:\n" + "\n".join(failures[:25])


def test_database_unchanged_and_no_timing_channel(
    site: LiveSite, run: Run, before: dict[str, str]
) -> None:
    after = _fingerprints(site)
    assert after == before
    assert not Path(ATTACH_MARKER).exists()
    if not run.sleepy_seconds:
        pytest.skip("the corpus tests did not run")
    sleepy = statistics.median(run.sleepy_seconds)
    benign = statistics.median(run.benign_seconds)
    print(
        f"\nSQLi corpus: {len(PAYLOADS)} payloads x {len(run.per_param)} parameters = "
        f"{run.requests} requests in {run.seconds:.1f} s; median sleep-style "
        f"{sleepy * 1000:.1f} ms vs benign {benign * 1000:.1f} ms"
    )
    for name, counts in run.per_param.items():
        print(f"  {name}: {counts}")
    assert sleepy - benign < SLEEP_DELTA_SECONDS
