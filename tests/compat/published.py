"""Published administration scripts and libraries, run as their authors wrote them.

Each one lives in ``tests/compat/scripts/<slug>/``:

* ``original/``: the files exactly as published (never edited; ``SOURCE.md`` says where from);
* ``SOURCE.md``: the address, the commit or release, the path, the licence, the author, and
  why it counts as used (stars, forks, downloads, copies);
* ``py3.diff``: the mechanical Python 3 port (``print`` statements, ``urllib2`` and
  ``httplib`` imports, bytes and text), as a unified diff against ``original/`` with paths
  ``a/<file>`` and ``b/<file>``; empty or absent when the original already runs on Python 3.
  It changes nothing else: no host, port or behaviour is edited, those come in as the
  script's own arguments or prompts.

:func:`ported` copies ``original/`` into a temporary directory and applies ``py3.diff`` with
``patch -p1``, so the diff is checked on every run; :func:`run` runs a script there with the
test interpreter, answers its prompts from ``stdin`` and fails loudly on a timeout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

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
