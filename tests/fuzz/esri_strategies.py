"""Hypothesis strategies for hostile ArcGIS input, and the checks every answer must pass.

The strategies write JSON *text*, not Python values, so that the tokens Python's ``json``
refuses to write reach the server: ``NaN``, ``Infinity``, ``-Infinity`` and ``1e999`` (a
literal that overflows a double), inside geometries and attribute values. A ``Raw`` value is
written as its text; everything else as ``json.dumps`` writes it.

Geometries cover the four Esri JSON types (point, multipoint, polyline, polygon): empty,
degenerate (one vertex, a two-point ring, repeated vertices), self-intersecting (a bow tie),
large (up to ``MAX_VERTICES`` vertices, built from a count so that a big example costs
Hypothesis nothing to shrink), NaN and infinite coordinates, wrong nesting and wrong types.
Attribute values cover every field type of the test layers: text of odd unicode and lengths,
integers past 16, 32 and 64 bits, floats, dates as epoch milliseconds and as text, GUIDs,
nulls and values of the wrong type.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

MAX_VERTICES = 3_000
#: One client (and connection pool) for the whole run: a new client per request costs more
#: than the request.
CLIENT = httpx.Client(timeout=120)


def fuzz_settings(default_examples: int) -> settings:
    """The suites' Hypothesis settings: ``FUZZ_EXAMPLES`` examples per operation (else
    ``default_examples``), derandomized with no example database so CI runs the same ones."""
    return settings(
        max_examples=examples(default_examples),
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        # Shrinking a failure costs thousands of requests: FUZZ_SHRINK=1 asks for the minimal one.
        phases=list(Phase) if os.environ.get("FUZZ_SHRINK") else [Phase.explicit, Phase.generate],
    )


def examples(default: int) -> int:
    """Examples per operation: ``FUZZ_EXAMPLES``, else ``default``."""
    return int(os.environ.get("FUZZ_EXAMPLES", str(default)))


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` nine times in ten, else ``bad`` (``one_of`` would draw them half and half)."""
    # Not 0 or 9: Hypothesis draws the bounds of a range more often than the rest.
    return st.integers(0, 9).flatmap(lambda i: bad if i == 4 else good)


@dataclass(frozen=True)
class Raw:
    """A JSON token written as is (``NaN``, ``Infinity``, ``1e999``...)."""

    text: str


