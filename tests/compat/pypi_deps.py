"""The dependencies a published library needs that the project's ``.venv`` does not hold.

``scripts/<slug>/release.toml`` lists them, each pinned and hash-checked as pip's requirement
lines take them::

    deps = ["rsa==4.9.1 --hash=sha256:68635866...", ...]

:func:`install` puts exactly those files, and nothing they would pull in (``--no-deps``: a
library's own list may name packages that break this interpreter, such as ``enum34``, which
shadows the standard ``enum``), into ``scripts/<slug>/original/.deps`` with
``pip install --target``, once: a finished folder records the list it was made from in
``.installed``. The ``.venv`` itself is never touched (``tests/test_packaging.py`` compares it
with ``constraints.txt``); a driver gets the folder first on its ``PYTHONPATH``
(:func:`environment`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from tests.compat.published import SCRIPTS
from tests.compat.pypi_release import ReleaseUnavailable


def install(slug: str) -> Path:
    """``scripts/<slug>/original/.deps`` holding the ``deps`` of its ``release.toml``."""
    home = SCRIPTS / slug
    spec = tomllib.loads((home / "release.toml").read_text())
    wanted = "\n".join(spec.get("deps", [])) + "\n"
    target = home / "original" / ".deps"
    done = target / ".installed"
    if done.is_file() and done.read_text() == wanted:
        return target
    with tempfile.TemporaryDirectory() as tmp:
        requirements = Path(tmp) / "requirements.txt"
        requirements.write_text(wanted)
        staging = Path(tmp) / "deps"
        installed = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--no-deps",
                "--require-hashes",
                "--only-binary",
                ":all:",
                "--no-compile",
                "--target",
                str(staging),
                "-r",
                str(requirements),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if installed.returncode:
            raise ReleaseUnavailable(
                f"the dependencies of {slug} could not be installed:\n"
                + installed.stdout[-2000:]
                + installed.stderr[-2000:]
            )
        (staging / ".installed").write_text(wanted)
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staging, target)
    return target


def environment(slug: str) -> dict[str, str]:
    """The variables a driver of ``slug`` runs with: its dependencies first on the path."""
    deps = install(slug)
    rest = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": str(deps) + (os.pathsep + rest if rest else "")}
