"""Published libraries fetched from their PyPI release into ``scripts/<slug>/original/``.

A library's files are other people's code and are not kept in this repository (``original/``
is ignored by git). ``scripts/<slug>/release.toml`` names the one release file it comes from
and the files of it the tests need::

    requirement = "python-ags==0.3.2"
    file = "python_ags-0.3.2-py3-none-any.whl"
    sha256 = "064609eb..."
    root = ""            # the folder inside the archive the kept paths are relative to
    keep = ["ags/admin/server.py", ...]

:func:`fetch` downloads that file with pip (``--require-hashes``: any other file is refused;
a wheel or an sdist, whose metadata pip prepares in its isolated build environment, as the
``setuptools`` of ours has no ``bdist_wheel``), checks its digest again, and extracts the kept
files, byte for byte, into ``original/``; a finished ``original/`` records the digest in
``.release`` and is used as it is afterwards.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from pathlib import Path

from tests.compat.published import SCRIPTS


class ReleaseUnavailable(RuntimeError):
    """The release could not be downloaded (no index reachable)."""


def _members(archive: Path) -> dict[str, bytes]:
    if archive.name.endswith(".whl") or archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as wheel:
            return {name: wheel.read(name) for name in wheel.namelist() if not name.endswith("/")}
    with tarfile.open(archive) as sdist:
        found: dict[str, bytes] = {}
        for member in sdist.getmembers():
            handle = sdist.extractfile(member) if member.isfile() else None
            if handle is not None:
                found[member.name] = handle.read()
        return found


def fetch(slug: str) -> Path:
    """``scripts/<slug>/original``, made from the release ``release.toml`` names if need be."""
    home = SCRIPTS / slug
    spec = tomllib.loads((home / "release.toml").read_text())
    original = home / "original"
    done = original / ".release"
    if done.is_file() and done.read_text() == spec["sha256"]:
        return original
    with tempfile.TemporaryDirectory() as tmp:
        requirements = Path(tmp) / "requirements.txt"
        requirements.write_text(f"{spec['requirement']} --hash=sha256:{spec['sha256']}\n")
        downloaded = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--require-hashes",
                "--dest",
                str(Path(tmp) / "files"),
                "-r",
                str(requirements),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        archive = Path(tmp) / "files" / spec["file"]
        if downloaded.returncode or not archive.is_file():
            raise ReleaseUnavailable(
                f"{spec['requirement']} ({spec['file']}) could not be downloaded:\n"
                + downloaded.stdout[-2000:]
                + downloaded.stderr[-2000:]
            )
        if hashlib.sha256(archive.read_bytes()).hexdigest() != spec["sha256"]:
            raise RuntimeError(f"{archive.name}: the digest is not the one release.toml names")
        members = _members(archive)
        staging = Path(tmp) / "original"
        prefix = spec["root"] + "/" if spec["root"] else ""
        for kept in spec["keep"]:
            body = members.get(prefix + kept)
            if body is None:
                raise RuntimeError(f"{archive.name} has no {prefix + kept}")
            target = staging / kept
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)
        (staging / ".release").write_text(spec["sha256"])
        shutil.rmtree(original, ignore_errors=True)
        shutil.copytree(staging, original)
    return original
