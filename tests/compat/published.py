"""Published administration scripts and libraries, run as their authors wrote them.

Each one has a folder ``tests/compat/scripts/<slug>/``:

* ``SOURCE.md``: where it comes from (the PyPI release or the repository and commit, the
  files and their sha256), the licence, the author, why it counts as used, what is exercised;
* ``original/``: the published files, byte for byte. They are **not committed**: other
  people's code stays out of this repository's history. Releases on PyPI are downloaded,
  hash-checked, at test time by :mod:`tests.compat.pypi_release` (``release.toml``), so they
  run in CI; scripts published only on GitHub are downloaded by
  ``python -m tests.compat.scripts.fetch`` where GitHub can be reached, and their tests skip
  with that instruction elsewhere (CI reaches only the package registries);
* the Python 3 port, mechanical only: none when the release runs on Python 3; the standard
  ``2to3`` fixers applied on every run (:mod:`tests.compat.py3port`); or, for a one-line
  change, ``py3.diff`` (paths ``a/<file>`` and ``b/<file>``). Host, port and credentials reach
  a script through its own arguments, prompts or the settings its README says to edit;
* ``driver.py`` (ours, for libraries): the calls the library's README shows.

:func:`ported` copies ``original/`` into a temporary directory and applies ``py3.diff`` with
``patch -p1``, so the diff is checked on every run; :func:`run` runs a script there with the
test interpreter, answers its prompts from ``stdin`` and fails loudly on a timeout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import LiveSite

SCRIPTS = Path(__file__).parent / "scripts"


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str

    def explain(self) -> str:
        return f"exit {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def ported(slug: str, into: Path) -> Path:
    """``tests/compat/scripts/<slug>/original`` copied into ``into`` with its Python 3 port."""
    home = SCRIPTS / slug
    if not (home / "SOURCE.md").is_file():
        raise FileNotFoundError(f"{home}/SOURCE.md: every published script says where it came from")
    target = into / slug
    shutil.copytree(home / "original", target)
    shutil.copy(SCRIPTS / "_answer.py", target)  # how our drivers answer (ours, not theirs)
    diff = home / "py3.diff"
    if diff.is_file() and diff.stat().st_size:
        patched = subprocess.run(
            ["patch", "-p1", "--forward", "--batch", "-i", str(diff)],
            cwd=target,
            capture_output=True,
            text=True,
            check=False,
        )
        if patched.returncode:
            raise RuntimeError(f"{diff} no longer applies:\n{patched.stdout}{patched.stderr}")
    return target


def run(
    script: Path,
    *args: str,
    stdin: str = "",
    timeout: float = 120,
    env: dict[str, str] | None = None,
) -> Ran:
    """Run ``script`` with this interpreter in its own directory, as its author would."""
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    done = subprocess.run(
        [sys.executable, str(script), *args],
        cwd=script.parent,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
        check=False,
    )
    return Ran(done.returncode, done.stdout, done.stderr)


# -- what the tests of published clients share ---------------------------------------------

_TOKENS: dict[str, str] = {}


def points(path: Path, count: int = 3) -> Path:
    """A GeoJSON file of ``count`` points (attribute ``n``) to publish."""
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [i, i]},
            "properties": {"n": i},
        }
        for i in range(count)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def admin(site: LiveSite, path: str, **params: Any) -> Any:
    """``POST /arcgis/admin/<path>`` as the site's administrator (one token per site)."""
    token = _TOKENS.get(site.http) or _TOKENS.setdefault(site.http, site.token())
    answer = httpx.post(
        f"{site.admin}/{path}", data={"f": "json", "token": token, **params}, timeout=60
    )
    return answer.json()


def service_path(folder: str, name: str, kind: str = "FeatureServer") -> str:
    """``services/[folder/]name.kind``."""
    return f"services/{folder + '/' if folder else ''}{name}.{kind}"


def state(site: LiveSite, folder: str, name: str, kind: str = "FeatureServer") -> str:
    """The service's ``realTimeState`` as the Administrator API reports it."""
    return str(admin(site, service_path(folder, name, kind) + "/status")["realTimeState"])
