"""The ``geosite`` administration commands against a live site: output, errors, exit codes."""

from __future__ import annotations

import json
import os
import queue
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from geosite.cli import main
from geosite.client import Site
from tests.client.test_resources import points
from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite


class Cli:
    """Runs commands with a config directory of its own (where ``login`` keeps the token)."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.env = {"GEOSITE_CONFIG_DIR": str(config), "GEOSITE_USER": "", "GEOSITE_URL": ""}

    def __call__(self, *args: str, input: str | None = None, code: int = 0) -> Result:
        result = CliRunner().invoke(main, list(args), input=input, env=self.env)
        assert result.exit_code == code, (result.exit_code, result.output, result.exception)
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json").stdout)

    @classmethod
    def logged_in(cls, config: Path, url: str) -> Cli:
        """A runner whose ``login`` to ``url`` as the site administrator is done."""
        runner = cls(config)
        runner("login", url, "--user", ADMIN_USER, "--password-stdin", input=ADMIN_PASSWORD + "\n")
        return runner


@pytest.fixture(scope="module")
def served(site: LiveSite, tmp_path_factory: pytest.TempPathFactory) -> LiveSite:
    data = points(tmp_path_factory.mktemp("cli") / "points.geojson")
    with Site.connect(site.http + "/arcgis", ADMIN_USER, ADMIN_PASSWORD) as client:
        for name, folder in (("Parks", ""), ("Roads", "Maps"), ("Rivers", "Maps")):
            client.services.publish(data, name, folder=folder)
        client.roles.add("publishers", privilege="PUBLISH")
        client.users.add("pat", "Publisher-password-1")
        client.users.assign_roles("pat", ["publishers"])
    return site


@pytest.fixture
def cli(served: LiveSite, tmp_path: Path) -> Iterator[Cli]:
    yield Cli.logged_in(tmp_path / "config", served.http + "/arcgis/admin")


def test_login_stores_the_token_only_readable_by_its_owner(served: LiveSite, cli: Cli) -> None:
    stored = cli.config / "credentials.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(cli.config.stat().st_mode) == 0o700
    text = stored.read_text()
    assert ADMIN_PASSWORD not in text
    saved = json.loads(text)
    assert saved["current"] == served.http + "/arcgis"
    entry = saved["sites"][served.http + "/arcgis"]
    assert entry["username"] == ADMIN_USER and entry["expires"] > time.time() * 1000
    cli("logout")
    cli("services", "ls", code=3)
    cli("logout", code=3)


def test_services_ls_json_round_trips_and_tables_list_every_service(cli: Cli) -> None:
    listed = cli.json("services", "ls")
    assert [s["path"] for s in listed] == [
        "Parks.FeatureServer",
        "Maps/Rivers.FeatureServer",
        "Maps/Roads.FeatureServer",
    ]
    assert {s["status"] for s in listed} == {"STARTED"}
    assert [s["name"] for s in cli.json("services", "ls", "--folder", "Maps")] == [
        "Rivers",
        "Roads",
    ]
    assert [s["name"] for s in cli.json("services", "ls", "Parks", "--no-status")] == ["Parks"]
    table = cli("services", "ls").stdout
    assert "Maps/Roads" in table and "FeatureServer" in table and "STARTED" in table


def test_stop_start_restart_with_globs(cli: Cli) -> None:
    stopped = cli("services", "stop", "Maps/*")
    assert "Maps/Roads.FeatureServer: STOPPED" in stopped.stdout
    assert "2 of 2 service(s) stopped." in stopped.stderr
    states = {s["path"]: s["realTimeState"] for s in cli.json("services", "status", "*")}
    assert states == {
        "Parks.FeatureServer": "STARTED",
        "Maps/Rivers.FeatureServer": "STOPPED",
        "Maps/Roads.FeatureServer": "STOPPED",
    }
    assert [r["status"] for r in cli.json("services", "start", "maps/r*")] == ["success"] * 2
    cli("services", "restart", "Parks")
    assert {s["status"] for s in cli.json("services", "ls")} == {"STARTED"}


def test_edit_and_show(cli: Cli) -> None:
    cli(
        "services",
        "edit",
        "Maps/Roads",
        "--set",
        "properties.maxRecordCount=42",
        "--set",
        "description=County roads",
    )
    shown = json.loads(cli("services", "show", "Maps/Roads").stdout)
    assert int(shown["properties"]["maxRecordCount"]) == 42
    assert shown["description"] == "County roads"
    cli("services", "edit", "Maps/Roads", code=2)
    cli("services", "edit", "Maps/Roads", "--set", "novalue", code=2)


def test_publish_and_delete(cli: Cli, tmp_path: Path) -> None:
    data = points(tmp_path / "extra.geojson", 5)
    url = cli("publish", str(data), "--name", "Extra", "--folder", "Scratch").stdout.strip()
    assert url.endswith("/arcgis/rest/services/Scratch/Extra/FeatureServer")
    cli("services", "delete", "Scratch/*", input="n\n", code=1)
    assert cli.json("services", "ls", "Scratch/*")
    cli("services", "delete", "Scratch/*", input="y\n")
    assert cli.json("services", "ls", "Scratch/*") == []


def test_logs_query_json_round_trips_and_filters(cli: Cli, served: LiveSite) -> None:
    cli("services", "status", "Maps/Nothing*", code=4)
    cli("services", "show", "Maps/Missing", code=4)
    served.flush_logs()
    records = cli.json("logs", "query", "--level", "FINE", "--since", "1h")
    assert records and all({"time", "type", "message", "source"} <= set(r) for r in records)
    times = [r["time"] for r in records]
    assert times == sorted(times)  # oldest first
    newest = str(records[-1]["time"])  # later queries log records of their own
    two = cli.json("logs", "query", "--level", "FINE", "--limit", "2", "--until", newest)
    assert two == [r for r in records if r["time"] <= int(newest)][-2:]
    roads = cli.json("logs", "query", "--level", "FINE", "--service", "Maps/Roads.FeatureServer")
    assert {r["source"] for r in roads} <= {"Maps/Roads.FeatureServer"}
    human = cli("logs", "query", "--level", "FINE").stdout
    assert records[-1]["message"] in human
    cli("logs", "query", "--since", "yesterday-ish", code=2)
    assert cli.json("logs", "settings")["logLevel"] == "FINE"
    assert cli.json("logs", "set", "--max-age", "20")["maxLogFileAge"] == 20


def test_logs_follow_prints_new_records_as_they_come(served: LiveSite, cli: Cli) -> None:
    env = {**os.environ, **cli.env}
    follower = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "geosite",
            "logs",
            "query",
            "--level",
            "WARNING",
            "--since",
            "1s",
            "--follow",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    stdout = follower.stdout
    assert stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in stdout], daemon=True)
    reader.start()
    try:
        time.sleep(3)
        cli("services", "ls", "--folder", "FollowMe", code=4)  # the site logs a WARNING
        served.flush_logs()
        deadline = time.monotonic() + 20
        line = ""
        while "FollowMe" not in line and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1.0)  # never blocks for good
            except queue.Empty:
                continue
        assert "FollowMe" in line, "the follower printed no new record within 20 s"
        record = json.loads(line)
        assert record["type"] == "WARNING" and "FollowMe" in record["message"]
    finally:
        follower.terminate()
        follower.wait(timeout=10)
        reader.join(timeout=10)  # it ends at the pipe's end
        stdout.close()


def test_users_roles_machines_uploads_and_health(cli: Cli, served: LiveSite) -> None:
    cli("roles", "add", "viewers", "--privilege", "ACCESS", "--description", "Look only")
    cli(
        "users",
        "add",
        "vic",
        "--password-stdin",
        "--fullname",
        "Vic",
        "--role",
        "viewers",
        input="Vic-password-123\n",
    )
    assert "vic" in [u["username"] for u in cli.json("users", "ls")]
    assert cli.json("users", "roles", "vic") == {
        "username": "vic",
        "roles": ["viewers"],
        "privilege": "ACCESS",
    }
    cli("roles", "grant", "viewers", "PUBLISH")
    assert {r["rolename"]: r["privilege"] for r in cli.json("roles", "ls")}["viewers"] == "PUBLISH"
    assert cli.json("roles", "members", "viewers") == ["vic"]
    cli("users", "unassign", "vic", "viewers")
    cli("roles", "add-users", "viewers", "vic")
    cli("roles", "remove-users", "viewers", "vic")
    cli("users", "assign", "vic", "viewers")
    cli("users", "password", "vic", "--password-stdin", input="Vic-password-456\n")
    with Site.connect(served.http + "/arcgis", "vic", "Vic-password-456") as vic:
        assert vic.services.list("Maps")
    cli("users", "remove", "vic")
    cli("users", "remove", "vic", code=4)
    cli("roles", "remove", "viewers")
    (machine,) = cli.json("machines", "ls")
    assert machine["machineName"] == "TESTMACHINE.EXAMPLE" and machine["realTimeState"] == "STARTED"
    assert cli.json("machines", "status", "TESTMACHINE.EXAMPLE")["realTimeState"] == "STARTED"
    cli("machines", "status", "NOPE", code=4)
    assert isinstance(cli.json("uploads", "ls"), list)
    health = cli.json("site", "health")
    assert health["healthy"] is True and health["url"] == served.http + "/arcgis"


def test_exit_codes(served: LiveSite, tmp_path: Path) -> None:
    fresh = Cli(tmp_path / "nobody")
    fresh("services", "ls", code=3)  # not logged in
    fresh(
        "login",
        served.http + "/arcgis",
        "--user",
        ADMIN_USER,
        "--password-stdin",
        input="wrong\n",
        code=3,
    )
    fresh(
        "login", "http://127.0.0.1:9/arcgis", "--user", "x", "--password-stdin", input="y\n", code=6
    )
    fresh("services", "frobnicate", code=2)
    fresh(
        "login",
        served.http + "/arcgis",
        "--user",
        "pat",
        "--password-stdin",
        input="Publisher-password-1\n",
    )
    fresh("users", "ls", code=5)  # a publisher may not
    fresh("services", "stop", "Nothing/*", code=4)
    # An expired stored token: log in again.
    stored = json.loads((fresh.config / "credentials.json").read_text())
    stored["sites"][served.http + "/arcgis"]["expires"] = int(time.time() * 1000) - 1
    (fresh.config / "credentials.json").write_text(json.dumps(stored))
    expired = fresh("services", "ls", code=3)
    assert "expired" in expired.stderr and "geosite login" in expired.stderr


def test_environment_credentials_log_in_for_one_command(served: LiveSite, tmp_path: Path) -> None:
    runner = Cli(tmp_path / "env")
    runner.env.update(
        {
            "GEOSITE_URL": served.http + "/arcgis",
            "GEOSITE_USER": ADMIN_USER,
            "GEOSITE_PASSWORD": ADMIN_PASSWORD,
        }
    )
    assert [s["name"] for s in runner.json("services", "ls", "Parks")] == ["Parks"]
    assert not (tmp_path / "env" / "credentials.json").exists()


def test_every_command_has_help_with_an_example() -> None:
    def walk(command: Any, path: list[str]) -> Iterator[list[str]]:
        yield path
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, [*path, name])

    for path in walk(main, []):
        result = CliRunner().invoke(main, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Example:" in result.output, f"geosite {' '.join(path)} --help has no example"


def test_site_backup_and_restore(cli: Cli, served: LiveSite) -> None:
    location = cli("site", "backup").stdout.strip()
    assert location.endswith(".agssite")
    cli("services", "stop", "Parks")
    cli("site", "restore", location, input="n\n", code=1)
    assert {s["path"]: s["status"] for s in cli.json("services", "ls", "Parks")} == {
        "Parks.FeatureServer": "STOPPED"
    }
    report = json.loads(cli("site", "restore", location, "--yes", "--json").stdout)
    assert report["status"] == "success" and report["report"]["services"] >= 3
    assert [s["status"] for s in cli.json("services", "ls", "Parks")] == ["STARTED"]
    assert "Restored from" in cli("site", "restore", location, "--yes").stdout
    cli("site", "restore", "/no/such.agssite", "--yes", code=1)


def test_uploads_delete_and_logs_clean(cli: Cli, tmp_path: Path, served: LiveSite) -> None:
    with Site.connect(served.http + "/arcgis", ADMIN_USER, ADMIN_PASSWORD) as client:
        item = client.uploads.upload(points(tmp_path / "up.geojson"), "to delete")
    listed = cli("uploads", "ls").stdout
    assert item["itemID"] in listed and "to delete" in listed
    assert f"{item['itemID']}: deleted" in cli("uploads", "delete", item["itemID"]).stdout
    assert item["itemID"] not in [i["itemID"] for i in cli.json("uploads", "ls")]
    cli("uploads", "delete", item["itemID"], code=4)
    cli("logs", "clean", input="n\n", code=1)
    assert "Logs cleaned." in cli("logs", "clean", "--yes").stdout
    served.flush_logs()
    left = cli.json("logs", "query", "--level", "FINE", "--since", "1d")
    assert len(left) <= 3  # the clean's own record and the query's
