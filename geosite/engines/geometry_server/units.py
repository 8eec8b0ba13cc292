"""The linear and area units the GeometryServer's parameters name, with their sizes in metres
and square metres.

A linear unit arrives as an ``esriSRUnit_*`` name, an ``esriUnits`` name (``esriMeters``) or a
numeric code (the Projection Engine's factory code, 9001 for the metre); an area unit as an
``esriAreaUnits`` name (``esriSquareKilometers``), ``{"areaUnit": "esriAcres"}`` JSON, or a
factory code (109414 for the square kilometre). Sizes are the EPSG and Projection Engine ones.
"""

from __future__ import annotations

import math
from typing import Any

import orjson

from geosite.engines.geometry_server._common import Getter
from geosite.errors import invalid_parameter

_SURVEY_FOOT = 1200 / 3937

#: (esriSRUnit name, factory code, metres) of every linear unit in the REST reference's
#: esriSRUnitType and esriSRUnit2Type enumerations.
_LINEAR: tuple[tuple[str, int, float], ...] = (
    ("Meter", 9001, 1.0),
    ("Foot", 9002, 0.3048),
    ("SurveyFoot", 9003, _SURVEY_FOOT),
    ("ClarkeFoot", 9005, 0.3047972654),
    ("Fathom", 9014, 1.8288),
    ("NauticalMile", 9030, 1852.0),
    ("GermanMeter", 9031, 1.0000135965),
    ("SurveyChain", 9033, 66 * _SURVEY_FOOT),
    ("SurveyLink", 9034, 0.66 * _SURVEY_FOOT),
    ("SurveyMile", 9035, 5280 * _SURVEY_FOOT),
    ("Kilometer", 9036, 1000.0),
    ("ClarkeYard", 9037, 0.9143917962),
    ("ClarkeChain", 9038, 20.1166195164),
    ("ClarkeLink", 9039, 0.201166195164),
    ("SearsYard", 9040, 0.9143984146160287),
    ("SearsFoot", 9041, 0.3047994715386762),
    ("SearsChain", 9042, 20.11676512155263),
    ("SearsLink", 9043, 0.2011676512155263),
    ("Benoit1895A_Yard", 9050, 0.9143992),
    ("Benoit1895A_Foot", 9051, 0.3047997333333333),
    ("Benoit1895A_Chain", 9052, 20.1167824),
    ("Benoit1895A_Link", 9053, 0.201167824),
    ("Benoit1895B_Yard", 9060, 0.9143992042898124),
    ("Benoit1895B_Foot", 9061, 0.3047997347632708),
    ("Benoit1895B_Chain", 9062, 20.11678249437587),
    ("Benoit1895B_Link", 9063, 0.2011678249437587),
    ("Foot1865", 9070, 0.3048008333333334),
    ("IndianFoot", 9080, 0.3047995102481469),
    ("Indian1937Foot", 9081, 0.30479841),
    ("Indian1962Foot", 9082, 0.3047996),
    ("Indian1975Foot", 9083, 0.3047995),
    ("IndianYard", 9084, 0.9143985307444408),
    ("Indian1937Yard", 9085, 0.91439523),
    ("Indian1962Yard", 9086, 0.9143988),
    ("Indian1975Yard", 9087, 0.9143985),
    ("StatuteMile", 9093, 1609.344),
    ("GoldCoastFoot", 9094, 0.3047997101815088),
    ("British1936Foot", 9095, 0.3048007491),
    ("InternationalYard", 9096, 0.9144),
    ("InternationalChain", 9097, 20.1168),
    ("InternationalLink", 9098, 0.201168),
    ("SurveyYard", 109002, 3 * _SURVEY_FOOT),
    ("Decimeter", 109005, 0.1),
    ("Centimeter", 109006, 0.01),
    ("Millimeter", 109007, 0.001),
    ("InternationalInch", 109008, 0.0254),
    ("USsurveyInch", 109009, _SURVEY_FOOT / 12),
    ("InternationalRod", 109010, 5.0292),
    ("USsurveyRod", 109011, 16.5 * _SURVEY_FOOT),
    ("USNauticalMile", 109012, 1853.248),
    ("UKNauticalMile", 109013, 1853.184),
    ("50KilometerLength", 109030, 50_000.0),
    ("150KilometerLength", 109031, 150_000.0),
)

#: Metres per linear unit, by every name and code a request may use.
LINEAR_UNITS: dict[str, float] = {}
for _name, _code, _metres in _LINEAR:
    LINEAR_UNITS[f"esriSRUnit_{_name}"] = _metres
    LINEAR_UNITS[str(_code)] = _metres