def dump(value: object) -> str:
    """JSON text of ``value``; ``Raw`` parts are written verbatim."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{dump(str(k))}:{dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dump(v) for v in value) + "]"
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:  # a lone surrogate: only its escape can be sent
            return json.dumps(value)
        return json.dumps(value, ensure_ascii=False)  # the server decodes UTF-8
    return json.dumps(value)


# -- numbers and coordinates -------------------------------------------------------------------
NON_FINITE = st.sampled_from(
    [Raw("NaN"), Raw("Infinity"), Raw("-Infinity"), Raw("1e999"), Raw("-1e999"), Raw("1E400")]
)
HUGE_INTS = st.sampled_from(
    [
        2**15, -(2**15) - 1, 2**31, -(2**31) - 1, 2**53 + 1, 2**63, -(2**63) - 1, 2**64,
        10**30, -(10**40),
    ]
)  # fmt: skip
_FINITE = st.floats(allow_nan=False, allow_infinity=False)
CLEAN_COORDINATES = st.one_of(
    st.floats(-180, 180, allow_nan=False),
    st.integers(-1000, 1000),
    st.sampled_from([0.0, -0.0, 180.0, -180.0, 90.0, -90.0, 1e-300, 5e-324, 1e15, -1e15]),
)
# Mostly coordinates a parser accepts, so that examples reach the geometry checks and the
# write; one in six is non-finite, huge, or any double.
COORDINATES = st.one_of(
    CLEAN_COORDINATES,
    CLEAN_COORDINATES,
    CLEAN_COORDINATES,
    _FINITE,
    NON_FINITE,
    HUGE_INTS,
)
WRONG = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=8),
    st.sampled_from(["1", "NaN", "", [], {}, [[1, 2]], {"x": 1}]),
)
VALUE = COORDINATES | WRONG

# -- geometries ----------------------------------------------------------------------------------
POSITIONS = st.one_of(
    st.lists(CLEAN_COORDINATES, min_size=2, max_size=2),
    st.lists(COORDINATES, min_size=2, max_size=2),
    st.lists(COORDINATES, min_size=3, max_size=4),  # z, m
    st.lists(VALUE, max_size=5),  # short, long, wrong types
    VALUE,  # not a position at all
)
SPATIAL_REFERENCES = st.one_of(
    st.sampled_from(
        [
            {"wkid": 4326},
            {"wkid": 3857},
            {"wkid": 102100, "latestWkid": 3857},
            {"wkid": 0},
            {"wkid": -1},
            {"wkid": 2**40},
            {"wkid": "4326"},
            {"wkt": "GEOGCS[junk"},
            {"wkt": ""},
            {},
            None,
            "4326",
        ]
    ),
    st.fixed_dictionaries({"wkid": VALUE}),
)


def _closed(ring: list[list[float]]) -> list[list[float]]:
    return [*ring, ring[0]] if ring else ring


@st.composite
def shaped_paths(draw: st.DrawFn) -> list[list[list[float]]]:
    """Paths of a known shape: a big circle, a bow tie, spikes, repeated or collinear points."""
    kind = draw(st.sampled_from(["circle", "bowtie", "repeat", "line", "spike", "tiny"]))
    cx, cy = draw(st.floats(-170, 170)), draw(st.floats(-80, 80))
    if kind == "circle":
        n = draw(st.integers(3, MAX_VERTICES))
        r = draw(st.sampled_from([1e-9, 0.001, 1.0, 9.0]))
        ring = [
            [cx + r * math.cos(2 * math.pi * i / n), cy + r * math.sin(2 * math.pi * i / n)]
            for i in range(n)
        ]
        return [_closed(ring)]
    if kind == "bowtie":  # self-intersecting
        return [[[cx, cy], [cx + 1, cy + 1], [cx + 1, cy], [cx, cy + 1], [cx, cy]]]
    if kind == "repeat":
        n = draw(st.integers(1, 50))
        return [[[cx, cy]] * n]
    if kind == "line":  # collinear: a ring with no area
        return [[[cx, cy], [cx + 1, cy], [cx + 2, cy], [cx, cy]]]
    if kind == "spike":
        return [[[cx, cy], [cx + 1, cy], [cx + 1, cy + 1], [cx + 1, cy + 5], [cx + 1, cy + 1]]]
    return [[[cx, cy]]]  # one vertex


PATHS = st.one_of(
    shaped_paths(),
    st.lists(st.lists(POSITIONS, max_size=6), max_size=3),
    st.just([]),
    st.just([[]]),
    st.lists(POSITIONS, max_size=4),  # one level of nesting missing
    st.lists(st.lists(st.lists(POSITIONS, max_size=3), max_size=2), max_size=2),  # one too many
    VALUE,
)


def _with_extras(base: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    extras = st.fixed_dictionaries(
        {},
        optional={
            "spatialReference": SPATIAL_REFERENCES,
            "hasZ": VALUE,
            "hasM": VALUE,
            "curvePaths": VALUE,
        },
    )
    return st.tuples(base, mostly(st.just({}), extras)).map(lambda pair: {**pair[0], **pair[1]})


POINTS = _with_extras(
    st.fixed_dictionaries(
        {"x": VALUE, "y": VALUE}, optional={"z": VALUE, "m": VALUE}
    )  # x/y null: the empty point
    | st.fixed_dictionaries({}, optional={"x": VALUE, "y": VALUE})
)
MULTIPOINTS = _with_extras(
    st.fixed_dictionaries({"points": st.lists(POSITIONS, max_size=8) | PATHS})
    | st.builds(lambda paths: {"points": paths[0] if paths else []}, shaped_paths())
)
POLYLINES = _with_extras(st.fixed_dictionaries({"paths": PATHS}))
POLYGONS = _with_extras(
    st.fixed_dictionaries({"rings": PATHS}) | st.fixed_dictionaries({"curveRings": PATHS})
)
ENVELOPES = st.fixed_dictionaries(
    {"xmin": VALUE, "ymin": VALUE, "xmax": VALUE, "ymax": VALUE},
    optional={"spatialReference": SPATIAL_REFERENCES},
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | _FINITE | st.text(max_size=10) | NON_FINITE,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=10,
)
GEOMETRIES = st.one_of(POINTS, MULTIPOINTS, POLYLINES, POLYGONS, ENVELOPES, JSON_VALUES)

# -- attribute values ----------------------------------------------------------------------------
ODD_TEXT = st.one_of(
    st.text(max_size=40),
    st.text(st.characters(codec="utf-8"), max_size=300),  # past a 255-character field
    st.builds(lambda n, c: c * n, st.integers(250, 70_000), st.sampled_from(["a", "é", "🙂"])),
    st.sampled_from(
        [
            "",
            "\x00",
            "a\x00b",
            "\ud800",  # a lone surrogate (json.dumps writes it as an escape)
            "\u202e\u0645\ufeff",
            "' OR 1=1 --",
            '"; DROP TABLE x; --',
            "NULL",
            "%s%n",
            "{00000000-0000-0000-0000-000000000000}",
        ]
    ),
)
GUIDS = st.one_of(
    st.uuids().map(lambda u: "{" + str(u).upper() + "}"),
    st.uuids().map(str),
    st.sampled_from(["{}", "{not-a-guid}", "{00000000-0000-0000-0000-00000000000G}"]),
)
DATES = st.one_of(
    st.integers(-(2**62), 2**62),
    st.sampled_from([0, -1, 86_400_000, 253_402_300_800_000, -62_135_596_800_001]),
    st.sampled_from(["2024-01-02T03:04:05Z", "2024-13-45", "yesterday", "1e3", ""]),
)
ATTRIBUTE_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    HUGE_INTS,
    _FINITE,
    NON_FINITE,
    ODD_TEXT,
    GUIDS,
    DATES,
    st.sampled_from([[], {}, [1], {"a": 1}]),
)


#: Values a field of each type accepts, to reach the write as often as the refusals.
TYPED_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "esriFieldTypeString": st.text(max_size=40) | st.none(),
    "esriFieldTypeInteger": st.integers(-(2**31), 2**31 - 1) | st.none(),
    "esriFieldTypeSmallInteger": st.integers(-(2**15), 2**15 - 1) | st.none(),
    "esriFieldTypeDouble": st.floats(-1e300, 1e300) | st.none(),
    "esriFieldTypeDate": st.integers(-(2**40), 2**42) | st.none(),
    "esriFieldTypeGlobalID": st.uuids().map(lambda u: "{" + str(u).upper() + "}"),
}


def attributes(fields: dict[str, str]) -> st.SearchStrategy[dict[str, Any]]:
    """Attribute dictionaries for fields ``{name: esri type}``: mostly values of the field's
    type, else any value under the layer's names (any case) or unknown and odd names."""
    typed = st.fixed_dictionaries(
        {},
        optional={
            name: TYPED_VALUES[kind] for name, kind in fields.items() if kind in TYPED_VALUES
        },
    )
    names = st.one_of(
        st.sampled_from(sorted(fields)),
        st.sampled_from(sorted(fields)).map(str.upper),
        st.sampled_from(["", " ", "OBJECTID ", "Shape", "no_such_field", "名前", "a" * 300]),
    )
    odd = st.dictionaries(names, ATTRIBUTE_VALUES, max_size=6)
    return st.integers(0, 4).flatmap(lambda i: odd if i == 2 else typed)


