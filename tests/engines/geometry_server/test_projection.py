"""project and findTransformations checked against pyproj's own transformers, between
EPSG and Esri spatial references; bad inputs are 400s."""

from __future__ import annotations

from typing import Any

import pytest
from pyproj import CRS, Transformer

from tests.engines.geometry_server._run import refused, run

#: (wkid, authority code pyproj knows it by)
SPATIAL_REFERENCES = [
    (4326, "EPSG:4326"),
    (102100, "EPSG:3857"),
    (102003, "ESRI:102003"),
    (54030, "ESRI:54030"),
    (54009, "ESRI:54009"),
    (32633, "EPSG:32633"),
    (2263, "EPSG:2263"),
    (27700, "EPSG:27700"),
    (3035, "EPSG:3035"),
    (4269, "EPSG:4269"),
    (102008, "ESRI:102008"),
    (3395, "EPSG:3395"),
]
PLACES = [(-74.0, 40.7), (2.35, 48.85), (13.4, 52.5), (-0.12, 51.5)]


@pytest.mark.parametrize(("wkid", "code"), SPATIAL_REFERENCES[1:])
def test_points_project_as_pyproj_does(wkid: int, code: str) -> None:
    expected = Transformer.from_crs(CRS("EPSG:4326"), CRS(code), always_xy=True)
    points = [{"x": x, "y": y} for x, y in PLACES]
    there = run(
        "project",
        geometries={"geometryType": "esriGeometryPoint", "geometries": points},
        inSR=4326,
        outSR=wkid,
    )["geometries"]
    for (x, y), point in zip(PLACES, there, strict=True):
        ex, ey = expected.transform(x, y)
        assert point["x"] == pytest.approx(ex, abs=1e-6)
        assert point["y"] == pytest.approx(ey, abs=1e-6)
    back = run("project", geometries=there, inSR={"wkid": wkid}, outSR=4326)["geometries"]
    for (x, y), point in zip(PLACES, back, strict=True):
        assert point["x"] == pytest.approx(x, abs=1e-6)
        assert point["y"] == pytest.approx(y, abs=1e-6)


@pytest.mark.parametrize(("source", "target"), [(102003, 54030), (2263, 27700), (3035, 102008)])
def test_polylines_between_projected_references(source: int, target: int) -> None:
    codes = dict(SPATIAL_REFERENCES)
    to_source = Transformer.from_crs(CRS("EPSG:4326"), CRS(codes[source]), always_xy=True)
    path = [list(to_source.transform(x, y)) for x, y in PLACES[:2]]
    answer = run(
        "project",
        geometries={"geometryType": "esriGeometryPolyline", "geometries": [{"paths": [path]}]},
        inSR=source,
        outSR=target,
    )
    expected = Transformer.from_crs(CRS(codes[source]), CRS(codes[target]), always_xy=True)
    for (x, y), (px, py) in zip(path, answer["geometries"][0]["paths"][0], strict=True):
        ex, ey = expected.transform(x, y)
        assert (px, py) == pytest.approx((ex, ey), abs=1e-4)


def test_envelope_projects_to_the_box_of_its_bent_edges() -> None:
    box = {"xmin": -10, "ymin": 40, "xmax": 10, "ymax": 60}
    answer = run(
        "project",
        geometries={"geometryType": "esriGeometryEnvelope", "geometries": [box]},
        inSR=4326,
        outSR=3035,
    )
    envelope = answer["geometries"][0]
    assert set(envelope) == {"xmin", "ymin", "xmax", "ymax"}
    laea = Transformer.from_crs(4326, 3035, always_xy=True)
    corner_x, _ = laea.transform(-10, 60)
    assert envelope["xmin"] <= corner_x + 1e-6


def test_named_transformation_is_applied_in_either_direction() -> None:
    point = {"geometryType": "esriGeometryPoint", "geometries": [{"x": -90.0, "y": 35.0}]}
    forward = run("project", geometries=point, inSR=4267, outSR=4326, transformation=1173)
    backward = run(
        "project",
        geometries=forward,
        inSR=4326,
        outSR=4267,
        transformation={"wkid": 1173},
        transformForward="false",
    )
    # EPSG:1173 is a Helmert shift of NAD27 (a few metres): one that PROJ applies alone.
    mover = Transformer.from_pipeline(
        "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad +step +proj=push +v_3 "
        "+step +proj=cart +ellps=clrk66 +step +proj=helmert +x=-8 +y=160 +z=176 "
        "+step +inv +proj=cart +ellps=WGS84 +step +proj=pop +v_3 "
        "+step +proj=unitconvert +xy_in=rad +xy_out=deg"
    )
    ex, ey = mover.transform(-90.0, 35.0)
    assert forward["geometries"][0]["x"] == pytest.approx(ex, abs=1e-7)
    assert forward["geometries"][0]["y"] == pytest.approx(ey, abs=1e-7)
    assert backward["geometries"][0]["x"] == pytest.approx(-90.0, abs=1e-6)
    assert backward["geometries"][0]["y"] == pytest.approx(35.0, abs=1e-6)


