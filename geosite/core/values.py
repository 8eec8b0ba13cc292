"""Reading the plain values of settings sent as form fields or JSON (numbers as text too)."""

from __future__ import annotations

from typing import Any

from geosite.errors import InvalidParameter


def whole_number(value: Any, key: str, low: int, high: int) -> int:
    """``value`` as an integer from ``low`` to ``high``, or ArcGIS's 400 naming ``key``."""
    try:
        number = int(str(value).strip())
    except ValueError:
        raise InvalidParameter(f"'{key}' must be a whole number.") from None
    if not low <= number <= high:
        raise InvalidParameter(f"'{key}' must be between {low} and {high}.")
    return number
