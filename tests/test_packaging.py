"""Packaging: dependency ranges with CI's exact versions in constraints.txt, and the client and
the administration commands working without the server's packages."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from geosite.cli import ServerCommand, main
from geosite.client import Site
from tests.client.test_resources import points
from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
#: What the client and the administration commands import (everything else is the server's).
CLIENT_PACKAGES = {"httpx", "click", "rich"}
#: Modules that only the server needs: none may be imported by the client or the commands
#: that talk to a site through its API.
SERVER_MODULES = (
    "uvicorn",
    "starlette",
    "numpy",
    "pyogrio",
    "shapely",
    "pyproj",
    "osgeo",
    "orjson",
    "argon2",
    "jinja2",
    "python_multipart",
    "geosite.core",
    "geosite.http",
    "geosite.storage",
    "geosite.engines",
    "geosite.data",
)


def _requirements() -> list[Requirement]:
    extras = PROJECT["optional-dependencies"]
    names = [*PROJECT["dependencies"], *(r for group in extras.values() for r in group)]
    return [Requirement(r) for r in names]


def _constraints() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        assert sep and name.strip() == name and version.strip() == version, line
        pins[canonicalize_name(name)] = Version(version)
    return pins


def _client_requirements() -> list[str]:
    return [r for r in PROJECT["dependencies"] if Requirement(r).name in CLIENT_PACKAGES]


# -- ranges and constraints ------------------------------------------------------------------


@pytest.mark.parametrize("requirement", _requirements(), ids=str)
def test_each_dependency_is_a_range_with_a_tested_lower_and_a_major_upper_bound(
    requirement: Requirement,
) -> None:
    specs = {s.operator: Version(s.version) for s in requirement.specifier}
    assert set(specs) == {">=", "<"}, f"{requirement}: a range >=tested,<next major"
    pinned = _constraints()[canonicalize_name(requirement.name)]
    # The lower bound is what CI tests (or older for a range kept wide on purpose, as pandas').
    assert specs[">="] <= pinned and pinned in requirement.specifier, (requirement, pinned)
    lower, upper = specs[">="], specs["<"]
    if lower.major > 0:
        assert upper.release[0] <= lower.major + 1, f"{requirement}: at most the next major"
    else:
        assert upper.release[:2] <= (0, lower.minor + 1), f"{requirement}: the next 0.x minor"


def test_constraints_pin_every_package_ci_installs_and_this_environment_has_them() -> None:
    pins = _constraints()
    installed = {
        canonicalize_name(d.metadata["Name"]): Version(d.version) for d in metadata.distributions()
    }
    installed.pop("geosite", None)
    for name in ("pip", "setuptools", "wheel"):  # pip freeze leaves these out
        installed.pop(name, None)
    # Every direct requirement (with its markers) is pinned to what this environment runs.
    for requirement in _requirements():
        if requirement.marker is None or requirement.marker.evaluate():
            name = canonicalize_name(requirement.name)
            assert installed.get(name) == pins[name], (name, installed.get(name), pins[name])
    # The pins cover the transitive ones too (a lock, not a list of direct dependencies).
    missing = sorted(set(installed) - set(pins))
    assert not missing, f"installed but not in constraints.txt (run `make constraints`): {missing}"


def test_the_makefile_installs_with_the_constraints() -> None:
    makefile = (ROOT / "Makefile").read_text()
    installs = [line for line in makefile.splitlines() if re.search(r"pip install .*-e ", line)]
    assert len(installs) == 2, installs
    assert installs and all("-c $(CONSTRAINTS)" in line for line in installs), installs
    assert "CONSTRAINTS := constraints.txt" in makefile


def test_the_docs_install_the_client_with_the_ranges_of_pyproject() -> None:
    docs = (ROOT / "docs" / "deployment.md").read_text()
    assert "pip install --no-deps geosite" in docs
    documented = re.findall(r'pip install ((?:"[^"]+" ?)+)', docs)
    assert documented, "docs/deployment.md: the client's install command"
    assert re.findall(r'"([^"]+)"', documented[0]) == _client_requirements()


# -- the client without the server's packages ------------------------------------------------


def test_the_short_help_of_a_lazy_command_is_the_real_one() -> None:
    lazy = [c for c in main.commands.values() if isinstance(c, ServerCommand)]
    assert [c.name for c in lazy] == ["serve"]
    for command in lazy:
        real = command.load()
        for limit in (45, 80):
            assert command.get_short_help_str(limit) == real.get_short_help_str(limit)
        helped = CliRunner().invoke(main, [str(command.name), "--help"])
        assert helped.exit_code == 0 and (real.help or "").split("\n")[0] in helped.output


@pytest.fixture(scope="module")
def listed_site(site: LiveSite, tmp_path_factory: pytest.TempPathFactory) -> LiveSite:
    data = points(tmp_path_factory.mktemp("packaging") / "points.geojson")
    with Site.connect(site.http + "/arcgis", ADMIN_USER, ADMIN_PASSWORD) as client:
        client.services.publish(data, "Parks")
    return site


def _env(site: LiveSite, config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GEOSITE_", "PYTHON"))}
    return env | {
        "GEOSITE_URL": site.http + "/arcgis",
        "GEOSITE_USER": ADMIN_USER,
        "GEOSITE_PASSWORD": ADMIN_PASSWORD,
        "GEOSITE_CONFIG_DIR": str(config),
    }


def test_services_ls_imports_nothing_of_the_server(listed_site: LiveSite, tmp_path: Path) -> None:
    script = f"""
