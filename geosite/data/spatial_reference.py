"""Spatial references as ArcGIS clients send them, resolved with pyproj, and written back.

A spatial reference arrives as a wkid (``4326``, ``"102003"``), as Esri JSON
(``{"wkid": 102718, "latestWkid": 2263}``, ``{"wkt": "PROJCS[...]"}``, ``{"wkt2": ...}``) or as
``"EPSG:4326"``. A wkid is looked up in PROJ's database under EPSG, then under ESRI (the
``1020xx``/``540xx`` codes ArcGIS Pro and the JS API send); a JSON object whose ``wkid`` is
unknown falls back to its ``latestWkid``, then to its WKT. Web Mercator's aliases (102100,
102113, 900913, 3785) are all EPSG:3857 (services-api §1.9).

Answers are written as ArcGIS writes them: ``{"wkid": 102100, "latestWkid": 3857}`` for Web
Mercator, the code asked for as ``wkid`` and its current successor in PROJ's database as
``latestWkid`` (102718 -> 2263), and ``{"wkt": ...}`` for a CRS no authority names.

Resolutions and transformers are cached: building a CRS from PROJ's database takes
milliseconds, and a query names its spatial references again on every request.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

import orjson
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError, ProjError

from geosite.errors import InvalidParameter, invalid_parameter

WEB_MERCATOR = 3857
#: Codes ArcGIS and older clients use for EPSG:3857; answered as Esri's 102100.
WEB_MERCATOR_ALIASES = frozenset({3857, 102100, 102113, 900913, 3785})
#: wkids are positive; the largest in use (900913) has six digits.
MAX_WKID = 2**31 - 1
#: The longest WKT accepted; real ones are a few kilobytes.
MAX_WKT = 32_768
_WKID_TEXT = re.compile(r"^[+-]?[0-9]{1,12}$")
_AUTHORITY_CODE = re.compile(r"^([A-Za-z]{1,16}):([0-9]{1,9})$")
_AUTHORITIES = ("EPSG", "ESRI")
#: Esri's names for the units of a coordinate system, by PROJ's unit name.
_ESRI_UNITS = {
    "degree": "esriDecimalDegrees",
    "metre": "esriMeters",
    "kilometre": "esriKilometers",
    "foot": "esriFeet",
    "US survey foot": "esriFeet",
    "British foot (1936)": "esriFeet",
    "Clarke's foot": "esriFeet",
    "Indian foot": "esriFeet",
    "yard": "esriYards",
    "mile": "esriMiles",
    "US survey mile": "esriMiles",
    "nautical mile": "esriNauticalMiles",
    "centimetre": "esriCentimeters",
    "millimetre": "esriMillimeters",
    "decimetre": "esriDecimeters",
    "inch": "esriInches",
}


@dataclass(frozen=True, eq=False)
class SpatialReference:
    """A resolved spatial reference: the CRS to transform with and the JSON to answer with.

    Resolutions are cached, so the same input gives the same object; ``same_as`` compares the
    coordinate systems themselves.
    """

    crs: CRS
    #: ``wkid`` and ``latestWkid`` as answered, or None for a CRS no authority names.
    wkid: int | None
    latest_wkid: int | None
    #: "EPSG:2263", "ESRI:102003", or "" (named by its WKT only).
    authority: str
    _wkt: str = field(default="", repr=False)

    def to_json(self) -> dict[str, Any]:
        """Esri JSON: ``{"wkid", "latestWkid"}``, or ``{"wkt"}`` without a wkid."""
        if self.wkid is None:
            return {"wkt": self._wkt}
        return {"wkid": self.wkid, "latestWkid": self.latest_wkid}

    def same_as(self, other: SpatialReference | None) -> bool:
        """Whether coordinates in ``other`` need no transformation to this one."""
        return other is not None and (other is self or bool(self.crs == other.crs))

    @cached_property
    def coordinate_bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) that coordinates in this spatial reference must lie within
        (``allowed_bounds``)."""
        return allowed_bounds(self.crs)

    def coordinates_problem(self, xmin: float, ymin: float, xmax: float, ymax: float) -> str:
        """Why coordinates spanning this box cannot be in this spatial reference ("": they
        can): not finite, or far outside its area of use."""
        low_x, low_y, high_x, high_y = self.coordinate_bounds
        if low_x <= xmin and xmax <= high_x and low_y <= ymin and ymax <= high_y:
            return ""  # NaN compares false: never here
        if not all(math.isfinite(v) for v in (xmin, ymin, xmax, ymax)):
            return "Coordinates must be finite numbers."
        name = self.authority or "of the layer"
        return (
            f"Coordinates lie far outside the area of spatial reference {name}: x must lie "
            f"within [{low_x:.10g}, {high_x:.10g}] and y within [{low_y:.10g}, {high_y:.10g}]."
        )

    @property
    def units(self) -> str:
        """Esri's name for the unit of the first axis (``esriMeters``, ``esriFeet``...)."""
        unit = self.crs.axis_info[0].unit_name if self.crs.axis_info else ""
        return _ESRI_UNITS.get(unit, "esriUnknownUnits")


