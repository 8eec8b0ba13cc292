"""The allowed imports between geosite's packages (spec/style.md §9.2)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "geosite"

# For each layer: the geosite modules it may import (prefix match). Third-party rules follow.
ALLOWED = {
    "core": (
        "geosite.core",
        "geosite.storage.base",
        "geosite.errors",
        "geosite.files",
        "geosite.integers",
        "geosite",
    ),
    # geosite.files (private file modes) and geosite.integers (reading a request's integers)
    # are leaves over the standard library and errors, as errors is.
    "storage": ("geosite.storage", "geosite.core.models", "geosite.files", "geosite.errors"),
    "data": (
        "geosite.data",
        "geosite.core.models",
        "geosite.files",
        "geosite.errors",
        "geosite.integers",
    ),
    "engines": (
        "geosite.engines",
        "geosite.data",
        "geosite.core.models",
        # How a layer is drawn is the core's model; the render engine turns it into Mapnik's.
        "geosite.core.drawing",
        "geosite.files",
        "geosite",  # the versions the JSON resources announce
        "geosite.errors",
        "geosite.integers",
    ),
    "http": (
        "geosite.http",
        "geosite.core",
        "geosite.engines",
        "geosite.storage",
        "geosite.data",
        "geosite.errors",
        "geosite.files",
        "geosite.integers",
        "geosite.settings",
        "geosite",
    ),
    "client": ("geosite.client",),
    "cli": (
        "geosite.cli",
        "geosite.client",
        "geosite.http.app",
        "geosite.storage",
        "geosite.core",
        "geosite.data",
        "geosite.demo",
        "geosite.errors",
        "geosite.files",
        "geosite.settings",
        "geosite",
    ),
}
# Third-party packages a layer must not import.
FORBIDDEN_THIRD_PARTY = {
    "core": ("starlette", "uvicorn", "sqlite3", "psycopg", "jinja2", "httpx", "click", "mapnik"),
    "storage": ("starlette", "uvicorn", "jinja2", "httpx", "click", "mapnik"),
    "engines": ("starlette", "uvicorn", "jinja2", "click"),
    # Mapnik is the render engine's: the data layer only says how its plugins read a layer.
    "data": ("starlette", "uvicorn", "jinja2", "click", "mapnik"),
    "http": ("mapnik",),
    "client": ("starlette", "uvicorn", "sqlite3", "jinja2"),
}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _modules() -> list[tuple[str, Path]]:
    return [
        (p.relative_to(PACKAGE).parts[0], p)
        for p in sorted(PACKAGE.rglob("*.py"))
        if p.relative_to(PACKAGE).parts[0] in ALLOWED
    ]


def test_every_layer_exists() -> None:
    for layer in ALLOWED:
        assert (PACKAGE / layer / "__init__.py").exists(), layer


@pytest.mark.parametrize(("layer", "path"), _modules(), ids=lambda v: str(v))
def test_imports_follow_the_layers(layer: str, path: Path) -> None:
    for name in _imports(path):
        if name == "geosite" or name.startswith("geosite."):
            allowed = ALLOWED[layer]
            ok = any(name == a or (a != "geosite" and name.startswith(a + ".")) for a in allowed)
            assert ok, f"{path.relative_to(PACKAGE)} imports {name}, not allowed in geosite.{layer}"
        else:
            top = name.split(".")[0]
            assert top not in FORBIDDEN_THIRD_PARTY.get(layer, ()), (
                f"{path.relative_to(PACKAGE)} imports {top}, not allowed in geosite.{layer}"
            )


def test_core_imports_no_store_implementation() -> None:
    for layer, path in _modules():
        if layer == "core":
            assert "geosite.storage.sqlite" not in _imports(path), path


def test_integers_is_a_leaf() -> None:
    """``geosite.integers`` is imported by every layer, so it imports only the error tree."""
    names = _imports(PACKAGE / "integers.py")
    assert [n for n in names if n.startswith("geosite")] == ["geosite.errors"]
