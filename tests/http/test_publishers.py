"""PUBLISH users: they upload, publish, and manage the services they published, nothing else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveSite
from tests.http.test_publishing import publish

PUBLISHER, OTHER, PASSWORD = "pub1", "pub2", "Publisher-Password-1"


def _post(site: LiveSite, path: str, token: str, **data: Any) -> dict[str, Any]:
    fields = {"f": "json", "token": token, **data}
    return httpx.post(site.admin + path, data=fields, timeout=120).json()  # type: ignore[no-any-return]


def _get(site: LiveSite, path: str, token: str) -> dict[str, Any]:
    params = {"f": "json", "token": token}
    return httpx.get(site.admin + path, params=params).json()  # type: ignore[no-any-return]


def _points(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.geojson"
    point = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [point]}))
    return path


def _forbidden(answer: dict[str, Any]) -> bool:
    return answer.get("status") == "error" and answer.get("code") == 403


@pytest.fixture
def publishers(fresh_site: LiveSite) -> dict[str, str]:
    """Tokens of the administrator and two users of a PUBLISH role."""
    admin = fresh_site.token()
    assert _post(fresh_site, "/security/roles/add", admin, rolename="publishers")["status"] == (
        "success"
    )
    _post(fresh_site, "/security/roles/assignPrivilege", admin, rolename="publishers",
          privilege="PUBLISH")  # fmt: skip
    for user in (PUBLISHER, OTHER):
        assert _post(fresh_site, "/security/users/add", admin, username=user, password=PASSWORD)[
            "status"
        ] == ("success")
    _post(fresh_site, "/security/roles/addUsersToRole", admin, rolename="publishers",
          users=f"{PUBLISHER},{OTHER}")  # fmt: skip
    return {
        "admin": admin,
        PUBLISHER: fresh_site.token(PUBLISHER, PASSWORD),
        OTHER: fresh_site.token(OTHER, PASSWORD),
    }


def test_a_publisher_manages_its_own_services(
    fresh_site: LiveSite, publishers: dict[str, str], tmp_path: Path
) -> None:
    mine = publishers[PUBLISHER]
    assert publish(fresh_site, mine, _points(tmp_path, "a"), "Mine")["status"] == "success"
    assert _get(fresh_site, "/services", mine)["services"][0]["serviceName"] == "Mine"
    assert _get(fresh_site, "/services/Mine.FeatureServer", mine)["serviceName"] == "Mine"
    for operation in ("stop", "start"):
        assert _post(fresh_site, f"/services/Mine.FeatureServer/{operation}", mine) == {
            "status": "success"
        }
    assert _get(fresh_site, "/services/Mine.FeatureServer/status", mine)["configuredState"] == (
        "STARTED"
    )
    stats = _get(fresh_site, "/services/Mine.FeatureServer/statistics", mine)
    assert "summary" in stats
    info = json.dumps({"summary": "my service"})
    assert _post(fresh_site, "/services/Mine.FeatureServer/iteminfo/edit", mine,
                 serviceItemInfo=info)["status"] == "success"  # fmt: skip
    renamed = _post(fresh_site, "/services/renameService", mine, serviceName="Mine",
                    serviceType="FeatureServer", serviceNewName="Ours")  # fmt: skip
    assert renamed["status"] == "success"
    batch = json.dumps({"services": [{"folderName": "", "serviceName": "Ours",
                                      "type": "FeatureServer"}]})  # fmt: skip
    assert _post(fresh_site, "/services/stopServices", mine, services=batch)["status"] == "success"
    # The administrator still manages it, and the rename kept its owner.
    admin = publishers["admin"]
    assert _post(fresh_site, "/services/Ours.FeatureServer/start", admin)["status"] == "success"
    assert _post(fresh_site, "/services/Ours.FeatureServer/delete", mine) == {"status": "success"}


def test_a_publisher_cannot_touch_other_services(
    fresh_site: LiveSite, publishers: dict[str, str], tmp_path: Path
) -> None:
    admin, mine, other = publishers["admin"], publishers[PUBLISHER], publishers[OTHER]
    assert publish(fresh_site, admin, _points(tmp_path, "a"), "Admins")["status"] == "success"
    assert publish(fresh_site, other, _points(tmp_path, "b"), "Theirs")["status"] == "success"
    for name in ("Admins", "Theirs"):
        base = f"/services/{name}.FeatureServer"
        for path in (base, f"{base}/status", f"{base}/iteminfo", f"{base}/statistics"):
            assert _forbidden(_get(fresh_site, path, mine)), path
        for operation in ("stop", "start", "delete"):
            assert _forbidden(_post(fresh_site, f"{base}/{operation}", mine)), operation
        edited = _post(fresh_site, f"{base}/edit", mine, service=json.dumps({"description": "x"}))
        assert _forbidden(edited)
        assert _forbidden(_post(fresh_site, "/services/renameService", mine, serviceName=name,
                                serviceType="FeatureServer", serviceNewName="Stolen"))  # fmt: skip
        batch = json.dumps([{"folderName": "", "serviceName": name, "type": "FeatureServer"}])
        assert _forbidden(_post(fresh_site, "/services/stopServices", mine, services=batch))
        assert _forbidden(_post(fresh_site, "/services/deleteServices", mine, services=batch))
        assert _forbidden(_get(fresh_site, f"{base}/permissions", mine))
    # Nothing changed: both services still run under their names.
    for name in ("Admins", "Theirs"):
        state = _get(fresh_site, f"/services/{name}.FeatureServer/status", admin)
        assert state["configuredState"] == "STARTED"


def test_uploads_belong_to_their_uploader(
    fresh_site: LiveSite, publishers: dict[str, str], tmp_path: Path
) -> None:
    mine, other = publishers[PUBLISHER], publishers[OTHER]
    path = _points(tmp_path, "c")
    item = httpx.post(
        fresh_site.admin + "/uploads/upload",
        data={"f": "json", "token": other},
        files={"itemFile": (path.name, path.read_bytes())},
    ).json()["item"]
    item_id = item["itemID"]
    assert [i["itemID"] for i in _get(fresh_site, "/uploads", other)["items"]] == [item_id]
    assert _get(fresh_site, "/uploads", mine)["items"] == []
    assert _get(fresh_site, f"/uploads/{item_id}", mine)["code"] == 404
    assert _post(fresh_site, f"/uploads/{item_id}/delete", mine)["code"] == 404
    service = {"serviceName": "Borrowed", "type": "FeatureServer",
               "properties": {"itemID": item_id}}  # fmt: skip
    answer = _post(fresh_site, "/services/createService", mine, service=json.dumps(service))
    assert answer["status"] == "error" and answer["code"] == 404
    admin_view = _get(fresh_site, "/uploads", publishers["admin"])["items"]
    assert [i["itemID"] for i in admin_view] == [item_id]
    assert _post(fresh_site, f"/uploads/{item_id}/delete", other) == {"status": "success"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/machines"),
        ("get", "/security/users"),
        ("post", "/security/users/add"),
        ("post", "/security/roles/assignPrivilege"),
        ("post", "/security/tokens/update"),
        ("get", "/data/items"),
        ("post", "/data/registerItem"),
        ("get", "/services/permissions"),
        ("post", "/services/permissions/add"),
        ("get", "/services/report"),
        ("get", "/system"),
        ("get", "/logs"),
    ],
)
def test_a_publisher_does_not_administer(
    fresh_site: LiveSite, publishers: dict[str, str], method: str, path: str
) -> None:
    mine = publishers[PUBLISHER]
    answer = _get(fresh_site, path, mine) if method == "get" else _post(fresh_site, path, mine)
    assert _forbidden(answer)


def test_licenses_answer_as_arcgis_with_geosite_truth(
    fresh_site: LiveSite, publishers: dict[str, str]
) -> None:
    """``/admin/system/licenses`` (issue 17, item 3): ArcGIS's shape, readable by any
    authorized privilege; nothing expires; the features are the service types published."""
    for token in (publishers["admin"], publishers[PUBLISHER]):
        answer = _get(fresh_site, "/system/licenses", token)
        assert set(answer) >= {"edition", "level", "extensions", "features"}, answer
        for entry in (answer["edition"], answer["level"], *answer["features"]):
            assert entry["canExpire"] is False and entry["expiration"] == -1
            assert isinstance(entry["name"], str) and entry["name"]
            assert isinstance(entry["version"], str)
        assert answer["edition"]["name"] == "geosite"
        names = [f["name"] for f in answer["features"]]
        assert names == ["geositeFeatureServer", "geositeMapServer"]
        assert answer["extensions"] == []
    system = _get(fresh_site, "/system", publishers["admin"])
    assert "licenses" in system["resources"]
    anonymous = httpx.get(fresh_site.admin + "/system/licenses", params={"f": "json"}).json()
    assert anonymous["code"] == 499
    page = httpx.get(
        fresh_site.admin + "/system/licenses", params={"token": publishers[PUBLISHER]}
    ).text
    assert "Licenses" in page and "geositeFeatureServer" in page