LINEAR_UNITS.update(
    {
        # Later codes of the same units (esriSRUnit2Type in ArcGIS 10.x).
        "1033": 0.01,
        "1025": 0.001,
        # Short names clients write.
        "esriSRUnit_Inch": 0.0254,
        "esriSRUnit_Yard": 0.9144,
        "esriSRUnit_Mile": 1609.344,
        # esriUnits names (the SOAP API's WKIDs: feet, miles and yards are US survey ones).
        "esriMeters": 1.0,
        "esriKilometers": 1000.0,
        "esriDecimeters": 0.1,
        "esriCentimeters": 0.01,
        "esriMillimeters": 0.001,
        "esriInches": 0.0254,
        "esriFeet": _SURVEY_FOOT,
        "esriYards": 3 * _SURVEY_FOOT,
        "esriMiles": 5280 * _SURVEY_FOOT,
        "esriNauticalMiles": 1852.0,
        "esriIntFeet": 0.3048,
        "esriIntInches": 0.0254,
        "esriIntYards": 0.9144,
        "esriIntMiles": 1609.344,
        "esriIntNauticalMiles": 1852.0,
    }
)

#: (esriAreaUnits name, factory codes, square metres) of every area unit.
_AREA: tuple[tuple[str, tuple[int, ...], float], ...] = (
    ("esriSquareInches", (109453,), 0.0254**2),
    ("esriSquareFeet", (109405,), 0.3048**2),
    ("esriSquareYards", (109442,), 0.9144**2),
    ("esriAcres", (109402,), 4046.8564224),
    ("esriSquareMiles", (109439, 109413), 1609.344**2),
    ("esriSquareMillimeters", (109452,), 1e-6),
    ("esriSquareCentimeters", (109451,), 1e-4),
    ("esriSquareDecimeters", (109450,), 1e-2),
    ("esriSquareMeters", (109404,), 1.0),
    ("esriAres", (109463,), 100.0),
    ("esriHectares", (109401,), 10_000.0),
    ("esriSquareKilometers", (109414,), 1e6),
)

#: Square metres per area unit, by every name and code a request may use.
AREA_UNITS: dict[str, float] = {}
for _area_name, _codes, _square_metres in _AREA:
    AREA_UNITS[_area_name] = _square_metres
    for _code in _codes:
        AREA_UNITS[str(_code)] = _square_metres
AREA_UNITS["109403"] = 4046.872609874252  # the US survey acre


def _named(raw: str, table: dict[str, float], key: str) -> str:
    text = raw.strip()
    if text.startswith("{"):
        try:
            value: Any = orjson.loads(text)
        except orjson.JSONDecodeError:
            return text
        if isinstance(value, dict):
            inner = value.get(key, value.get("wkid", ""))
            return str(inner).strip()
    return text


def linear_unit(get: Getter, name: str) -> float | None:
    """Metres per unit of the linear unit parameter ``name`` (None when absent)."""
    raw = get(name)
    if raw is None:
        return None
    found = LINEAR_UNITS.get(_named(raw, LINEAR_UNITS, "unit"))
    if found is None:
        raise invalid_parameter(name, f"Unknown linear unit '{raw[:40]}'.")
    return found


def area_unit(get: Getter, name: str = "areaUnit") -> float | None:
    """Square metres per unit of the area unit parameter ``name`` (None when absent)."""
    raw = get(name)
    if raw is None:
        return None
    found = AREA_UNITS.get(_named(raw, AREA_UNITS, "areaUnit"))
    if found is None:
        raise invalid_parameter(name, f"Unknown area unit '{raw[:40]}'.")
    return found


#: Radians per angular unit, by esriSRUnit name, factory code and esriUnits name: the units a
#: planar measure in a geographic spatial reference can be written in.
ANGULAR_UNITS: dict[str, float] = {}
for _angle_name, _angle_code, _radians in (
    ("Radian", 9101, 1.0),
    ("Degree", 9102, math.pi / 180),
    ("ArcMinute", 9103, math.pi / 10_800),
    ("ArcSecond", 9104, math.pi / 648_000),
    ("Grad", 9105, math.pi / 200),
    ("Gon", 9106, math.pi / 200),
    ("Microradian", 9109, 1e-6),
    ("ArcMinuteCentesimal", 9112, math.pi / 20_000),
    ("ArcSecondCentesimal", 9113, math.pi / 2_000_000),
    ("Mil6400", 9114, 2 * math.pi / 6400),
):
    ANGULAR_UNITS[f"esriSRUnit_{_angle_name}"] = _radians
    ANGULAR_UNITS[str(_angle_code)] = _radians
ANGULAR_UNITS["esriDecimalDegrees"] = math.pi / 180


def angular_unit(get: Getter, name: str) -> float | None:
    """Radians per unit of parameter ``name`` when it names an angular unit, else None."""
    raw = get(name)
    if raw is None:
        return None
    return ANGULAR_UNITS.get(_named(raw, ANGULAR_UNITS, "unit"))
