"""What the measuring operations share: a spatial reference's ellipsoid, its linear unit, and
shapes moved to and from longitude/latitude on its own datum."""

from __future__ import annotations

import warnings
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Geod, Transformer
from pyproj.exceptions import CRSError, GeodError, ProjError

from geosite.data.spatial_reference import SpatialReference
from geosite.errors import InvalidParameter, invalid_parameter

#: Half the Earth's circumference: farther than any two places are apart.
HALF_EARTH_M = 20_037_508.343


@lru_cache(maxsize=128)
def _geod(sr: SpatialReference) -> Geod | None:
    try:
        return sr.crs.get_geod()
    except (CRSError, GeodError):
        return None


def geod(sr: SpatialReference, parameter: str) -> Geod:
    """The ellipsoid of ``sr``'s datum, to measure on."""
    found = _geod(sr)
    if found is None:
        raise invalid_parameter(parameter, "The spatial reference has no ellipsoid to measure on.")
    return found


def is_geographic(sr: SpatialReference) -> bool:
    """Whether ``sr``'s coordinates are longitudes and latitudes."""
    return bool(sr.crs.is_geographic)


def metres_per_unit(sr: SpatialReference) -> float:
    """Metres per coordinate unit of a projected ``sr`` (1 for anything else)."""
    axes = sr.crs.axis_info
    if not axes or sr.crs.is_geographic:
        return 1.0
    factor = float(axes[0].unit_conversion_factor)
    return factor if np.isfinite(factor) and factor > 0 else 1.0


@lru_cache(maxsize=128)
def _lonlat_transformers(sr: SpatialReference) -> tuple[Transformer, Transformer] | None:
    try:
        geographic = sr.crs.geodetic_crs
        if geographic is None:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            forward = Transformer.from_crs(sr.crs, geographic, always_xy=True)
            back = Transformer.from_crs(geographic, sr.crs, always_xy=True)
    except (CRSError, ProjError):
        return None
    return forward, back


def _moved(shape: Any, mover: Transformer, parameter: str) -> Any:
    def move(coords: np.ndarray) -> np.ndarray:
        x, y = mover.transform(coords[:, 0], coords[:, 1], errcheck=False)
        return np.column_stack([x, y])

    moved = shapely.transform(shape, move)
    if not np.isfinite(shapely.get_coordinates(moved)).all():
        raise invalid_parameter(parameter, "Coordinates lie outside the spatial reference's area.")
    return moved


def within(shapes: list[Any], sr: SpatialReference, parameter: str) -> None:
    """A 400 naming ``parameter`` when the shapes lie far outside ``sr``'s area."""
    if not shapes:
        return
    bounds = shapely.bounds(np.array(shapes, dtype=object))
    bounds = bounds[~np.isnan(bounds).any(axis=1)]  # empty shapes have no bounds
    if len(bounds):
        low = bounds.min(axis=0)
        high = bounds.max(axis=0)
        problem = sr.coordinates_problem(low[0], low[1], high[2], high[3])
        if problem:
            raise invalid_parameter(parameter, problem)


def to_lonlat(shape: Any, sr: SpatialReference, parameter: str) -> Any:
    """``shape`` in longitudes and latitudes on ``sr``'s own datum (a 400 when it lies far
    outside ``sr``'s area, or beyond the poles)."""
    if not shapely.is_empty(shape):
        problem = sr.coordinates_problem(*shapely.bounds(shape).tolist())
        if problem:
            raise invalid_parameter(parameter, problem)
    if is_geographic(sr):
        return shape
    movers = _lonlat_transformers(sr)
    if movers is None:
        raise invalid_parameter(parameter, "The spatial reference has no geographic datum.")
    return _moved(shape, movers[0], parameter)


def from_lonlat(shape: Any, sr: SpatialReference, parameter: str) -> Any:
    """``shape`` moved from longitudes and latitudes on ``sr``'s datum to ``sr``."""
    if is_geographic(sr):
        return shape
    movers = _lonlat_transformers(sr)
    if movers is None:
        raise invalid_parameter(parameter, "The spatial reference has no geographic datum.")
    return _moved(shape, movers[1], parameter)


def move_all(shapes: list[Any], mover: Transformer | None, parameter: str) -> list[Any]:
    """``move`` of each shape, all their coordinates in one pyproj call."""
    if mover is None or not shapes:
        return shapes
    return list(_moved(np.array(shapes, dtype=object), mover, parameter))


def move(shape: Any, mover: Transformer | None, parameter: str) -> Any:
    """``shape`` moved by ``mover`` (unchanged when None); a 400 when it leaves the world."""
    if mover is None:
        return shape
    return _moved(shape, mover, parameter)


@lru_cache(maxsize=128)
def _from_datum(source: SpatialReference, target: SpatialReference) -> Transformer | None:
    geographic = source.crs.geodetic_crs
    if geographic is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Transformer.from_crs(geographic, target.crs, always_xy=True)
    except (CRSError, ProjError):
        return None


def lonlat_to(
    shape: Any, source: SpatialReference, target: SpatialReference, parameter: str
) -> Any:
    """``shape``, in longitudes and latitudes on ``source``'s datum, moved to ``target``."""
    if source.same_as(target) and is_geographic(target):
        return shape
    mover = _from_datum(source, target)
    if mover is None:
        raise invalid_parameter(parameter, "No transformation to this spatial reference.")
    return _moved(shape, mover, parameter)


def local_crs(lon: float, lat: float, parameter: str) -> CRS:
    """An azimuthal equidistant CRS in metres centred on (lon, lat) on WGS 84."""
    if not (np.isfinite(lon) and np.isfinite(lat) and -90 <= lat <= 90):
        raise invalid_parameter(parameter, "The geometry lies outside the world.")
    try:
        return CRS.from_proj4(f"+proj=aeqd +lat_0={lat!r} +lon_0={lon!r} +units=m +datum=WGS84")
    except CRSError:
        raise invalid_parameter(parameter, "The geometry lies outside the world.") from None


def segmentized(shape: Any, step: float, parameter: str) -> Any:
    """``shape`` with no segment longer than ``step`` (a 400 when GEOS cannot: it runs out of
    memory on some self-crossing rings)."""
    if shapely.get_type_id(shape) in (3, 6) and not shapely.is_valid(shape):
        # GEOS took 270 s and then ran out of memory on a 200,000-vertex self-crossing ring.
        raise invalid_parameter(parameter, "A self-crossing polygon cannot be densified.")
    try:
        return shapely.segmentize(shape, step)
    except shapely.errors.GEOSException:
        raise invalid_parameter(parameter, "The geometry cannot be densified.") from None


def checked(value: float, parameter: str) -> float | str:
    """A finite measure, or "NaN" as ArcGIS writes a missing number."""
    return float(value) if np.isfinite(value) else "NaN"


def geodesic_failure(parameter: str) -> InvalidParameter:
    """A 400 for a shape pyproj cannot measure."""
    return invalid_parameter(parameter, "The geometry cannot be measured on the ellipsoid.")


__all__ = [
    "HALF_EARTH_M",
    "checked",
    "from_lonlat",
    "geod",
    "geodesic_failure",
    "is_geographic",
    "local_crs",
    "lonlat_to",
    "metres_per_unit",
    "move",
    "segmentized",
    "to_lonlat",
    "within",
]