#: The largest coordinate magnitude accepted in a CRS without an area of use.
MAX_COORDINATE = 1e15
#: Added on every side of a projected CRS's area of use, beyond its own width and height.
PROJECTED_MARGIN_M = 10_000_000.0
#: Longitudes may go round the world twice either way (0..360 and wrapped data); latitudes
#: only to the poles (with a rounding tolerance).
TURNS = 2
_LATITUDE_TOLERANCE = 1e-9


def allowed_bounds(crs: CRS) -> tuple[float, float, float, float]:
    """The box coordinates in ``crs`` must lie within (x east, y north, as stored).

    Geographic: longitudes within two turns either way, latitudes within the poles, in the
    CRS's angular unit. Projected: its area of use projected, widened on every side by its
    own width or height (whichever is larger) and 10,000 km. Otherwise (or when that fails):
    magnitudes up to 1e15.
    """
    fallback = (-MAX_COORDINATE, -MAX_COORDINATE, MAX_COORDINATE, MAX_COORDINATE)
    factor = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 0.0
    if not factor > 0:
        return fallback
    if crs.is_geographic:
        turn, quarter = 2 * math.pi / factor, math.pi / 2 / factor
        return (
            -TURNS * turn,
            -quarter - _LATITUDE_TOLERANCE,
            TURNS * turn,
            quarter + (_LATITUDE_TOLERANCE),
        )
    area = crs.area_of_use
    if area is None or crs.geodetic_crs is None:
        return fallback
    west, south, east, north = area.bounds
    if west > east:  # across the antimeridian: take every longitude
        west, east = -180.0, 180.0
    try:
        xmin, ymin, xmax, ymax = Transformer.from_crs(
            crs.geodetic_crs, crs, always_xy=True
        ).transform_bounds(west, south, east, north, densify_pts=21)
    except ProjError:
        return fallback
    if not all(math.isfinite(v) for v in (xmin, ymin, xmax, ymax)):
        return fallback
    margin = max(xmax - xmin, ymax - ymin) + PROJECTED_MARGIN_M / factor
    return (
        max(xmin - margin, -MAX_COORDINATE),
        max(ymin - margin, -MAX_COORDINATE),
        min(xmax + margin, MAX_COORDINATE),
        min(ymax + margin, MAX_COORDINATE),
    )


def unknown(parameter: str, value: object = None) -> InvalidParameter:
    """The 400 answered for a spatial reference that cannot be used."""
    small = isinstance(value, int) and -(10**12) < value < 10**12  # str(10**5000) raises
    shown = f" {value}" if small or (isinstance(value, str) and value) else ""
    shown = shown[:41]
    return invalid_parameter(parameter, f"Unknown spatial reference{shown}.")


def _horizontal(crs: CRS) -> CRS | None:
    """The 2D part of ``crs`` if it is geographic or projected, else None."""
    if crs.is_compound and crs.sub_crs_list:
        crs = crs.sub_crs_list[0]
    if not (crs.is_geographic or crs.is_projected) or not crs.axis_info:
        return None
    factors = [axis.unit_conversion_factor for axis in crs.axis_info]
    if not all(0 < f < 1e12 for f in factors):  # PROJ accepts UNIT["degree",0]
        return None
    ellipsoid = crs.ellipsoid
    if ellipsoid is None or not 1 < ellipsoid.semi_major_metre < 1e12:
        return None
    return crs


def _latest(crs: CRS, wkid: int) -> int:
    """The non-deprecated successor of a deprecated code (ESRI:102718 -> EPSG:2263)."""
    if not crs.is_deprecated:
        return wkid
    for successor in crs.get_non_deprecated():
        found = successor.to_authority()
        if found and found[0] in _AUTHORITIES and found[1].isdecimal():
            return int(found[1])
    return wkid


@lru_cache(maxsize=1024)
def _by_wkid(wkid: int) -> SpatialReference | None:
    if wkid in WEB_MERCATOR_ALIASES:
        crs = CRS.from_epsg(WEB_MERCATOR)
        answered = 102100 if wkid == WEB_MERCATOR else wkid
        return SpatialReference(crs, answered, WEB_MERCATOR, f"EPSG:{WEB_MERCATOR}")
    if not 0 < wkid <= MAX_WKID:
        return None
    for authority in _AUTHORITIES:
        try:
            found = _horizontal(CRS.from_authority(authority, str(wkid)))
        except CRSError:
            continue
        if found is not None:
            name = found.to_authority() or (authority, str(wkid))
            return SpatialReference(found, wkid, _latest(found, wkid), ":".join(name))
    return None


