"""Edits from callers with no token: refused unless the service says otherwise (issue 17, 6).

ArcGIS Server accepts anonymous edits of a public service with editing enabled; geosite keeps
the safer default and lets an administrator choose per service with the property
``allowAnonymousEdits``, shown in every service's JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import LiveSite
from tests.http.test_editing import square_polygon_file
from tests.http.test_publishing import publish

POLYGON = {"geometry": {"rings": [[[0, 0], [0, 1], [1, 1], [0, 0]]]}, "attributes": {}}


def _admin_json(site: LiveSite, token: str) -> dict[str, Any]:
    url = site.admin + "/services/Open.FeatureServer"
    body: dict[str, Any] = httpx.get(url, params={"f": "json", "token": token}).json()
    return body


def _edit(site: LiveSite, token: str, properties: dict[str, Any]) -> dict[str, Any]:
    shown = _admin_json(site, token)
    change = {**shown, "properties": {**shown["properties"], **properties}}
    body: dict[str, Any] = httpx.post(
        site.admin + "/services/Open.FeatureServer/edit",
        data={"f": "json", "token": token, "service": json.dumps(change)},
    ).json()
    return body


def _anonymous_add(site: LiveSite) -> dict[str, Any]:
    url = f"{site.http}/arcgis/rest/services/Open/FeatureServer/0/addFeatures"
    body: dict[str, Any] = httpx.post(
        url, data={"f": "json", "features": json.dumps([POLYGON])}
    ).json()
    return body


def test_a_per_service_choice(fresh_site: LiveSite, tmp_path: Path) -> None:
    token = fresh_site.token()
    shapes = square_polygon_file(tmp_path / "open.geojson")
    answer = publish(fresh_site, token, shapes, "Open", capabilities="Query,Editing")
    assert answer["status"] == "success", answer
    assert _admin_json(fresh_site, token)["properties"]["allowAnonymousEdits"] == "false"
    # Public (anyone may query), but no edits without a token: the default.
    query = f"{fresh_site.http}/arcgis/rest/services/Open/FeatureServer/0/query"
    assert httpx.get(query, params={"f": "json", "where": "1=1"}).json()["features"]
    refused = _anonymous_add(fresh_site)
    assert refused["error"]["code"] == 499, refused
    # The administrator allows them: anonymous edits are written.
    assert _edit(fresh_site, token, {"allowAnonymousEdits": "true"}) == {"status": "success"}
    assert _admin_json(fresh_site, token)["properties"]["allowAnonymousEdits"] == "true"
    added = _anonymous_add(fresh_site)
    assert added["addResults"][0]["success"] is True, added
    # A value that is not a boolean is refused and changes nothing.
    bad = _edit(fresh_site, token, {"allowAnonymousEdits": "sometimes"})
    assert bad["code"] == 400 and "allowAnonymousEdits" in bad["messages"][0], bad
    assert _admin_json(fresh_site, token)["properties"]["allowAnonymousEdits"] == "true"
    # The permission still comes first: made private, the service refuses strangers.
    private = httpx.post(
        fresh_site.admin + "/services/Open.FeatureServer/permissions/add",
        data={"f": "json", "token": token, "principal": "esriEveryone", "isAllowed": "false"},
    ).json()
    assert private == {"status": "success"}, private
    assert _anonymous_add(fresh_site)["error"]["code"] == 499
