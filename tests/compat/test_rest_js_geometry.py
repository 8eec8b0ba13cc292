"""ArcGIS REST JS 4.10.2 (``@esri/arcgis-rest-request``) calling ``project``, ``buffer`` and
``areasAndLengths`` of ``Utilities/Geometry`` on a live site, each answer checked against
pyproj and shapely (issue 17, item 2)."""

from __future__ import annotations

import math

import pytest
import shapely
from pyproj import Geod, Transformer

from tests.compat.test_feature_clients import _node, run_js
from tests.conftest import LiveSite

pytestmark = pytest.mark.compat


def test_rest_js_geometry_service(site: LiveSite) -> None:
    _node()  # skips, with the reason, when Node or REST JS is missing
    service = f"{site.http}/arcgis/rest/services/Utilities/Geometry/GeometryServer"
    out = run_js("geometry.mjs", {"GEOSITE_GEOMETRY": service})

    assert out["project"]["ok"], out["project"]
    (point,) = out["project"]["answer"]["geometries"]
    x, y = Transformer.from_crs(4326, 3857, always_xy=True).transform(-77.5, 39)
    assert point["x"] == pytest.approx(x) and point["y"] == pytest.approx(y)

    assert out["buffer"]["ok"], out["buffer"]
    areas = [shapely.Polygon(g["rings"][0]).area for g in out["buffer"]["answer"]["geometries"]]
    assert areas == [
        pytest.approx(math.pi * 10**2, rel=0.01),
        pytest.approx(math.pi * 20**2, rel=0.01),
    ]

    assert out["areasAndLengths"]["ok"], out["areasAndLengths"]
    answer = out["areasAndLengths"]["answer"]
    area, perimeter = Geod(ellps="WGS84").geometry_area_perimeter(
        shapely.Polygon([(0, 0), (0, 1), (1, 1), (1, 0)])
    )
    assert answer["areas"] == [pytest.approx(abs(area) / 1e6, rel=1e-6)]
    assert answer["lengths"] == [pytest.approx(perimeter / 1000, rel=1e-6)]

    # A bad parameter comes back as ArcGIS's error, which REST JS raises.
    assert not out["refused"]["ok"] and out["refused"]["error"]["code"] == 400, out["refused"]
