"""The GeometryServer's ``toGeoCoordinateString`` and ``fromGeoCoordinateString``.

Every ``conversionType`` ArcGIS knows: ``DD``, ``DDM``, ``DMS``, ``UTM`` (modes
``utmDefault``, a latitude band after the zone, and ``utmNorthSouth``, N or S), and through
:mod:`.grids` ``MGRS``, ``USNG``, ``GeoRef`` and ``GARS``. Coordinates are read and written in
longitude/latitude on ``sr``'s own datum (UTM and MGRS: on its ellipsoid), with the Norway and
Svalbard zone exceptions; UTM covers 80°S to 84°N (MGRS and USNG go on into UPS at the poles).
A ``conversionMode`` meant for another conversion type is ignored; an unknown one is a 400.

Strings are written latitude first: ``DD`` ``34.056900N 117.195600W`` (``numOfDigits``
decimals, 6 by default), ``DDM`` ``34 03.4140N 117 11.7360W`` (4), ``DMS``
``34 03 24.84N 117 11 44.16W`` (2), ``UTM`` ``11S 481985 3768490`` (``addSpaces=false``:
``11S4819853768490``). Reading accepts these, signed numbers, and N/S/E/W before or after.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

import numpy as np
import orjson
import shapely
from pyproj import CRS, Transformer
from pyproj.crs import ProjectedCRS
from pyproj.crs.coordinate_operation import UTMConversion
from pyproj.exceptions import CRSError, ProjError

from geosite.data.spatial_reference import SpatialReference
from geosite.engines.geometry_server._common import (
    MAX_GEOMETRIES,
    Getter,
    Operation,
    boolean,
    number,
    required_sr,
)
from geosite.engines.geometry_server.geodesy import from_lonlat, to_lonlat
from geosite.engines.geometry_server.grids import (
    GARS_MODES,
    GRID_DIGITS,
    GRID_TYPES,
    MAX_GRID_DIGITS,
    MGRS_MODES,
    GridOptions,
    from_grid,
    to_grid,
)
from geosite.errors import invalid_parameter

SUPPORTED = ("DD", "DDM", "DMS", "UTM", *GRID_TYPES)
DEFAULT_DIGITS = {"DD": 6, "DDM": 4, "DMS": 2, "UTM": 0, **GRID_DIGITS}
UTM_MODES = ("utmdefault", "utmnorthsouth")
MAX_DIGITS = 12
#: Latitude bands of UTM, 8° each from 80°S (X spans 72°N to 84°N).
BANDS = "CDEFGHJKLMNPQRSTUVWX"
_TOKENS = re.compile(r"[NSEWnsew]|[-+]?\d+(?:\.\d*)?|\.\d+")
_UTM = re.compile(r"^\s*(\d{1,2})\s*([A-Za-z])\s*(\d+(?:\.\d*)?)(?:\s+(\d+(?:\.\d*)?))?\s*$")


def _conversion_type(get: Getter) -> str:
    raw = get("conversionType")
    if raw is None:
        raise invalid_parameter("conversionType", "The parameter is required.")
    for known in SUPPORTED:
        if raw.strip().upper() == known.upper():
            return known
    raise invalid_parameter(
        "conversionType",
        f"Unknown conversion type '{raw[:40]}'; expected one of {', '.join(SUPPORTED)}.",
    )


def _mode(get: Getter, kind: str) -> str:
    """``conversionMode`` in lower case if it is meant for ``kind``, else its default."""
    raw = (get("conversionMode") or "").strip().lower()
    own = {"UTM": UTM_MODES, "MGRS": tuple(MGRS_MODES), "GARS": tuple(GARS_MODES)}.get(kind, ())
    if raw in own:
        return raw
    if raw and raw not in (*UTM_MODES, *MGRS_MODES, *GARS_MODES):
        raise invalid_parameter("conversionMode", f"Unknown conversion mode '{raw[:40]}'.")
    return own[0] if own else ""


def _north_south(get: Getter) -> bool:
    return _mode(get, "UTM") == "utmnorthsouth"


def _grid_options(get: Getter, kind: str, writing: bool) -> GridOptions:
    mode = _mode(get, kind)
    old, zone01 = MGRS_MODES.get(mode, (None, False))
    if not writing:
        return GridOptions(kind, old=old, zone01=zone01, center=GARS_MODES.get(mode, False))
    digits = DEFAULT_DIGITS[kind]
    if kind != "GARS":  # GARS is always written to the 5-minute key
        digits = int(number(get, "numOfDigits", digits))
        if not 0 <= digits <= MAX_GRID_DIGITS[kind]:
            raise invalid_parameter(
                "numOfDigits", f"Expected 0 to {MAX_GRID_DIGITS[kind]} for {kind}."
            )
    return GridOptions(
        kind,
        digits=digits,
        rounding=boolean(get, "rounding", True),
        spaces=boolean(get, "addSpaces", kind == "USNG"),
        old=old,
        zone01=zone01,
    )


def utm_zone(lon: float, lat: float) -> int:
    """The UTM zone of a place, with Norway's and Svalbard's exceptions."""
    lon = (lon + 180) % 360 - 180
    zone = int((lon + 180) // 6) % 60 + 1
    if 56 <= lat < 64 and 3 <= lon < 12:
        return 32
    if 72 <= lat <= 84 and 0 <= lon < 42:
        return 31 if lon < 9 else 33 if lon < 21 else 35 if lon < 33 else 37
    return zone


@lru_cache(maxsize=256)
def _utm(sr: SpatialReference, zone: int, south: bool) -> tuple[Transformer, Transformer]:
    geographic = sr.crs.geodetic_crs or CRS.from_epsg(4326)
    utm = ProjectedCRS(
        conversion=UTMConversion(str(zone), "S" if south else "N"), geodetic_crs=geographic
    )
    return (
        Transformer.from_crs(geographic, utm, always_xy=True),
        Transformer.from_crs(utm, geographic, always_xy=True),
    )


def _fixed(value: float, digits: int, width: int) -> str:
    """``value`` with ``digits`` decimals and at least ``width`` digits before the point."""
    text = f"{value:.{digits}f}"
    whole = text.partition(".")[0]
    return "0" * max(0, width - len(whole)) + text


def _sexagesimal(value: float, kind: str, digits: int, width: int) -> str:
    magnitude = abs(value)
    if kind == "DD":
        return _fixed(magnitude, digits, width)
    units = round(magnitude * (60 if kind == "DDM" else 3600) * 10**digits)
    per_degree = (60 if kind == "DDM" else 3600) * 10**digits
    degrees, rest = divmod(units, per_degree)
    if kind == "DDM":
        return f"{degrees:0{width}d} {_fixed(rest / 10**digits, digits, 2)}"
    whole_minutes, seconds_units = divmod(rest, 60 * 10**digits)
    seconds = _fixed(seconds_units / 10**digits, digits, 2)
    return f"{degrees:0{width}d} {whole_minutes:02d} {seconds}"


def _to_string(
    lon: float, lat: float, kind: str, digits: int, spaces: bool, ns: bool, sr: SpatialReference
) -> str:
    if kind != "UTM":
        lon = (lon + 180) % 360 - 180 if abs(lon) > 180 else lon
        lat_text = _sexagesimal(lat, kind, digits, 2) + ("N" if lat >= 0 else "S")
        lon_text = _sexagesimal(lon, kind, digits, 3) + ("E" if lon >= 0 else "W")
        return f"{lat_text} {lon_text}"
    if not -80 <= lat <= 84:
        raise invalid_parameter("coordinates", "UTM covers latitudes 80°S to 84°N only.")
    zone = utm_zone(lon, lat)
    forward, _ = _utm(sr, zone, lat < 0)
    easting, northing = forward.transform(lon, lat)
    letter = ("N" if lat >= 0 else "S") if ns else BANDS[min(int((lat + 80) // 8), 19)]
    east = _fixed(float(easting), digits, 6)
    north = _fixed(float(northing), digits, 7)
    parts = [f"{zone:02d}{letter}", east, north]
    return " ".join(parts) if spaces else "".join(parts)


def _coordinates(get: Getter) -> np.ndarray:
    raw = get("coordinates")
    if raw is None:
        raise invalid_parameter("coordinates", "The parameter is required.")
    try:
        value: Any = orjson.loads(raw)
        array = np.array(value, dtype=float)
    except (orjson.JSONDecodeError, ValueError, TypeError):
        raise invalid_parameter("coordinates", "Expected [[x, y], ...].") from None
    if array.ndim != 2 or array.shape[1] < 2 or len(array) > MAX_GEOMETRIES:
        raise invalid_parameter("coordinates", "Expected [[x, y], ...].")
    if not np.isfinite(array).all():
        raise invalid_parameter("coordinates", "Coordinates must be finite numbers.")
    return array[:, :2]


def _to_geo_coordinate_string(get: Getter) -> dict[str, Any]:
    sr = required_sr(get, "sr")
    kind = _conversion_type(get)
    grid = _grid_options(get, kind, True) if kind in GRID_TYPES else None
    ns = _north_south(get) if kind == "UTM" else False
    digits = 0
    if grid is None:
        digits = int(number(get, "numOfDigits", DEFAULT_DIGITS[kind]))
        if not 0 <= digits <= MAX_DIGITS:
            raise invalid_parameter("numOfDigits", f"Expected 0 to {MAX_DIGITS}.")
    spaces = boolean(get, "addSpaces", True)
    points = shapely.points(_coordinates(get))
    lonlat = shapely.get_coordinates(to_lonlat(shapely.MultiPoint(points), sr, "coordinates"))
    if lonlat.size and not (np.abs(lonlat[:, 1]) <= 90 + 1e-9).all():
        raise invalid_parameter("coordinates", "A latitude lies beyond a pole.")
    lonlat[:, 1] = np.clip(lonlat[:, 1], -90, 90)
    if grid is not None:
        return {"strings": [to_grid(float(x), float(y), grid, sr) for x, y in lonlat]}
    strings = [_to_string(float(x), float(y), kind, digits, spaces, ns, sr) for x, y in lonlat]
    return {"strings": strings}


def _angle(numbers: list[float], parameter: str) -> float:
    if not 1 <= len(numbers) <= 3:
        raise invalid_parameter(parameter, "Expected degrees, minutes and seconds.")
    sign = -1.0 if math.copysign(1.0, numbers[0]) < 0 else 1.0
    degrees = abs(numbers[0])
    rest = numbers[1:]
    if any(not 0 <= r < 60 for r in rest):
        raise invalid_parameter(parameter, "Minutes and seconds must lie within [0, 60).")
    return sign * (degrees + sum(r / 60.0 ** (i + 1) for i, r in enumerate(rest)))


def _groups(text: str, parameter: str) -> list[tuple[list[float], str]]:
    """The numbers of ``text`` grouped by the N/S/E/W letters before or after them."""
    groups: list[tuple[list[float], str]] = []
    numbers: list[float] = []
    prefix = ""
    for token in _TOKENS.findall(text):
        if not token.isalpha():
            numbers.append(float(token))
            continue
        letter = token.upper()
        if not numbers:
            if prefix:
                raise invalid_parameter(parameter, "Expected a latitude and a longitude.")
            prefix = letter
        elif prefix:  # the numbers had their letter before them: this one starts the next
            groups.append((numbers, prefix))
            numbers, prefix = [], letter
        else:
            groups.append((numbers, letter))
            numbers = []
    if numbers:
        groups.append((numbers, prefix))
    elif prefix:
        raise invalid_parameter(parameter, "Expected a number after the letter.")
    return groups


def _parse_latlon(text: str, parameter: str) -> tuple[float, float]:
    groups = _groups(text, parameter)
    if len(groups) == 1 and len(groups[0][0]) in (2, 4, 6) and not groups[0][1]:
        half = len(groups[0][0]) // 2
        groups = [(groups[0][0][:half], ""), (groups[0][0][half:], "")]
    if len(groups) != 2:
        raise invalid_parameter(parameter, "Expected a latitude and a longitude.")
    (first, a), (second, b) = groups
    if a in ("E", "W") and b in ("N", "S", ""):
        (first, a), (second, b) = (second, b), (first, a)
    if a not in ("N", "S", "") or b not in ("E", "W", ""):
        raise invalid_parameter(parameter, "Expected a latitude (N/S) and a longitude (E/W).")
    lat = _angle(first, parameter) * (-1 if a == "S" else 1)
    lon = _angle(second, parameter) * (-1 if b == "W" else 1)
    if abs(lat) > 90 or abs(lon) > 180:
        raise invalid_parameter(parameter, "The coordinates lie outside the world.")
    return lon, lat


def _parse_utm(text: str, ns: bool, sr: SpatialReference, parameter: str) -> tuple[float, float]:
    found = _UTM.match(text)
    if found is None:
        raise invalid_parameter(parameter, "Expected a UTM zone, a letter, easting and northing.")
    zone, letter = int(found.group(1)), found.group(2).upper()
    east_text, north_text = found.group(3), found.group(4)
    if north_text is None:  # no spaces: as many digits for easting as for northing, or one less
        digits = east_text
        if "." in digits or len(digits) < 2:
            raise invalid_parameter(parameter, "Expected easting and northing.")
        half = len(digits) // 2
        east_text, north_text = digits[:half], digits[half:]
    if not 1 <= zone <= 60:
        raise invalid_parameter(parameter, "UTM zones run from 1 to 60.")
    if ns:
        if letter not in "NS":
            raise invalid_parameter(parameter, "Expected N or S after the zone.")
        south = letter == "S"
    else:
        if letter not in BANDS:
            raise invalid_parameter(parameter, f"Unknown latitude band '{letter}'.")
        south = letter < "N"
    easting, northing = float(east_text), float(north_text)
    if not (0 <= easting <= 1_000_000 and 0 <= northing <= 10_000_000):
        raise invalid_parameter(parameter, "Easting or northing lies outside the zone.")
    _, back = _utm(sr, zone, south)
    lon, lat = back.transform(easting, northing)
    return float(lon), float(lat)


def _from_geo_coordinate_string(get: Getter) -> dict[str, Any]:
    sr = required_sr(get, "sr")
    kind = _conversion_type(get)
    ns = _north_south(get) if kind == "UTM" else False
    grid = _grid_options(get, kind, False) if kind in GRID_TYPES else None
    raw = get("strings")
    if raw is None:
        raise invalid_parameter("strings", "The parameter is required.")
    try:
        value: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise invalid_parameter("strings", 'Expected ["...", ...].') from None
    if not isinstance(value, list) or len(value) > MAX_GEOMETRIES:
        raise invalid_parameter("strings", 'Expected ["...", ...].')
    found = []
    for item in value:
        if not isinstance(item, str) or len(item) > 200:
            raise invalid_parameter("strings", "Expected strings.")
        if grid is not None:
            found.append(from_grid(item, grid, sr, "strings"))
        elif kind == "UTM":
            found.append(_parse_utm(item, ns, sr, "strings"))
        else:
            found.append(_parse_latlon(item, "strings"))
    if not found:
        return {"coordinates": []}
    try:
        moved = from_lonlat(shapely.MultiPoint(found), sr, "strings")
    except (ProjError, CRSError):
        raise invalid_parameter(
            "strings", "The coordinates lie outside the spatial reference."
        ) from None
    return {"coordinates": shapely.get_coordinates(moved).tolist()}


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "toGeoCoordinateString",
        _to_geo_coordinate_string,
        "Coordinates written as DD, DDM, DMS, UTM, MGRS, USNG, GeoRef or GARS strings.",
        (
            ("sr", "Spatial Reference"),
            ("coordinates", "Coordinates"),
            ("conversionType", "Conversion Type"),
            ("conversionMode", "Conversion Mode"),
            ("numOfDigits", "Number of Digits"),
            ("rounding", "Rounding"),
            ("addSpaces", "Add Spaces"),
        ),
    ),
    Operation(
        "fromGeoCoordinateString",
        _from_geo_coordinate_string,
        "Coordinates read from DD, DDM, DMS, UTM, MGRS, USNG, GeoRef or GARS strings.",
        (
            ("sr", "Spatial Reference"),
            ("strings", "Strings"),
            ("conversionType", "Conversion Type"),
            ("conversionMode", "Conversion Mode"),
        ),
    ),
)