import json, sys
import geosite.client
from geosite.cli import main
try:
    main(["services", "ls", "--json"], prog_name="geosite")
except SystemExit as exc:
    assert not exc.code, exc.code
loaded = [m for m in {SERVER_MODULES!r} if m in sys.modules]
print(json.dumps(loaded), file=sys.stderr)
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=_env(listed_site, tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert [s["name"] for s in json.loads(done.stdout)] == ["Parks"]
    assert json.loads(done.stderr.strip().splitlines()[-1]) == []


def _fresh_venv(where: Path) -> Path:
    made = subprocess.run(
        [sys.executable, "-m", "venv", str(where)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot create a virtual environment here: {made.stderr.strip()[-300:]}")
    return where / "bin"


def test_the_client_alone_in_a_fresh_environment(listed_site: LiveSite, tmp_path: Path) -> None:
    """Installed as docs/deployment.md says: geosite without its dependencies, then the
    client's three (at CI's versions), in a new virtual environment."""
    bin_dir = _fresh_venv(tmp_path / "venv")
    env = _env(listed_site, tmp_path / "config")
    pip = [str(bin_dir / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    for args in (
        ["-c", str(ROOT / "constraints.txt"), *_client_requirements()],
        ["--no-deps", str(ROOT)],
    ):
        installed = subprocess.run(
            [*pip, *args], env=env, capture_output=True, text=True, timeout=600, check=False
        )
        assert installed.returncode == 0, installed.stderr[-2000:]

    freeze = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "freeze"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    present = {canonicalize_name(line.split("==")[0]) for line in freeze.splitlines()}
    for server in ("numpy", "uvicorn", "starlette", "pyogrio", "shapely", "pyproj", "gdal"):
        assert server not in present, freeze

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args, env=env, capture_output=True, text=True, timeout=120, check=False
        )

    imported = run(str(bin_dir / "python"), "-X", "importtime", "-c", "import geosite.client")
    assert imported.returncode == 0, imported.stderr
    assert not re.search(r"\| +(numpy|uvicorn|starlette|osgeo)\b", imported.stderr)

    listed = run(str(bin_dir / "geosite"), "services", "ls", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [s["name"] for s in json.loads(listed.stdout)] == ["Parks"]
    assert run(str(bin_dir / "geosite"), "site", "health").returncode == 0
    helped = run(str(bin_dir / "geosite"), "--help")
    assert helped.returncode == 0 and "serve" in helped.stdout, helped.stderr

    # The server's command says what is missing instead of a traceback.
    served = run(str(bin_dir / "geosite"), "serve", "--help")
    assert served.returncode == 1
    assert "needs the server's packages" in served.stderr and "pip install" in served.stderr
    assert "Traceback" not in served.stderr
    geosite = str(bin_dir / "geosite")
    reset = run(geosite, "site", "reset-password", "--user", "x", "--password", "x")
    assert reset.returncode == 1 and "needs the server's packages" in reset.stderr, reset.stderr