def test_transform_forward_applies_the_transformation_as_asked() -> None:
    """transformForward=true applies EPSG:1173 (NAD27 to WGS 84) as defined, false inversely,
    whatever the spatial references need; compared with PROJ's own operation run both ways."""
    operation = Transformer.from_pipeline("urn:ogc:def:coordinateOperation:EPSG::1173")
    ahead = operation.transform(35.0, -90.0)  # EPSG's order: latitude, longitude
    back = operation.transform(35.0, -90.0, direction="INVERSE")
    assert abs(ahead[0] - back[0]) > 1e-4  # the two directions differ (by about 25 m)
    point = {"geometryType": "esriGeometryPoint", "geometries": [{"x": -90.0, "y": 35.0}]}
    for source, target in ((4267, 4326), (4326, 4267)):
        for forward, (lat, lon) in (("true", ahead), ("false", back)):
            answer = run(
                "project",
                geometries=point,
                inSR=source,
                outSR=target,
                transformation=1173,
                transformForward=forward,
            )
            assert answer["geometries"][0] == pytest.approx({"x": lon, "y": lat}, abs=1e-9)
    # From a projected NAD27 to Web Mercator: the inverse applied to NAD27's own lon/lat
    x, y = Transformer.from_crs(4267, 26715, always_xy=True).transform(-90.0, 35.0)
    answer = run(
        "project",
        geometries={"geometryType": "esriGeometryPoint", "geometries": [{"x": x, "y": y}]},
        inSR=26715,
        outSR=3857,
        transformation={"wkid": 1173},
        transformForward="false",
    )
    ex, ey = Transformer.from_crs(4326, 3857, always_xy=True).transform(back[1], back[0])
    assert answer["geometries"][0] == pytest.approx({"x": ex, "y": ey}, abs=1e-6)
    # NAD27 to NAD83(CSRS) goes through 1173 only in a chain (then EPSG:1946 inversely):
    # forward it applies, inversely PROJ has no such operation
    chained = {"geometries": point, "inSR": 4267, "outSR": 4617, "transformation": 1173}
    assert run("project", **chained, transformForward="true")["geometries"][0]["x"] != -90.0
    refused("project", {**chained, "transformForward": "false"}, "transformForward")
    refused("project", {**chained, "transformForward": "sideways"}, "transformForward")


def test_find_transformations() -> None:
    found = run("findTransformations", inSR=4267, outSR=4326, numOfResults=5)
    items = found["transformations"]
    assert 1 <= len(items) <= 5
    for item in items:
        steps = item.get("geoTransforms", [item])
        for step in steps:
            assert isinstance(step["wkid"], int)
            assert step["transformForward"] is True
    reverse = run("findTransformations", inSR=4326, outSR=4267)
    assert len(reverse["transformations"]) == 1
    assert reverse["transformations"][0]["transformForward"] is False
    same_datum = run("findTransformations", inSR=4326, outSR=3857, numOfResults=3)
    assert same_datum == {"transformations": []}
    nearby = run(
        "findTransformations",
        inSR=4267,
        outSR=4326,
        numOfResults=-1,
        extentOfInterest={"xmin": -80, "ymin": 35, "xmax": -70, "ymax": 42},
    )
    assert (
        1
        <= len(nearby["transformations"])
        <= len(
            run("findTransformations", inSR=4267, outSR=4326, numOfResults=-1)["transformations"]
        )
    )


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("project", {"geometries": [{"x": 1, "y": 2}], "inSR": 4326}, "outSR"),
    ("project", {"geometries": [{"x": 1, "y": 2}], "outSR": 4326}, "inSR"),
    ("project", {"geometries": [{"x": 1, "y": 2}], "inSR": 4326, "outSR": 999999}, "outSR"),
    ("project", {"geometries": [{"x": 1, "y": 95}], "inSR": 4326, "outSR": 3857}, "geometries"),
    (
        "project",
        {"geometries": [{"x": 1, "y": 2}], "inSR": 4267, "outSR": 4326, "transformation": 99},
        "transformation",
    ),
    (
        "project",
        {"geometries": [{"x": 1, "y": 2}], "inSR": 4267, "outSR": 4326, "transformation": "x"},
        "transformation",
    ),
    (
        "project",
        {
            "geometries": [{"x": 1, "y": 2}],
            "inSR": 4326,
            "outSR": 3857,
            "transformation": {"geoTransforms": [{"wkid": 1173}]},
        },
        "transformation",
    ),
    ("findTransformations", {"inSR": 4267}, "outSR"),
    ("findTransformations", {"inSR": 4267, "outSR": 4326, "numOfResults": "x"}, "numOfResults"),
    (
        "findTransformations",
        {"inSR": 4267, "outSR": 4326, "extentOfInterest": "[1]"},
        "extentOfInterest",
    ),
]


@pytest.mark.parametrize(("name", "params", "parameter"), BAD)
def test_bad_input_is_a_400_naming_the_parameter(
    name: str, params: dict[str, Any], parameter: str
) -> None:
    refused(name, params, parameter)
