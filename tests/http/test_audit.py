"""Administrative changes are audit records (code 7201) with the acting user, whatever the
site's log level; reads are not, and no audit record holds a password or a token."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ADMIN_PASSWORD, LiveSite
from tests.http.test_publishing import publish

PUBLISHER, PUBLISHER_PASSWORD = "pub", "Publisher-Pass-1"
USER_PASSWORD = "Someone-Pass-77"


def _post(site: LiveSite, path: str, token: str, **data: Any) -> dict[str, Any]:
    answer = httpx.post(site.admin + path, data={"f": "json", "token": token, **data}, timeout=60)
    return answer.json()  # type: ignore[no-any-return]


def _points(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.geojson"
    point = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]},
             "properties": {"n": 1}}  # fmt: skip
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [point]}))
    return path


def _audit(site: LiveSite, token: str) -> list[dict[str, Any]]:
    """The audit records through ``logs/query``, oldest first."""
    page = _post(site, "/logs/query", token, level="DEBUG", pageSize="10000",
                 filter=json.dumps({"codes": [7201]}))  # fmt: skip
    return list(reversed(page["logMessages"]))


def test_changes_are_audited_whatever_the_level(fresh_site: LiveSite, tmp_path: Path) -> None:
    admin = fresh_site.token()
    assert publish(fresh_site, admin, _points(tmp_path, "a"), "Points")["status"] == "success"
    edited = _post(fresh_site, "/logs/settings/edit", admin, logLevel="SEVERE")
    assert edited["status"] == "success"
    assert _post(fresh_site, "/services/Points.FeatureServer/stop", admin)["status"] == "success"
    for path, data in (
        ("/security/roles/add", {"rolename": "publishers"}),
        ("/security/roles/assignPrivilege", {"rolename": "publishers", "privilege": "PUBLISH"}),
        ("/security/users/add", {"username": PUBLISHER, "password": PUBLISHER_PASSWORD}),
        ("/security/roles/addUsersToRole", {"rolename": "publishers", "users": PUBLISHER}),
    ):
        assert _post(fresh_site, path, admin, **data)["status"] == "success", path
    # A publisher's own change carries the publisher's name.
    publisher = fresh_site.token(PUBLISHER, PUBLISHER_PASSWORD)
    assert publish(fresh_site, publisher, _points(tmp_path, "b"), "Mine")["status"] == "success"
    # Even at OFF.
    assert _post(fresh_site, "/logs/settings/edit", admin, logLevel="OFF")["status"] == "success"
    assert _post(fresh_site, "/services/createFolder", admin, folderName="Maps")["status"] == (
        "success"
    )
    # Reads are not changes.
    _post(fresh_site, "/security/users/search", admin, filter="p")
    _post(fresh_site, "/services/exists", admin, folderName="Maps")
    records = _audit(fresh_site, admin)
    done = [(r["user"], r["message"]) for r in records]
    assert ("siteadmin", "siteadmin: edit logs/settings (logLevel=SEVERE)") in done
    assert ("siteadmin", "siteadmin: stop services/Points.FeatureServer") in done
    assert ("siteadmin", "siteadmin: add security/roles (rolename=publishers)") in done
    assert (
        "siteadmin",
        "siteadmin: assignPrivilege security/roles (rolename=publishers; privilege=PUBLISH)",
    ) in done
    assert (
        "siteadmin",
        f"siteadmin: add security/users (username={PUBLISHER}; parameters: password)",
    ) in done
    assert ("siteadmin", "siteadmin: createFolder services (folderName=Maps)") in done
    mine = [message for user, message in done if user == PUBLISHER]
    assert any(m.startswith("pub: upload uploads") for m in mine), mine
    assert f"{PUBLISHER}: createService services (serviceName=Mine; type=FeatureServer)" in mine
    assert {r["type"] for r in records} == {"INFO"}
    assert {r["code"] for r in records} == {7201}
    assert all(r["source"] == "Admin" and r["requestID"] for r in records)
    assert not any("search" in m or "exists" in m or "generateToken" in m for _, m in done)
    # At SEVERE and OFF, nothing else of those requests was written.
    fresh_site.flush_logs()
    stored = fresh_site.log_store.query(limit=10_000)
    assert not [r for r in stored if "Points.FeatureServer/stop" in r.message]
    assert [r.code for r in stored if r.message.endswith("stop services/Points.FeatureServer")] == [
        7201
    ]
    text = repr(fresh_site.log_store.query(limit=10_000))
    assert PUBLISHER_PASSWORD not in text and ADMIN_PASSWORD not in text
    assert admin not in text and publisher not in text
