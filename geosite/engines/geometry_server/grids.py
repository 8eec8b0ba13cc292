"""MGRS, USNG, GeoRef and GARS strings for ``toGeoCoordinateString`` and
``fromGeoCoordinateString``, through pygeodesy (``mgrs``, ``utm``, ``ups``, ``wgrs``, ``gars``).

- **MGRS** and **USNG**: UTM between 80°S and 84°N, UPS at the poles (bands ``A``/``B`` and
  ``Y``/``Z``), on the ellipsoid of ``sr``. ``numOfDigits`` (0 to 8; MGRS 5, USNG 8 by
  default) digits each for easting and northing; ``rounding`` (default true) rounds to the
  nearest, else truncates; ``addSpaces`` (MGRS false, USNG true by default) writes
  ``18S UJ 23483 06479`` rather than ``18SUJ2348306479``. ``conversionMode`` for MGRS picks
  the 100 km square lettering: the new AA scheme (WGS 84, NAD 83, GRS 80...) or the old AL
  one (Clarke 1866, Clarke 1880, Bessel 1841, Bessel Namibia: its row letters are ten letters
  on), either from ``sr``'s ellipsoid (``mgrsDefault``) or forced, and whether the 180th
  meridian falls in zone 60 (the default) or zone 01. USNG always uses the AA scheme.
- **GeoRef**: ``numOfDigits`` (0 to 10, 5 by default) digits each of longitude and latitude
  minutes after the four letters; ``rounding`` as above.
- **GARS**: always the 5-minute key (``060LV48``). Read back, ``garsDefault`` (and
  ``garsLowerLeft``) gives the cell's south-west corner, ``garsCenter`` its centre.

Strings read back give the south-west corner of the square or cell they name, as ArcGIS does.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

from pygeodesy import a_f2Tuple, gars, mgrs, ups, utm, wgrs

from geosite.data.spatial_reference import SpatialReference
from geosite.errors import invalid_parameter

#: What pygeodesy raises for a place or string it cannot take (its errors subclass these).
_REFUSED = (ValueError, TypeError, ArithmeticError, IndexError, KeyError)

GRID_TYPES = ("MGRS", "USNG", "GeoRef", "GARS")
GRID_DIGITS = {"MGRS": 5, "USNG": 8, "GeoRef": 5, "GARS": 0}
MAX_GRID_DIGITS = {"MGRS": 8, "USNG": 8, "GeoRef": 10, "GARS": 0}
#: conversionMode for MGRS: (old AL lettering, or None for the sr's ellipsoid; 180° in zone 01)
MGRS_MODES: dict[str, tuple[bool | None, bool]] = {
    "mgrsdefault": (None, False),
    "mgrsnewstyle": (False, False),
    "mgrsoldstyle": (True, False),
    "mgrsnewwith180inzone01": (False, True),
    "mgrsoldwith180inzone01": (True, True),
}
#: conversionMode for GARS: whether a string is read as its cell's centre.
GARS_MODES = {"garsdefault": False, "garslowerleft": False, "garscenter": True}
#: Row letters of the 100 km squares; the old AL scheme starts them ten letters on.
_ROWS = "ABCDEFGHJKLMNPQRSTUV"
_OLD_ELLIPSOIDS = ("clarke 1866", "clarke 1880", "bessel 1841", "bessel namibia")
_MGRS = re.compile(r"^\s*(\d{1,2}\s*[C-HJ-NP-X]|[ABYZ])\s*([A-Z])([A-Z])([\d\s]*)$", re.I)


@dataclass(frozen=True)
class GridOptions:
    """How a grid string is written or read."""

    kind: str
    digits: int = 5
    rounding: bool = True
    spaces: bool = False
    old: bool | None = None  # MGRS lettering: AL (True), AA (False), or the sr's (None)
    zone01: bool = False  # MGRS: 180° in zone 01 rather than 60
    center: bool = False  # GARS read as the cell's centre


@lru_cache(maxsize=256)
def _ellipsoid(sr: SpatialReference) -> tuple[object, bool]:
    """pygeodesy's (a, f) of ``sr``'s ellipsoid, and whether MGRS letters it the old way."""
    ellipsoid = sr.crs.ellipsoid
    if ellipsoid is None:
        return a_f2Tuple(6378137.0, 1 / 298.257223563), False
    flattening = 1 / ellipsoid.inverse_flattening if ellipsoid.inverse_flattening else 0.0
    old = any(name in (ellipsoid.name or "").lower() for name in _OLD_ELLIPSOIDS)
    return a_f2Tuple(ellipsoid.semi_major_metre, flattening), old


def _shift_row(letters: str, by: int) -> str:
    return letters[0] + _ROWS[(_ROWS.index(letters[1]) + by) % len(_ROWS)]


def _mgrs(lon: float, lat: float, options: GridOptions, sr: SpatialReference) -> str:
    datum, old_ellipsoid = _ellipsoid(sr)
    old = options.kind == "MGRS" and (old_ellipsoid if options.old is None else options.old)
    lon = (lon + 180) % 360 - 180 if abs(lon) > 180 else lon
    unit = 10.0 ** (5 - options.digits)  # metres per last digit
    half = unit / 2 if options.rounding else 0.0
    grid: object
    if -80 <= lat < 84:
        zone = (1 if options.zone01 else 60) if abs(lon) == 180 else None
        at = utm.toUtm8(lat, lon, datum=datum, zone=zone)
        grid = utm.Utm(
            at.zone, at.hemisphere, at.easting + half, at.northing + half, band=at.band, datum=datum
        )
        polar = False
    else:
        at = ups.toUps8(lat, lon, datum=datum)
        grid = ups.Ups(
            at.zone, at.pole, at.easting + half, at.northing + half, band=at.band, datum=datum
        )
        polar = True
    parts = list(mgrs.toMgrs(grid).toStr(prec=options.digits - 5, sep=None))
    if old and not polar:
        parts[1] = _shift_row(parts[1], 10)
    parts = [part for part in parts if part]
    return " ".join(parts) if options.spaces else "".join(parts)


def _georef(lon: float, lat: float, options: GridOptions) -> str:
    if options.rounding:  # half the last digit's size, in degrees
        size = 1.0 if options.digits == 0 else 1 / 6 if options.digits == 1 else 1 / 60
        size /= 10 ** max(0, options.digits - 2)
        lat = min(lat + size / 2, 90.0)
        lon = lon + size / 2
    lon = (lon + 180) % 360 - 180
    return str(wgrs.Georef(lat, lon, precision=options.digits + 1))


def to_grid(lon: float, lat: float, options: GridOptions, sr: SpatialReference) -> str:
    """The MGRS, USNG, GeoRef or GARS string of a place (longitude and latitude on ``sr``'s
    datum); a place the grid cannot name is a 400 on ``coordinates``."""
    try:
        if options.kind == "GARS":
            return str(gars.encode(lat, (lon + 180) % 360 - 180, precision=2))
        if options.kind == "GeoRef":
            return _georef(lon, lat, options)
        return _mgrs(lon, lat, options, sr)
    except _REFUSED as error:
        raise invalid_parameter(
            "coordinates", f"No {options.kind} string for ({lon:.6f}, {lat:.6f}): {error}."
        ) from None


def _parse_mgrs(text: str, options: GridOptions, sr: SpatialReference, parameter: str) -> str:
    """``text`` checked and rewritten as pygeodesy reads MGRS: AA letters, spaces between."""
    found = _MGRS.match(text)
    if found is None:
        raise invalid_parameter(
            parameter, f"Expected a grid zone, a 100 km square and digits: '{text[:40]}'."
        )
    zone = found.group(1).replace(" ", "").upper()
    square = (found.group(2) + found.group(3)).upper()
    groups = found.group(4).split()
    if len(groups) == 1:
        if len(groups[0]) % 2:
            raise invalid_parameter(parameter, f"An odd number of digits: '{text[:40]}'.")
        half = len(groups[0]) // 2
        groups = [groups[0][:half], groups[0][half:]]
    if groups and (len(groups) != 2 or len(groups[0]) != len(groups[1])):
        raise invalid_parameter(
            parameter, f"Expected as many easting as northing digits: '{text[:40]}'."
        )
    if groups and len(groups[0]) > MAX_GRID_DIGITS["MGRS"]:
        raise invalid_parameter(parameter, f"At most 8 digits each: '{text[:40]}'.")
    _, old_ellipsoid = _ellipsoid(sr)
    old = options.kind == "MGRS" and (old_ellipsoid if options.old is None else options.old)
    if old and zone[0].isdigit():
        if square[1] not in _ROWS:
            raise invalid_parameter(parameter, f"Unknown 100 km square '{square}'.")
        square = _shift_row(square, -10)
    # pygeodesy reads "234" as 23400 m and 8 digits down to the millimetre; no digits name the
    # 100 km square, whose corner is "0 0"
    return " ".join([zone, square, *(groups or ["0", "0"])])


def from_grid(
    text: str, options: GridOptions, sr: SpatialReference, parameter: str
) -> tuple[float, float]:
    """The longitude and latitude (on ``sr``'s datum) a grid string names."""
    datum, _ = _ellipsoid(sr)
    try:
        if options.kind == "GARS":
            lat, lon, _precision = gars.decode3(text.strip().upper(), center=options.center)
        elif options.kind == "GeoRef":
            lat, lon, _precision = wgrs.decode3(text.strip().upper().replace(" ", ""), center=False)
        else:
            reference = mgrs.parseMGRS(_parse_mgrs(text, options, sr, parameter), datum=datum)
            lat, lon = reference.toLatLon(center=False)[:2]
    except _REFUSED:
        raise invalid_parameter(
            parameter, f"Not a valid {options.kind} string: '{text[:40]}'."
        ) from None
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise invalid_parameter(parameter, f"Not a valid {options.kind} string: '{text[:40]}'.")
    return float(lon), float(lat)
