"""Reading the plain values of settings sent as form fields or JSON (numbers as text too)."""

from __future__ import annotations

from geosite import integers


def whole_number(value: object, key: str, low: int, high: int) -> int:
    """``value`` as an integer from ``low`` to ``high``, or ArcGIS's 400 naming ``key``."""
    return integers.integer(value, key, low, high)
