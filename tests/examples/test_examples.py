"""The administration scripts in ``examples/``, run as an administrator would, on a live site."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from geosite.core.models import LogRecord
from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite
from tests.http.test_publishing import publish

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def live(fresh_site: LiveSite, tmp_path: Path) -> LiveSite:
    token = fresh_site.token()
    data = tmp_path / "points.geojson"
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [i, i]}, "properties": {}}
        for i in range(3)
    ]
    data.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    for name, folder in (("Parks", ""), ("Roads", "Maps"), ("Rivers", "Maps")):
        assert publish(fresh_site, token, data, name, folder)["status"] == "success"
    return fresh_site


def run(site: LiveSite, script: str, *args: str, ok: bool = True) -> str:
    command = [
        sys.executable,
        str(EXAMPLES / script),
        "--url",
        site.http + "/arcgis",
        "--user",
        ADMIN_USER,
        "--password",
        ADMIN_PASSWORD,
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert (done.returncode == 0) is ok, done.stderr
    return done.stdout if ok else done.stderr


def _state(site: LiveSite, path: str) -> str:
    url = f"{site.http}/arcgis/rest/services/{path}/FeatureServer"
    answer = httpx.get(url, params={"f": "json"}).json()
    return "STOPPED" if "error" in answer else "STARTED"


def test_stop_and_start_a_folder(live: LiveSite) -> None:
    out = run(live, "stop_start_folder.py", "--folder", "Maps", "stop")
    assert "Maps/Rivers.FeatureServer: STOPPED" in out and "2 service(s) stopped." in out
    assert [_state(live, p) for p in ("Maps/Roads", "Maps/Rivers", "Parks")] == [
        "STOPPED",
        "STOPPED",
        "STARTED",
    ]
    run(live, "stop_start_folder.py", "--folder", "Maps", "start")
    assert _state(live, "Maps/Roads") == "STARTED"
    assert "1 service(s) stopped." in run(live, "stop_start_folder.py", "stop")  # ROOT
    assert _state(live, "Parks") == "STOPPED"
    error = run(live, "stop_start_folder.py", "--folder", "Nope", "stop", ok=False)
    assert "Could not find resource" in error


def test_services_to_csv(live: LiveSite, tmp_path: Path) -> None:
    out = tmp_path / "services.csv"
    run(live, "services_to_csv.py", "--output", str(out))
    with out.open() as written:
        rows = list(csv.DictReader(written))
    assert [(r["Folder"], r["ServiceName"], r["Status"]) for r in rows] == [
        ("ROOT", "Parks", "STARTED"),
        ("Maps", "Rivers", "STARTED"),
        ("Maps", "Roads", "STARTED"),
    ]
    assert rows[0]["Max Records"] == "2000" and rows[0]["Type"] == "FeatureServer"
    printed = list(csv.DictReader(io.StringIO(run(live, "services_to_csv.py"))))
    assert len(printed) == 3


def test_edit_a_property_on_a_folder(live: LiveSite) -> None:
    out = run(
        live, "edit_folder_property.py", "--folder", "Maps", "--set", "properties.maxRecordCount=7"
    )
    assert "Edited 2 service(s)." in out
    layer = httpx.get(
        f"{live.http}/arcgis/rest/services/Maps/Roads/FeatureServer/0", params={"f": "json"}
    )
    assert layer.json()["maxRecordCount"] == 7
    parks = httpx.get(
        f"{live.http}/arcgis/rest/services/Parks/FeatureServer/0", params={"f": "json"}
    )
    assert parks.json()["maxRecordCount"] == 2000
    run(live, "edit_folder_property.py", "--folder", "Maps", "--set", "maxInstancesPerNode=3")
    error = run(
        live,
        "edit_folder_property.py",
        "--folder",
        "Maps",
        "--set",
        "maxInstancesPerNode=x",
        ok=False,
    )
    assert "maxInstancesPerNode" in error


def test_statistics_report(live: LiveSite) -> None:
    for _ in range(3):
        httpx.get(
            f"{live.http}/arcgis/rest/services/Maps/Roads/FeatureServer/0/query",
            params={"f": "json", "where": "1=1"},
        )
    out = run(live, "service_statistics.py").splitlines()
    assert out[0].split() == ["service", "requests", "failures", "avg", "ms", "max", "ms"]
    first = out[1].split()
    assert first[:3] == ["Maps/Roads.FeatureServer", "3", "0"]
    assert len(out) == 4


def test_a_wrong_password_is_reported() -> None:
    command = [
        sys.executable,
        str(EXAMPLES / "service_statistics.py"),
        "--url",
        "http://127.0.0.1:9/arcgis",
        "--password",
        "x",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0


def test_query_the_logs_for_severe_messages(live: LiveSite) -> None:
    now = int(time.time() * 1000)
    live.log_store.write(
        [
            LogRecord(now - 1000, "SEVERE", 7500, "Maps/Roads.FeatureServer", "M", "broke"),
            LogRecord(now - 2000, "WARNING", 7101, "Rest", "M", "only a warning"),
            LogRecord(now - 3 * 3600 * 1000, "SEVERE", 7500, "Rest", "M", "long ago"),
        ]
    )
    out = run(live, "query_logs.py", "--hours", "1").splitlines()
    assert any("SEVERE" in line and "Maps/Roads.FeatureServer: broke" in line for line in out)
    assert not any("only a warning" in line or "long ago" in line for line in out)
    assert out[-1] == "1 message(s)."
    out = run(live, "query_logs.py", "--level", "WARNING", "--service", "Parks.FeatureServer")
    assert out.splitlines()[-1] == "1 message(s)."  # the Rest record; no Parks records
    assert "only a warning" in out


def test_service_statistics_from_the_logs(live: LiveSite) -> None:
    for path, count in (("Maps/Roads", 4), ("Parks", 2)):
        for _ in range(count):
            httpx.get(
                f"{live.http}/arcgis/rest/services/{path}/FeatureServer/0/query",
                params={"f": "json", "where": "1=1"},
            )
    live.flush_logs()
    out = run(live, "log_statistics.py", "--hours", "1").splitlines()
    assert out[0].split() == ["service", "requests", "avg", "s", "max", "s"]
    rows = {line.split()[0]: line.split()[1:] for line in out[1:]}
    assert rows["Maps/Roads.FeatureServer"][0] == "4"
    assert rows["Parks.FeatureServer"][0] == "2"
    assert all(float(values[2]) >= float(values[1]) > 0 for values in rows.values())
