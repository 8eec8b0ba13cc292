"""The command line's rough edges (issue 15, item 7): all-or-nothing user creation, unknown
service keys refused, login without a terminal, and certificate errors that say what to do."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from geosite.cli import main
from geosite.client import Site
from tests.cli.test_commands import Cli
from tests.client.test_resources import points
from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite


@pytest.fixture(scope="module")
def served(site: LiveSite, tmp_path_factory: pytest.TempPathFactory) -> LiveSite:
    data = points(tmp_path_factory.mktemp("edges") / "points.geojson")
    with Site.connect(site.http + "/arcgis", ADMIN_USER, ADMIN_PASSWORD) as client:
        client.services.publish(data, "Roads", folder="Maps")
        client.roles.add("viewers", privilege="ACCESS")
    return site


@pytest.fixture
def cli(served: LiveSite, tmp_path: Path) -> Iterator[Cli]:
    yield Cli.logged_in(tmp_path / "config", served.http + "/arcgis")


def _usernames(cli: Cli) -> list[str]:
    return [u["username"] for u in cli.json("users", "ls")]


def test_users_add_with_a_missing_role_changes_nothing(cli: Cli, served: LiveSite) -> None:
    # Before: the user was created, then assigning the role failed (exit 4, user left behind).
    failed = cli(
        "users",
        "add",
        "ghost",
        "--password-stdin",
        "--role",
        "viewers",
        "--role",
        "missing",
        input="Ghost-password-1\n",
        code=4,
    )
    assert "missing" in failed.stderr and "not added" in failed.stderr
    assert "ghost" not in _usernames(cli)
    assert cli.json("roles", "members", "viewers") == []
    # The server's assignRoles is all-or-nothing too: no role changes when one is missing.
    cli("users", "add", "ghost", "--password-stdin", input="Ghost-password-1\n")
    cli("users", "assign", "ghost", "viewers", "missing", code=4)
    assert cli.json("users", "roles", "ghost")["roles"] == []
    cli("users", "add", "ghost2", "--password-stdin", "--role", "viewers", input="Gh-pass-word-2\n")
    assert cli.json("roles", "members", "viewers") == ["ghost2"]
    cli("users", "remove", "ghost")
    cli("users", "remove", "ghost2")


def test_edit_refuses_unknown_keys_with_the_known_ones(cli: Cli, served: LiveSite) -> None:
    before = json.loads(cli("services", "show", "Maps/Roads").stdout)
    refused = cli("services", "edit", "Maps/Roads", "--set", "typoKey=1", code=2)
    assert "typoKey" in refused.stderr and "maxInstancesPerNode" in refused.stderr
    assert "edited" not in refused.output
    # Nested keys of properties are free, as in ArcGIS.
    cli("services", "edit", "Maps/Roads", "--set", "properties.customNote=x")
    # The server refuses them too, whatever the client (a whole definition with --file).
    answer = httpx.post(
        served.admin + "/services/Maps/Roads.FeatureServer/edit",
        data={"service": json.dumps({**before, "typoKey": 1}), "f": "json"},
        headers={"X-Esri-Authorization": f"Bearer {served.token()}"},
    ).json()
    assert answer["status"] == "error" and answer["code"] == 400
    assert "Unknown service property 'typoKey'." in answer["messages"]
    assert any("maxInstancesPerNode" in m for m in answer["messages"])
    definition = Path(cli.config.parent / "definition.json")
    definition.write_text(json.dumps({**before, "descripton": "typo"}))
    via_file = cli("services", "edit", "Maps/Roads", "--file", str(definition), code=1)
    assert "descripton" in via_file.stderr and "Known properties" in via_file.stderr
    after = json.loads(cli("services", "show", "Maps/Roads").stdout)
    assert after["description"] == before["description"]
    # The whole definition 'show' prints goes back unchanged.
    definition.write_text(json.dumps(after))
    cli("services", "edit", "Maps/Roads", "--file", str(definition))


def test_login_without_a_terminal_exits_3(served: LiveSite, tmp_path: Path) -> None:
    # Before: click's prompt met the end of input and exited 1 ("Aborted!").
    result = CliRunner().invoke(
        main,
        ["login", served.http + "/arcgis", "--user", ADMIN_USER],
        env={"GEOSITE_CONFIG_DIR": str(tmp_path)},
    )
    assert result.exit_code == 3, result.output
    assert "--password-stdin" in result.output and "Aborted" not in result.output


def test_a_certificate_error_names_insecure_and_ssl_cert_file(
    served: LiveSite, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        main,
        ["login", served.https + "/arcgis", "--user", ADMIN_USER, "--password-stdin"],
        input=ADMIN_PASSWORD + "\n",
        env={"GEOSITE_CONFIG_DIR": str(tmp_path)},
    )
    assert result.exit_code == 6, result.output
    assert "--insecure" in result.output and "SSL_CERT_FILE" in result.output
