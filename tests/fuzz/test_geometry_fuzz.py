"""Fuzzing every GeometryServer operation (issue 17, item 2, with the limits of issue 16).

Hypothesis draws each parameter an operation's form names from the Esri JSON geometries of
``esri_strategies`` (single and in ``{geometryType, geometries}`` sets, with non-finite,
huge, degenerate and wrongly nested ones), spatial references (good, unknown, garbage),
units and parameter text. Each call must answer JSON per RFC 8259 (no NaN or Infinity
number anywhere) or raise the error tree's ``GeositeError`` (an ArcGIS envelope): never any
other exception. The engine is called directly (the HTTP mapping of errors is tested
elsewhere), so that the budget buys examples, not requests.

``make test`` runs ``examples(25)`` per operation; ``FUZZ_EXAMPLES`` runs more.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geosite.engines.geometry_server import OPERATIONS
from geosite.errors import GeositeError
from tests.fuzz.esri_strategies import (
    GEOMETRIES,
    PARAMETER_TEXT,
    SPATIAL_REFERENCES,
    dump,
    examples,
    fuzz_settings,
)

pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")
EXAMPLES = examples(25)
FUZZ = fuzz_settings(25)

TYPES = st.sampled_from(
    [
        "esriGeometryPoint",
        "esriGeometryMultipoint",
        "esriGeometryPolyline",
        "esriGeometryPolygon",
        "esriGeometryEnvelope",
        "esriGeometryBogus",
    ]
)
SETS = st.builds(
    lambda kind, items: {"geometryType": kind, "geometries": items},
    TYPES,
    st.lists(GEOMETRIES, max_size=4),
)
ONE = st.builds(lambda kind, item: {"geometryType": kind, "geometry": item}, TYPES, GEOMETRIES)
UNITS = st.sampled_from(
    ["9001", "9036", "esriSRUnit_Meter", "esriSRUnit_StatuteMile", "esriSquareKilometers",
     '{"areaUnit": "esriAcres"}', "furlong", "0", "-1"]
)  # fmt: skip
WORDS = st.sampled_from(
    ["true", "false", "planar", "geodesic", "preserveShape", "esriGeometryRelationTouch",
     "esriGeometryRelationRelation", 'RELATE(G1, G2, "T********")', "DMS", "UTM", "MGRS",
     "esriGeometryOffsetRounded", "1,2,3", "1e308", "NaN", "-Infinity", "1e-300"]
)  # fmt: skip
VALUES = st.one_of(
    SETS.map(dump),
    ONE.map(dump),
    GEOMETRIES.map(dump),
    st.lists(GEOMETRIES, max_size=3).map(dump),
    SPATIAL_REFERENCES.map(dump),
    UNITS,
    WORDS,
    PARAMETER_TEXT,
)


def _finite(value: Any, where: str = "") -> None:
    """Every number in the answer is finite (JSON cannot carry NaN or Infinity)."""
    if isinstance(value, float):
        assert math.isfinite(value), where
    elif isinstance(value, dict):
        for key, item in value.items():
            _finite(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _finite(item, f"{where}[{index}]")
    else:
        assert value is None or isinstance(value, str | int | bool), (where, type(value))


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_operation(name: str) -> None:
    operation = OPERATIONS[name]
    names = [parameter for parameter, _label in operation.parameters]

    # Mostly every parameter given (to get past "required"), sometimes some left out.
    every = st.fixed_dictionaries({n: VALUES for n in names})
    some = st.fixed_dictionaries({}, optional={n: VALUES for n in names})

    @FUZZ
    @given(st.one_of(every, every, every, some))
    def check(params: dict[str, str]) -> None:
        try:
            answer = operation.run(params.get)
        except GeositeError:
            return
        assert isinstance(answer, dict)
        _finite(answer)

    check()