def from_crs(crs: CRS, min_confidence: int = 70) -> SpatialReference:
    """The spatial reference of a CRS read from data or WKT: its wkid when PROJ names it.

    A CRS that EPSG or ESRI names with at least ``min_confidence`` (PROJ's 0-100 match) is
    answered with that wkid; any other keeps its WKT (Esri's WKT1 dialect, else WKT2).
    """
    horizontal = _horizontal(crs)
    if horizontal is None:
        raise unknown("spatialReference")
    try:  # one search of every authority: asking EPSG alone for an ESRI CRS takes 0.5 s
        matches = horizontal.list_authority(min_confidence=min_confidence)
    except CRSError:
        matches = []
    for match in matches:
        if match.auth_name in _AUTHORITIES and match.code.isdecimal():
            known = _by_wkid(int(match.code))
            if known is not None:
                return known
    wkt = horizontal.to_wkt("WKT1_ESRI") or horizontal.to_wkt("WKT2_2019") or ""
    return SpatialReference(horizontal, None, None, "", wkt)


@lru_cache(maxsize=256)
def _by_wkt(text: str) -> SpatialReference | None:
    try:
        return from_crs(CRS.from_wkt(text), min_confidence=100)
    except (CRSError, InvalidParameter):
        return None


@lru_cache(maxsize=256)
def _by_authority(authority: str, code: str) -> SpatialReference | None:
    if authority.upper() in _AUTHORITIES:
        return _by_wkid(int(code))
    try:
        return from_crs(CRS.from_authority(authority, code), min_confidence=100)
    except (CRSError, InvalidParameter):
        return None


def _wkid(value: object, parameter: str) -> int:
    """A wkid from JSON: an integer, an integral float, or decimal text."""
    if isinstance(value, bool):
        raise unknown(parameter)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _WKID_TEXT.match(value.strip()):
        return int(value.strip())
    raise unknown(parameter)


def _from_wkid(value: int, parameter: str) -> SpatialReference:
    found = _by_wkid(value) if -MAX_WKID <= value <= MAX_WKID else None
    if found is None:
        raise unknown(parameter, value)
    return found


def _from_text(text: str, parameter: str) -> SpatialReference:
    if len(text) > MAX_WKT:
        raise invalid_parameter(parameter, "The spatial reference is too long.")
    if "[" not in text:
        raise unknown(parameter)
    found = _by_wkt(text)
    if found is None:
        raise unknown(parameter)
    return found


def _from_object(value: dict[str, Any], parameter: str) -> SpatialReference:
    """Esri JSON: ``wkid``, else ``latestWkid``, else ``wkt2`` or ``wkt``."""
    for key in ("wkid", "latestWkid"):
        if value.get(key) is not None:
            found = _by_wkid(_wkid(value[key], parameter))
            if found is not None:
                return found
    for key in ("wkt2", "wkt"):
        text = value.get(key)
        if isinstance(text, str) and text.strip():
            return _from_text(text.strip(), parameter)
    wkid = value.get("wkid", value.get("latestWkid"))
    raise unknown(parameter, wkid if isinstance(wkid, int) else None)


def resolve(value: object, parameter: str) -> SpatialReference:
    """A spatial reference from a wkid, its text, ``AUTH:CODE``, WKT, or Esri JSON.

    Anything else (unknown codes, garbage WKT, wrong JSON types) is a 400 naming
    ``parameter``.
    """
    if isinstance(value, SpatialReference):
        return value
    if isinstance(value, str):
        text = value.strip()
        if _WKID_TEXT.match(text):
            return _from_wkid(int(text), parameter)
        named = _AUTHORITY_CODE.match(text)
        if named:
            found = _by_authority(named.group(1), named.group(2))
            if found is None:
                raise unknown(parameter, text)
            return found
        if text.startswith(("{", '"')):
            if len(text) > MAX_WKT:
                raise invalid_parameter(parameter, "The spatial reference is too long.")
            try:
                value = orjson.loads(text)
            except orjson.JSONDecodeError:
                raise invalid_parameter(
                    parameter, "Expected a wkid or a spatial reference."
                ) from None
            if isinstance(value, str):
                raise unknown(parameter)
        else:
            return _from_text(text, parameter)
    if isinstance(value, dict):
        return _from_object(value, parameter)
    if isinstance(value, int) and not isinstance(value, bool):
        return _from_wkid(value, parameter)
    raise unknown(parameter)


def units_of(value: object) -> str:
    """Esri's name for the units of a spatial reference's coordinates (``esriMeters``...),
    ``esriUnknownUnits`` when it cannot be resolved."""
    try:
        return resolve(value, "spatialReference").units
    except InvalidParameter:
        return "esriUnknownUnits"


def esri_json(value: object) -> dict[str, Any]:
    """The Esri JSON ArcGIS answers for a spatial reference given in any accepted form."""
    return resolve(value, "spatialReference").to_json()


@lru_cache(maxsize=256)
def _transformer(source: SpatialReference, target: SpatialReference) -> Transformer:
    return Transformer.from_crs(source.crs, target.crs, always_xy=True)


def transformer(
    source: SpatialReference, target: SpatialReference, parameter: str = "outSR"
) -> Transformer | None:
    """A cached x/y transformer between two spatial references (None: nothing to do).

    pyproj's transformers are thread-safe since 3.1, so one is shared by every request.
    """
    if source.same_as(target):
        return None
    try:
        return _transformer(source, target)
    except ProjError:
        raise invalid_parameter(
            parameter, "No transformation between these spatial references."
        ) from None
