"""The ArcGIS API for Python 2.4.4 editing a layer: ``FeatureLayer.edit_features`` (adds,
updates, deletes: one POST to ``applyEdits``) with a signed-in connection.

``edit_features`` reads ``gis.version`` and ``gis._is_arcgisonline`` before sending anything,
which a stand-alone server's connection lacks (a client bug, spec/clients.md §2); the test sets
them as the documented workaround does, so that the server sees the client's real requests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite
from tests.http.test_publishing import publish

pytestmark = pytest.mark.compat


@pytest.fixture
def layer(fresh_site: LiveSite, tmp_path: Path) -> Iterator[tuple[Any, str]]:
    try:
        from arcgis.features import FeatureLayer
        from arcgis.gis.server import ServicesDirectory
    except ImportError as exc:  # pragma: no cover - depends on the environment
        pytest.skip(f"the ArcGIS API for Python is not installed ({exc})")
    data = tmp_path / "seed.geojson"
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [i, i]},
            "properties": {"name": f"p{i}", "n": i},
        }
        for i in range(1, 4)
    ]
    data.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    token = fresh_site.token()
    answer = publish(fresh_site, token, data, "Crew", capabilities="Query,Editing")
    assert answer["status"] == "success"
    directory = ServicesDirectory(
        url=fresh_site.http + "/arcgis/rest/services",
        username=ADMIN_USER,
        password=ADMIN_PASSWORD,
        token_url=fresh_site.http + "/arcgis/tokens/generateToken",
        all_ssl=False,
    )
    connection = directory._con
    connection.version = [11, 3]  # the documented workaround (see the module's docstring)
    connection._is_arcgisonline = False
    url = f"{fresh_site.http}/arcgis/rest/services/Crew/FeatureServer/0"
    yield FeatureLayer(url, gis=connection), url
    connection._session.close()


def test_edit_features(layer: tuple[Any, str]) -> None:
    feature_layer, url = layer
    answer = feature_layer.edit_features(
        adds=[{"attributes": {"name": "added", "n": 40}, "geometry": {"x": 4.0, "y": 4.0}}],
        updates=[{"attributes": {"OBJECTID": 1, "n": 10}}],
        deletes="2",
    )
    assert [r["success"] for r in answer["addResults"]] == [True]
    assert answer["updateResults"] == [{"objectId": 1, "globalId": None, "success": True}]
    assert answer["deleteResults"] == [{"objectId": 2, "globalId": None, "success": True}]
    new_id = answer["addResults"][0]["objectId"]
    rows = httpx.get(
        url + "/query", params={"f": "json", "where": "1=1", "outFields": "OBJECTID,n"}
    ).json()["features"]
    assert {r["attributes"]["OBJECTID"]: r["attributes"]["n"] for r in rows} == {
        1: 10,
        3: 3,
        new_id: 40,
    }
    rolled = feature_layer.edit_features(
        adds=[{"attributes": {"unknown": 1}, "geometry": {"x": 0, "y": 0}}],
        updates=[{"attributes": {"OBJECTID": 1, "n": 99}}],
        rollback_on_failure=True,
    )
    assert rolled["addResults"][0]["success"] is False
    assert rolled["updateResults"][0]["error"]["code"] == 1003
    again = httpx.get(url + "/1", params={"f": "json"}).json()["feature"]["attributes"]
    assert again["n"] == 10
