"""ArcGIS REST JS 4.10.2 ``addFeatures``, ``updateFeatures``, ``applyEdits`` and
``deleteFeatures`` against a live site, each checked by querying the layer back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.compat.test_feature_clients import _node, run_js
from tests.conftest import LiveSite
from tests.http.test_publishing import publish

pytestmark = pytest.mark.compat


def _rows(site: LiveSite) -> dict[int, dict[str, Any]]:
    answer = httpx.get(
        f"{site.http}/arcgis/rest/services/Edits/FeatureServer/0/query",
        params={"f": "json", "where": "1=1", "outFields": "*"},
    ).json()
    return {f["attributes"]["OBJECTID"]: f for f in answer["features"]}


def test_rest_js_edits(site: LiveSite, admin_token: str, tmp_path: Path) -> None:
    _node()  # skips, with the reason, when Node or REST JS is missing
    data = tmp_path / "edits.geojson"
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [0, 0]},
        "properties": {"name": "seed", "n": 1},
    }
    data.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    answer = publish(site, admin_token, data, "Edits", capabilities="Query,Create,Update,Delete")
    assert answer["status"] == "success"
    env = {
        "GEOSITE_LAYER": f"{site.http}/arcgis/rest/services/Edits/FeatureServer/0",
        "GEOSITE_TOKEN": site.token(),
    }
    out = run_js("edits.mjs", env)
    assert out["add"]["ok"], out["add"]
    first, second = (r["objectId"] for r in out["add"]["answer"]["addResults"])
    assert [r["success"] for r in out["add"]["answer"]["addResults"]] == [True, True]
    assert out["update"]["answer"]["updateResults"] == [
        {"objectId": first, "globalId": None, "success": True}
    ]
    apply = out["apply"]["answer"]
    assert [
        r["success"] for key in ("addResults", "updateResults", "deleteResults") for r in apply[key]
    ] == [True, True, True]
    third = apply["addResults"][0]["objectId"]
    assert out["delete"]["answer"]["deleteResults"] == [
        {"objectId": second, "globalId": None, "success": True}
    ]
    # REST JS hands a failed edit back as a result, not an exception.
    (rejected,) = out["rejected"]["answer"]["addResults"]
    assert rejected["success"] is False and "nope" in rejected["error"]["description"]

    rows = _rows(site)
    assert sorted(rows) == sorted([first, third])  # the seed (1) and second were deleted
    assert rows[first]["attributes"]["n"] == 110
    assert rows[first]["geometry"] == {"x": -77.5, "y": 39.0}
    assert rows[third]["attributes"]["name"] == "third"
