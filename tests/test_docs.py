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


_DOCS = [
    ROOT / "README.md",
    ROOT / "benchmarks" / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
]
_LINK = re.compile(r"\]\(([^)\s]+)\)")
# Paths of this repository written in backticks (`tests/http/test_query.py`, `spec/style.md`).
_PATH = re.compile(r"`((?:geosite|tests|benchmarks|docs|examples|deploy|spec)/[A-Za-z0-9_./-]+)`")


def _anchors(markdown: str) -> set[str]:
    """GitHub's anchors for the headings of a document."""
    anchors = set()
    for heading in re.findall(r"^#+ (.+)$", markdown, re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


def test_links_in_the_docs_point_somewhere() -> None:
    """Every relative link names a file of the repository (and a heading there, with #)."""
    broken = []
    for doc in _DOCS:
        for target in _LINK.findall(doc.read_text()):
            if re.match(r"^[a-z]+:", target):
                continue  # http(s), mailto: outside the repository
            path, _, anchor = target.partition("#")
            file = (doc.parent / path).resolve() if path else doc
            if not file.exists():
                broken.append(f"{doc.relative_to(ROOT)}: {target}")
            elif anchor and file.suffix == ".md" and anchor not in _anchors(file.read_text()):
                broken.append(f"{doc.relative_to(ROOT)}: {target} (no such heading)")
    assert broken == []


def test_paths_named_in_the_docs_exist() -> None:
    """A file the docs name in backticks is in the repository (the spec is not: say so)."""
    generated = [
        line.strip().rstrip("/")
        for line in (ROOT / ".gitignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    missing = []
    for doc in _DOCS:
        text = doc.read_text()
        named = set(_PATH.findall(text)) | set(re.findall(r"\bspec/[\w.-]+\.md", text))
        for path in sorted(named):
            clean = path.rstrip(".").rstrip("/")
            if any(clean == g or clean.startswith(g + "/") for g in generated):
                continue  # made by a run (benchmarks/results/), not kept in the repository
            if any(c in clean for c in "*<>{}") or not (ROOT / clean).exists():
                missing.append(f"{doc.relative_to(ROOT)}: {clean}")
    assert missing == []


def test_architecture_names_only_dependencies_in_use() -> None:
    """A library the architecture document names is one geosite depends on."""
    text = (ROOT / "docs" / "architecture.md").read_text().lower()
    declared = (ROOT / "pyproject.toml").read_text().lower()
    for library in ("psycopg", "mapnik", "prometheus", "sqlalchemy", "redis", "celery", "flask"):
        if library in text:
            assert library in declared, f"docs/architecture.md names {library}, not a dependency"
