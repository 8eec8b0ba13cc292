"""Publishing as a job: ``createService`` with ``runAsync=true`` answers at once, and
``/admin/system/jobs/<jobId>`` (on any worker) reports the import until it is done."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from geosite.client import Site
from geosite.demo import DATA_DIR
from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite, make_site


@pytest.fixture(scope="module")
def live(site: LiveSite) -> tuple[LiveSite, str]:
    with Site.connect(site.http + "/arcgis", ADMIN_USER, ADMIN_PASSWORD) as client:
        client.roles.add("publishers", privilege="PUBLISH")
        client.users.add("pat", "Publisher-password-1")
        client.users.assign_roles("pat", ["publishers"])
    return site, site.token()


def _upload(site: LiveSite, token: str, path: Path) -> str:
    with path.open("rb") as handle:
        answer = httpx.post(
            site.admin + "/uploads/upload",
            data={"f": "json", "token": token},
            files={"itemFile": (path.name, handle)},
        ).json()
    return str(answer["item"]["itemID"])


def _create(site: LiveSite, token: str, name: str, item: str, **extra: str) -> dict[str, Any]:
    service = {"serviceName": name, "type": "FeatureServer", "properties": {"itemID": item}}
    answer = httpx.post(
        site.admin + "/services/createService",
        data={"f": "json", "token": token, "service": json.dumps(service), **extra},
        timeout=60,
    )
    return dict(answer.json())


def _job(site: LiveSite, token: str, job_id: str) -> dict[str, Any]:
    answer = httpx.get(site.admin + f"/system/jobs/{job_id}", params={"f": "json", "token": token})
    return dict(answer.json())


def _finished(site: LiveSite, token: str, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = _job(site, token, job_id)
        if job["status"] != "EXECUTING":
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still running after 60 s")


def test_a_job_is_polled_to_success_on_any_worker(
    live: tuple[LiveSite, str], tmp_path: Path
) -> None:
    site, token = live
    item = _upload(site, token, DATA_DIR / "nybb_16a.zip")
    submitted = _create(site, token, "Boroughs", item, runAsync="true")
    assert submitted["status"] == "submitted" and submitted["jobid"] == submitted["jobId"]
    job_id = submitted["jobId"]
    first = _job(site, token, job_id)
    assert first["operation"] == "createService" and first["username"] == ADMIN_USER
    assert first["status"] == first["jobStatus"] in ("EXECUTING", "COMPLETED")
    job = _finished(site, token, job_id)
    assert job["status"] == job["jobStatus"] == "COMPLETED"
    assert job["result"] == {
        "status": "success",
        "serviceName": "Boroughs",
        "type": "FeatureServer",
        "folderName": "/",
    }
    assert job["messages"][0] == "createService submitted."
    assert "Importing nybb_16a.zip." in job["messages"]
    assert job["messages"][-1] == "Service Boroughs.FeatureServer created."
    assert job["lastModified"] >= job["submitted"]
    layer = httpx.get(
        site.http + "/arcgis/rest/services/Boroughs/FeatureServer/0",
        params={"f": "json", "token": token},
    ).json()
    assert layer["geometryType"] == "esriGeometryPolygon"
    # Another worker of the site (another process in production) reads the same job.
    other = make_site(site.data_dir, create=False)
    try:
        assert _job(other, other.token(), job_id) == job
    finally:
        other.stop()


def test_a_failed_job_reports_its_error(live: tuple[LiveSite, str], tmp_path: Path) -> None:
    site, token = live
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [')
    submitted = _create(site, token, "Broken", _upload(site, token, broken), runAsync="true")
    assert submitted["status"] == "submitted"
    job = _finished(site, token, submitted["jobId"])
    assert job["status"] == job["jobStatus"] == "FAILED"
    assert job["error"]["code"] == 400 and job["error"]["messages"]
    assert job["messages"][-1] == job["error"]["messages"][-1]
    assert "result" not in job
    found = httpx.get(
        site.admin + "/services/Broken.FeatureServer", params={"f": "json", "token": token}
    )
    assert found.json()["code"] == 404
    # What can be checked at once is refused at once, without a job.
    refused = _create(site, token, "bad name", "i" + "0" * 32, runAsync="true")
    assert refused["status"] == "error" and refused["code"] == 400 and "jobId" not in refused


def test_unknown_jobs_and_other_users_jobs(live: tuple[LiveSite, str], tmp_path: Path) -> None:
    site, token = live
    for unknown in ("j" + "0" * 32, "nonsense", "j..%2Fsite"):
        answer = _job(site, token, unknown)
        assert answer["status"] == "error" and answer["code"] == 404, unknown
    pat = site.token("pat", "Publisher-password-1")
    mine = _create(site, pat, "PatsPoints", _upload(site, pat, _points(tmp_path)), runAsync="true")
    assert _finished(site, pat, mine["jobId"])["status"] == "COMPLETED"
    assert _job(site, token, mine["jobId"])["username"] == "pat"  # administrators see all
    theirs = _create(
        site, token, "AdminPoints", _upload(site, token, _points(tmp_path)), runAsync="true"
    )
    assert _job(site, pat, theirs["jobId"])["code"] == 403
    assert _finished(site, token, theirs["jobId"])["status"] == "COMPLETED"
    anonymous = httpx.get(site.admin + f"/system/jobs/{theirs['jobId']}", params={"f": "json"})
    assert anonymous.json()["code"] == 499


def _points(tmp_path: Path) -> Path:
    path = tmp_path / "points.geojson"
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [i, i]}, "properties": {}}
        for i in range(3)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def test_without_run_async_create_service_answers_when_done(live: tuple[LiveSite, str]) -> None:
    site, token = live
    answer = _create(
        site, token, "Cities", _upload(site, token, DATA_DIR / "naturalearth_cities.zip")
    )
    assert answer == {
        "status": "success",
        "serviceName": "Cities",
        "type": "FeatureServer",
        "folderName": "/",
    }


@pytest.fixture
def quick(fresh_site: LiveSite) -> Iterator[LiveSite]:
    yield fresh_site


def test_the_client_timeout_no_longer_bounds_the_import(quick: LiveSite) -> None:
    # The import of the boroughs takes well over a second; every request of the client ends
    # within its short timeout: the upload, the submission, then the polls.
    messages: list[str] = []
    with Site.connect(quick.http + "/arcgis", ADMIN_USER, ADMIN_PASSWORD, timeout=0.75) as site:
        service = site.services.publish(
            DATA_DIR / "nybb_16a.zip", "Boroughs", on_message=messages.append
        )
        assert service.path == "Boroughs.FeatureServer"
        assert site.services.get(service)["serviceName"] == "Boroughs"
    assert messages[0] == "createService submitted."
    assert messages[-1] == "Service Boroughs.FeatureServer created."


def test_the_client_reports_a_failed_job(quick: LiveSite, tmp_path: Path) -> None:
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [')
    with Site.connect(quick.http + "/arcgis", ADMIN_USER, ADMIN_PASSWORD) as site:
        with pytest.raises(Exception) as failed:
            site.services.publish(broken, "Broken")
        assert "400" in str(failed.value)
        assert site.uploads.list() == []  # the upload is deleted again
        with pytest.raises(Exception) as unknown:
            site.jobs.get("j" + "0" * 32)
        assert "404" in str(unknown.value)


def test_a_job_whose_worker_died_is_reported_failed(live: tuple[LiveSite, str]) -> None:
    site, token = live
    item = _upload(site, token, _points_file(site))
    submitted = _create(site, token, "Orphan", item, runAsync="true")
    assert _finished(site, token, submitted["jobId"])["status"] == "COMPLETED"
    job = site.store.get_setting(f"job:{submitted['jobId']}")
    assert job["pid"] == os.getpid()
    assert "pid" not in _job(site, token, submitted["jobId"])  # the machine's business
    # The same record, as a worker killed during the import would have left it.
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    orphan_id = "j" + "1" * 32
    site.store.put_setting(
        f"job:{orphan_id}",
        {**{k: v for k, v in job.items() if k != "result"}, "jobId": orphan_id,
         "status": "EXECUTING", "jobStatus": "EXECUTING", "pid": int(gone.stdout)},
    )  # fmt: skip
    reported = _job(site, token, orphan_id)
    assert reported["status"] == reported["jobStatus"] == "FAILED"
    assert reported["error"]["messages"] == [
        "The server process running this job stopped before it finished."
    ]


def _points_file(site: LiveSite) -> Path:
    folder = site.data_dir.parent / "orphan"
    folder.mkdir(exist_ok=True)
    return _points(folder)


def test_a_job_that_stops_beating_is_failed_and_old_jobs_go(fresh_site: LiveSite) -> None:
    """A job whose server went away on another machine stops moving: it is reported FAILED
    after STALE_S, so a polling client stops; a week after they end, jobs are removed."""
    from geosite.core import jobs

    site, token = fresh_site, fresh_site.token()
    lost_id, old_id = "j" + "2" * 32, "j" + "3" * 32
    now = site.clock.now_ms()
    record = {"jobId": lost_id, "operation": "createService", "status": "EXECUTING",
              "jobStatus": "EXECUTING", "username": ADMIN_USER, "submitted": now,
              "lastModified": now, "messages": [], "host": "another-machine", "pid": 1}  # fmt: skip
    site.store.put_setting(f"job:{lost_id}", record)
    assert _job(site, token, lost_id)["status"] == "EXECUTING"
    site.clock.advance(seconds=jobs.STALE_S + 1)
    lost = _job(site, token, lost_id)
    assert lost["status"] == "FAILED" and lost["error"]["code"] == 500
    done = {**record, "jobId": old_id, "status": "COMPLETED", "jobStatus": "COMPLETED"}
    site.store.put_setting(f"job:{old_id}", done)
    site.clock.advance(seconds=jobs.KEEP_S + 1)
    assert jobs.prune(site.store, site.clock) >= 2
    assert site.store.get_setting(f"job:{lost_id}") is None
    assert site.store.get_setting(f"job:{old_id}") is None
