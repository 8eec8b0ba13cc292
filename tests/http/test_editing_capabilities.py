"""A FeatureServer's capabilities string lists ``Editing`` when edits are allowed, as ArcGIS
Server writes it: the ArcGIS Maps SDK for JavaScript (4.x and 5.x) reads edits as supported
only then, and refused every ``applyEdits`` on ``Query,Create,Update,Delete`` with "Editing is
disabled for layer" (tests/compat/test_arcgis_js_sdk.py)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveSite
from tests.http.test_publishing import publish

CASES = [
    # (granted at publishing, advertised by the REST API, hasStaticData)
    ("Query", "Query", True),
    ("Query,Create,Update,Delete", "Query,Create,Update,Delete,Editing", False),
    ("Query,Update", "Query,Update,Editing", False),
    ("Query,Editing", "Query,Editing", False),
    ("Query,Create,Update,Delete,Editing", "Query,Create,Update,Delete,Editing", False),
]


@pytest.mark.parametrize(("granted", "advertised", "static"), CASES)
def test_editing_is_advertised_with_edit_capabilities(
    site: LiveSite,
    admin_token: str,
    tmp_path: Path,
    granted: str,
    advertised: str,
    static: bool,
) -> None:
    data = tmp_path / "points.geojson"
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]},
               "properties": {"n": 1}}  # fmt: skip
    data.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    name = "Caps" + str(CASES.index((granted, advertised, static)))
    assert publish(site, admin_token, data, name, capabilities=granted)["status"] == "success"
    url = f"{site.http}/arcgis/rest/services/{name}/FeatureServer"
    root, layer, layers = (
        httpx.get(resource, params={"f": "json"}).json()
        for resource in (url, url + "/0", url + "/layers")
    )
    for item in (root, layer, *layers["layers"]):
        assert item["capabilities"] == advertised, item
        assert item["hasStaticData"] is static, item
    # The administrator's view keeps the definition as it was written.
    admin = httpx.get(
        f"{site.admin}/services/{name}.FeatureServer", params={"f": "json", "token": admin_token}
    ).json()
    assert admin["capabilities"] == granted
