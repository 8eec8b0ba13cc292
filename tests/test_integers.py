"""``geosite.integers``: what is read as an integer, and the 400 that names the parameter."""

from __future__ import annotations

import pytest

from geosite.errors import InvalidParameter
from geosite.integers import INT64_MAX, INT64_MIN, in_range, integer, whole


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12, 12),
        (" 12 ", 12),
        ("+7", 7),
        ("-0", 0),
        (5.0, 5),
        (float(2**53), 2**53),
        (2**63, 2**63),  # read; the range decides
        (str(10**30), 10**30),
        (True, None),
        (float(2**53 + 2), None),  # a float that large is not an exact integer
        (1e30, None),
        (1.5, None),
        (float("nan"), None),
        (float("inf"), None),
        ("0x10", None),
        ("1e3", None),
        ("1.0", None),
        ("1_000", None),
        ("NaN", None),
        ("١٢", None),  # Arabic-Indic digits: int() takes them, an ArcGIS client never sends them
        ("9" * 41, None),
        ("", None),
        (None, None),
        ([1], None),
    ],
    ids=repr,
)
def test_whole(value: object, expected: int | None) -> None:
    assert whole(value) == expected


def test_range_and_message() -> None:
    assert integer(" 12 ", "pageSize", 1, 100) == 12
    assert in_range(2**63) is None and in_range(INT64_MAX) == INT64_MAX
    assert in_range(INT64_MIN) == INT64_MIN and in_range(INT64_MIN - 1) is None
    with pytest.raises(InvalidParameter) as error:
        integer(2**63, "objectIds")
    assert error.value.messages == [
        f"'objectIds' must be an integer from {INT64_MIN} to {INT64_MAX}."
    ]
    with pytest.raises(InvalidParameter) as error:
        integer("0x10", "pageSize", 1, 100)
    assert error.value.messages == ["'pageSize' must be an integer."]
