"""Integers from requests: one reading and one range check for every integer parameter.

A request's integers arrive as text (form fields, query strings, URL segments) or as JSON
numbers (inside ``features``, ``filter``, ``usagereport``...). Python's ``int`` would take
numbers of any size, ``1_000``, non-ASCII digits and integral floats such as ``1e30``; SQLite
takes signed 64-bit integers and raises ``OverflowError`` beyond. So every integer a request
gives is read here, and refused with ArcGIS's 400 naming the parameter when it is not a whole
number within the range the parameter allows (by default what SQLite holds).

Accepted: an ``int`` (not ``bool``), an integral ``float`` up to 2**53 (JSON ``5.0``), or decimal
text with an optional sign and surrounding white space (``" 12 "``, ``"-0"``, ``"+7"``).
Refused: anything else (``"0x10"``, ``"1e3"``, ``"1.5"``, ``"NaN"``, ``"1_000"``).
"""

from __future__ import annotations

import math
import re

from geosite.errors import InvalidParameter

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
#: Object ids are stable positive 32-bit integers (spec: services-api.md, summary item 5).
OBJECT_ID_MIN = 0
OBJECT_ID_MAX = INT32_MAX
#: Epoch milliseconds up to the end of year 9999 (what dates in answers can show).
TIME_MS_MAX = 253_402_300_799_999

_FLOAT_EXACT = 2**53
_DECIMAL = re.compile(r"[+-]?[0-9]{1,40}")


def whole(value: object) -> int | None:
    """``value`` as an integer, or None when it is not a whole number (range unchecked)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):  # JSON gives a float beyond 64 bits: exact up to 2**53 only
        exact = math.isfinite(value) and value.is_integer() and abs(value) <= _FLOAT_EXACT
        return int(value) if exact else None
    if isinstance(value, str):
        text = value.strip()
        return int(text) if _DECIMAL.fullmatch(text) else None
    return None


def in_range(value: object, low: int = INT64_MIN, high: int = INT64_MAX) -> int | None:
    """``value`` as an integer from ``low`` to ``high``, or None."""
    number = whole(value)
    return number if number is not None and low <= number <= high else None


def integer(value: object, name: str, low: int = INT64_MIN, high: int = INT64_MAX) -> int:
    """``value`` as an integer from ``low`` to ``high``, or a 400 that names ``name``."""
    number = whole(value)
    if number is None:
        raise InvalidParameter(f"'{name}' must be an integer.")
    if not low <= number <= high:
        raise InvalidParameter(f"'{name}' must be an integer from {low} to {high}.")
    return number
