"""The GeometryServer's ``project`` and ``findTransformations``.

``project`` moves geometries from ``inSR`` to ``outSR`` with PROJ's best available
operation, or with the datum transformation ``transformation`` names (a wkid or
``{"wkid": n}``): among the operations PROJ knows between the two spatial references, the one
that goes through that EPSG transformation. ``transformForward`` says in which direction it
is applied, as in ArcGIS: ``true`` as it is defined (EPSG:1173 takes NAD27 to WGS 84),
``false`` inversely. Left out, the direction is the one the spatial references need. Asked
the other way than they need, the transformation is still applied as asked: ``inSR``'s
longitudes and latitudes are read as lying on the transformation's other datum, moved, and
written in ``outSR`` (so a NAD27 point projected to WGS 84 with EPSG:1173 and
``transformForward=false`` moves twice its shift the wrong way, as ArcGIS's does). A
transformation PROJ does not know between them is a 400 naming ``transformation``; one that
PROJ can apply only in the direction the references need (as part of a chain) is a 400
naming ``transformForward``.

``findTransformations`` lists the operations PROJ knows between ``inSR`` and ``outSR``, best
first, each as ArcGIS writes one: ``{"wkid", "latestWkid", "transformForward", "name"}`` for
a single datum transformation, ``{"geoTransforms": [...]}`` for a chain of them. Operations
with no EPSG code (PROJ's ballpark ones) are left out; spatial references on one datum need
none, and the list is empty.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from typing import Any

import orjson
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError, ProjError
from pyproj.transformer import TransformerGroup

from geosite.data.spatial_reference import SpatialReference, resolve, transformer
from geosite.engines.geometry_server._common import (
    ENVELOPE,
    Getter,
    Operation,
    boolean,
    geometries_json,
    number,
    parse_geometries,
    required_sr,
    shape_of,
)
from geosite.engines.geometry_server.geodesy import move_all, segmentized, to_lonlat, within
from geosite.errors import invalid_parameter

#: The most operations ``findTransformations`` answers.
MAX_RESULTS = 100


@lru_cache(maxsize=64)
def _group(source: SpatialReference, target: SpatialReference) -> tuple[Transformer, ...]:
    return _candidates(source.crs, target.crs)


def _candidates(source: CRS, target: CRS) -> tuple[Transformer, ...]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            group = TransformerGroup(source, target, always_xy=True)
    except (CRSError, ProjError):
        return ()
    return tuple(group.transformers)


def _steps(mover: Transformer) -> list[dict[str, Any]]:
    """The datum transformations ``mover`` goes through, as ArcGIS writes them."""
    steps = []
    for operation in mover.operations or ():
        if operation.type_name != "Transformation":
            continue
        ident = operation.to_json_dict().get("id") or {}
        authority = str(ident.get("authority", ""))
        code = ident.get("code")
        if not isinstance(code, int) or not authority.endswith(("EPSG", "ESRI", "EPSG)")):
            return []  # a step with no code: ArcGIS could not name this operation
        forward = not authority.startswith("INVERSE")
        name = operation.name.removeprefix("Inverse of ")
        steps.append({"wkid": code, "latestWkid": code, "transformForward": forward, "name": name})
    return steps


def _transformation_code(get: Getter) -> int | None:
    raw = get("transformation")
    if raw is None:
        return None
    try:
        value: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = raw
    if isinstance(value, dict):
        value = value.get("wkid", value.get("latestWkid"))
        if value is None and "geoTransforms" in orjson.loads(raw):
            raise invalid_parameter(
                "transformation", "Composite transformations are not supported; name one wkid."
            )
    try:
        code = int(str(value).strip())
    except ValueError:
        raise invalid_parameter("transformation", "Expected a transformation wkid.") from None
    if not 0 < code < 2**31:
        raise invalid_parameter("transformation", "Expected a transformation wkid.")
    return code


@lru_cache(maxsize=64)
def _against(
    code: int, source: SpatialReference, target: SpatialReference
) -> tuple[Transformer, ...]:
    """The moves that apply transformation ``code`` the other way than ``source`` to
    ``target`` needs: ``source`` to its longitudes and latitudes, those read as lying on
    ``target``'s datum and taken by ``code`` to ``source``'s, then written in ``target``."""
    start, end = source.crs.geodetic_crs, target.crs.geodetic_crs
    if start is None or end is None:
        return ()
    for candidate in _candidates(end, start):
        steps = _steps(candidate)
        if len(steps) == 1 and steps[0]["wkid"] == code:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return (
                    Transformer.from_crs(source.crs, start, always_xy=True),
                    candidate,
                    Transformer.from_crs(end, target.crs, always_xy=True),
                )
    return ()


def _movers(
    get: Getter, source: SpatialReference, target: SpatialReference
) -> tuple[Transformer, ...]:
    """The transformers that take ``source`` to ``target``, applied one after the other."""
    code = _transformation_code(get)
    if code is None:
        plain = transformer(source, target, "outSR")
        return () if plain is None else (plain,)
    raw = get("transformForward")
    asked = boolean(get, "transformForward") if raw is not None and raw.strip() else None
    for candidate in _group(source, target):
        directions = [
            step["transformForward"] for step in _steps(candidate) if step["wkid"] == code
        ]
        if not directions:
            continue
        if asked is None or asked == directions[0]:
            return (candidate,)
        against = _against(code, source, target)
        if not against:
            raise invalid_parameter(
                "transformForward",
                f"Transformation {code} applies here only with transformForward="
                f"{str(directions[0]).lower()}.",
            )
        return against
    raise invalid_parameter(
        "transformation",
        f"Transformation {code} is unknown or does not apply between these spatial references.",
    )


def _project(get: Getter) -> dict[str, Any]:
    geometries = parse_geometries(get, "geometries")
    source = required_sr(get, "inSR", geometries.spatial_reference)
    target = required_sr(get, "outSR")
    within(geometries.shapes, source, "geometries")
    movers = _movers(get, source, target)
    kind = geometries.geometry_type
    shapes = geometries.shapes
    if kind == ENVELOPE and movers:  # its edges bend: project them densified
        shapes = [segmentized(s, max(shapely.length(s) / 400, 1e-9), "geometries") for s in shapes]
    for mover in movers:
        shapes = move_all(shapes, mover, "geometries")
    return {"geometries": geometries_json(shapes, kind)}


def _find_transformations(get: Getter) -> dict[str, Any]:
    source = required_sr(get, "inSR")
    target = required_sr(get, "outSR")
    wanted = int(number(get, "numOfResults", 1))
    if wanted < 1:
        wanted = MAX_RESULTS if wanted == -1 else 1
    wanted = min(wanted, MAX_RESULTS)
    extent = get("extentOfInterest")
    area = None
    if extent is not None:
        try:
            box: Any = orjson.loads(extent)
        except orjson.JSONDecodeError:
            box = None
        if not isinstance(box, dict):
            raise invalid_parameter("extentOfInterest", "Expected an envelope.")
        area = _extent_in_degrees(box, source)
    found: list[dict[str, Any]] = []
    for candidate in _group(source, target):
        steps = _steps(candidate)
        if not steps:
            continue
        if area is not None and not _covers(candidate, area):
            continue
        found.append(steps[0] if len(steps) == 1 else {"geoTransforms": steps})
        if len(found) >= wanted:
            break
    return {"transformations": found}


def _extent_in_degrees(box: dict[str, Any], source: SpatialReference) -> Any:
    shape = shape_of(box, ENVELOPE, "extentOfInterest")
    if box.get("spatialReference") is not None:
        source = resolve(box["spatialReference"], "extentOfInterest")
    return to_lonlat(
        segmentized(shape, max(shapely.length(shape) / 40, 1e-9), "extentOfInterest"),
        source,
        "extentOfInterest",
    )


def _covers(candidate: Transformer, area: Any) -> bool:
    use = candidate.area_of_use
    if use is None:
        return True
    return bool(shapely.intersects(shapely.box(use.west, use.south, use.east, use.north), area))


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "project",
        _project,
        "Geometries moved from one spatial reference to another.",
        (
            ("geometries", "Geometries"),
            ("inSR", "Input Spatial Reference"),
            ("outSR", "Output Spatial Reference"),
            ("transformation", "Transformation"),
            ("transformForward", "Transform Forward"),
        ),
    ),
    Operation(
        "findTransformations",
        _find_transformations,
        "The datum transformations between two spatial references, best first.",
        (
            ("inSR", "Input Spatial Reference"),
            ("outSR", "Output Spatial Reference"),
            ("extentOfInterest", "Extent Of Interest"),
            ("numOfResults", "Number of Results"),
        ),
    ),
)

__all__ = ["OPERATIONS"]