def features(
    fields: dict[str, str], geometries: st.SearchStrategy[Any], ids: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """One edit feature: attributes (with ``ids`` under OBJECTID for updates) and geometry."""
    feature = st.fixed_dictionaries(
        {},
        optional={
            "attributes": mostly(
                st.tuples(attributes(fields), ids).map(
                    lambda pair: (
                        {**pair[0], "OBJECTID": pair[1]} if pair[1] is not None else pair[0]
                    )
                ),
                WRONG,
            ),
            "geometry": geometries,
        },
    )
    return mostly(feature, WRONG)


def feature_lists(
    fields: dict[str, str], geometries: st.SearchStrategy[Any], ids: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """The ``features``/``adds``/``updates`` parameter: a list of features, or anything."""
    return mostly(st.lists(features(fields, geometries, ids), max_size=4), JSON_VALUES)


# -- integer and string parameters ---------------------------------------------------------------
PARAMETER_TEXT = st.one_of(
    st.sampled_from(
        [
            "", " ", "0", "-1", "1", "2147483648", "-9223372036854775809", "99999999999999999999",
            "1e3", "0x10", "1.5", "NaN", "Infinity", "true", "false", "null", "[]", "{}",
            "1,2,3", "1,,2", ",", "1;2", "*", "%", "'", "\x00", "OBJECTID", "1=1", "\u0661",
        ]
    ),
    st.integers(-(2**70), 2**70).map(str),
    st.text(max_size=30),
)  # fmt: skip
BOOLEAN_TEXT = st.sampled_from(["true", "false", "TRUE", "yes", "1", "", "tru", "null"])


# -- checks --------------------------------------------------------------------------------------
def _reject_constant(token: str) -> object:
    raise ValueError(f"non-standard JSON token {token}")


def strict_json(text: str) -> Any:
    """Parse per RFC 8259: ``NaN``, ``Infinity`` and ``-Infinity`` are refused."""
    return json.loads(text, parse_constant=_reject_constant)


def _server_code(code: object) -> bool:
    # Edit results carry ArcGIS's own codes (1000, 1019...); 5xx are the server's errors.
    return isinstance(code, int) and 500 <= code < 600


def internal_errors(body: object) -> list[object]:
    """Every error of a 5xx code in an answer: the envelope's, or a result's."""
    found: list[object] = []
    if isinstance(body, dict):
        if body.get("status") == "error" and _server_code(body.get("code")):
            found.append(body)
        error = body.get("error")
        if isinstance(error, dict) and _server_code(error.get("code")):
            found.append(error)
        for value in body.values():
            found.extend(internal_errors(value))
    elif isinstance(body, list):
        for value in body:
            found.extend(internal_errors(value))
    return found


def checked(response: httpx.Response, what: str) -> Any:
    """The answer's JSON, after asserting it is no server error and is strict JSON."""
    assert response.status_code < 500, f"{what}: HTTP {response.status_code} {response.text[:500]}"
    try:
        body = strict_json(response.text)
    except ValueError as error:
        raise AssertionError(
            f"{what}: not RFC 8259 JSON ({error}): {response.text[:500]}"
        ) from None
    internal = internal_errors(body)
    assert not internal, f"{what}: code-500 error {str(internal)[:500]}"
    return body


def refused(body: object) -> bool:
    """Whether an answer is an error envelope."""
    return isinstance(body, dict) and ("error" in body or body.get("status") == "error")
