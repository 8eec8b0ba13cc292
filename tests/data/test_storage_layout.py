"""The site's GeoPackages: spatial row order at import, and points read straight from blobs."""

import pickle
import sqlite3
from pathlib import Path

import numpy as np
import pyogrio.raw
import pytest
import shapely

from geosite.data import geopackage
from geosite.data.importer import SPATIAL_ORDER_MIN, import_dataset, spatial_order
from geosite.data.isolated import import_isolated
from geosite.errors import GeositeError, InvalidParameter, invalid_parameter


def _points_file(path: Path, count: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(-180, 180, count), rng.uniform(-85, 85, count)
    pyogrio.raw.write(
        path,
        shapely.to_wkb(shapely.points(x, y)),
        [np.arange(1, count + 1, dtype="int32"), np.round(x * 1000).astype("int64")],
        ["source_id", "x_milli"],
        layer="pts",
        driver="GPKG",
        geometry_type="Point",
        crs="EPSG:4326",
    )
    return x, y


def _rows(gpkg: Path, table: str) -> list[tuple[int, int, int, bytes]]:
    with sqlite3.connect(gpkg) as conn:
        sql = f'SELECT OBJECTID, source_id, x_milli, "Shape" FROM "{table}" ORDER BY OBJECTID'
        return conn.execute(sql).fetchall()


def test_large_layers_are_stored_in_spatial_order(tmp_path: Path) -> None:
    count = SPATIAL_ORDER_MIN + 500
    x, y = _points_file(tmp_path / "src.gpkg", count)
    (layer,) = import_dataset(tmp_path / "src.gpkg", tmp_path / "out.gpkg")
    assert layer["count"] == count
    rows = _rows(tmp_path / "out.gpkg", layer["table"])
    assert [r[0] for r in rows] == list(range(1, count + 1))  # OBJECTIDs 1..n, no gaps
    assert sorted(r[1] for r in rows) == list(range(1, count + 1))  # every feature once
    coords = geopackage.point_coordinates([r[3] for r in rows])
    assert coords is not None
    # Each row's attributes moved with its geometry.
    for (_oid, source_id, _x_milli, _blob), (cx, cy) in zip(rows, coords.tolist(), strict=True):
        assert (cx, cy) == (x[source_id - 1], y[source_id - 1])
    # Neighbours in OBJECTID order are neighbours on the map: far closer than in source order.
    step = np.hypot(*np.diff(coords, axis=0).T)
    source_step = np.hypot(np.diff(x), np.diff(y))
    assert np.median(step) * 20 < np.median(source_step)


def test_small_layers_keep_source_order(tmp_path: Path) -> None:
    _points_file(tmp_path / "src.gpkg", 500)
    (layer,) = import_dataset(tmp_path / "src.gpkg", tmp_path / "out.gpkg")
    rows = _rows(tmp_path / "out.gpkg", layer["table"])
    assert [r[1] for r in rows] == [r[0] for r in rows] == list(range(1, 501))


def test_spatial_order_is_a_permutation_with_missing_shapes_last() -> None:
    shapes = np.array(
        [shapely.Point(5, 5), None, shapely.Point(0, 0), shapely.Point(), shapely.Point(1, 1)],
        dtype=object,
    )
    order = spatial_order(shapes)
    assert sorted(order.tolist()) == [0, 1, 2, 3, 4]
    assert order.tolist()[:3] == [2, 4, 0]  # (0,0), (1,1), (5,5) along the curve
    assert set(order.tolist()[3:]) == {1, 3}
    assert spatial_order(np.array([None, None], dtype=object)).tolist() == [0, 1]


def _blob(geometry: shapely.Geometry | None, envelope: bool = False) -> bytes | None:
    """A GeoPackage blob as GDAL writes it (optionally with an xy envelope)."""
    if geometry is None:
        return None
    flags = 0b1 | (0b10 if envelope else 0) | (0b10000 if geometry.is_empty else 0)
    header = b"GP\x00" + bytes([flags]) + (4326).to_bytes(4, "little")
    if envelope:
        header += np.array(shapely.bounds(geometry), dtype="<f8")[[0, 2, 1, 3]].tobytes()
    return header + shapely.to_wkb(geometry, byte_order=1)


def _retyped(blob: bytes | None) -> bytes:
    """The same bytes with the WKB type of a line: same length as a point, not a point."""
    assert blob is not None
    return blob[:9] + b"\x02" + blob[10:]


@pytest.mark.parametrize("envelope", [False, True])
def test_point_coordinates_match_shapely(envelope: bool) -> None:
    points = [shapely.Point(x, -x / 3) for x in np.linspace(-179.9, 179.9, 37)]
    blobs = [_blob(p, envelope) for p in points]
    coords = geopackage.point_coordinates(blobs)
    assert coords is not None
    decoded = geopackage.geometries(blobs)
    assert coords.tolist() == [[g.x, g.y] for g in decoded]
    assert geopackage.point_coordinates([]) is not None


@pytest.mark.parametrize(
    "blobs",
    [
        [_blob(shapely.Point(1, 2)), None],
        [_blob(shapely.Point(1, 2)), _blob(shapely.Point())],
        [_blob(shapely.Point(1, 2)), _blob(shapely.Point(1, 2), envelope=True)],
        [_blob(shapely.LineString([(0, 0), (1, 1)]))],
        [_blob(shapely.Point(1, 2)), _retyped(_blob(shapely.Point(3, 4)))],
        [b"GP\x00\x01\x00\x00\x00\x00" + shapely.to_wkb(shapely.Point(1, 2), byte_order=0)],
        [b"XX" + (_blob(shapely.Point(1, 2)) or b"")[2:]],
    ],
)
def test_point_coordinates_refuse_anything_but_plain_points(blobs: list[bytes | None]) -> None:
    assert geopackage.point_coordinates(blobs) is None


def test_domain_errors_cross_process_boundaries_whole() -> None:
    error = invalid_parameter("where", "Unknown field 'x'.")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is InvalidParameter
    assert (copy.messages, copy.details, copy.code) == (error.messages, error.details, 400)
    assert isinstance(copy, GeositeError)


def test_isolated_import_returns_layers_and_errors(tmp_path: Path) -> None:
    _points_file(tmp_path / "src.gpkg", 10)
    (layer,) = import_isolated(tmp_path / "src.gpkg", tmp_path / "out.gpkg")
    assert layer["count"] == 10 and layer["geometryType"] == "esriGeometryPoint"
    junk = tmp_path / "junk.geojson"
    junk.write_text("{not json")
    with pytest.raises(InvalidParameter) as raised:
        import_isolated(junk, tmp_path / "junk.gpkg")
    assert raised.value.messages == ["The data could not be read."]
    assert raised.value.details
