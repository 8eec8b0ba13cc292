"""Documentation that must not drift from the code."""

import re
from pathlib import Path

from click.testing import CliRunner

from geosite.cli import main
from geosite.core.logs import LogCode

ROOT = Path(__file__).resolve().parent.parent


def test_every_log_code_is_documented() -> None:
    table = (ROOT / "docs" / "log-codes.md").read_text()
    documented = {int(c) for c in re.findall(r"^\| (\d{4}) \|", table, re.MULTILINE)}
    assert documented == {int(code) for code in LogCode}


def test_every_log_code_is_used() -> None:
    source = "\n".join(
        p.read_text() for p in (ROOT / "geosite").rglob("*.py") if p.name != "logs.py"
    )
    for code in LogCode:
        assert f"LogCode.{code.name}" in source, code


def test_every_environment_variable_is_documented() -> None:
    docs = (ROOT / "docs" / "configuration.md").read_text()
    source = "\n".join(p.read_text() for p in (ROOT / "geosite").rglob("*.py"))
    for name in set(re.findall(r"GEOSITE_[A-Z_]+", source)):
        assert f"`{name}`" in docs, name


def test_every_serve_option_is_documented() -> None:
    docs = (ROOT / "docs" / "configuration.md").read_text()
    result = CliRunner().invoke(main, ["serve", "--help"])
    for option in set(re.findall(r"(--[a-z-]+)", result.output)) - {"--help"}:
        assert f"`{option}`" in docs, option


def test_every_command_has_help_with_an_example() -> None:
    for args in (["--help"], ["serve", "--help"], ["site", "reset-password", "--help"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0 and "Example:" in result.output, args


def test_readme_first_screen() -> None:
    first_screen = "\n".join((ROOT / "README.md").read_text().splitlines()[:40])
    for needle in (
        "make serve",
        "make test",
        "/arcgis/admin",
        "/arcgis/rest/services",
        "generateToken",
    ):
        assert needle in first_screen, needle


def test_the_command_line_reference_is_current() -> None:
    from geosite.cli import reference

    document = (ROOT / "docs" / "scripting.md").read_text()
    assert reference.render(document) == document, (
        "docs/scripting.md is out of date: run "
        ".venv/bin/python -m geosite.cli.reference docs/scripting.md"
    )
