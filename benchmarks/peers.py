"""W1/W2 peers: install, configure, start and measure Koop and pygeoapi on the same points."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from data_points import Dataset
from feature_config import (
    INSTALL_TIMEOUT_S,
    KOOP_PACKAGES,
    PEERS_DIR,
    PYGEOAPI_PACKAGES,
    SYSTEM_PYTHON,
    console,
)
from feature_servers import (
    KoopServer,
    PygeoapiServer,
    Server,
    ServerReport,
    Timing,
    _single_summary,
    measure,
    workloads,
)
from harness import ROOT, Service, free_port, running
from loadgen import LoadGenerator
from memory import MemoryWatch

# -- peers ------------------------------------------------------------------------------------


def _run_logged(command: list[str], log: Path, timeout: float, **kwargs: Any) -> None:
    """Run an install step, appending its output to ``log``; raise with the tail on failure."""
    with log.open("ab") as out:
        out.write(("\n$ " + " ".join(command) + "\n").encode())
        out.flush()
        try:
            done = subprocess.run(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
                **kwargs,
            )
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"{command[0]} took more than {timeout:.0f} s") from exc
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-800:]
        raise RuntimeError(f"`{' '.join(command[:4])} ...` failed ({done.returncode}): {tail}")


KOOP_SERVER_JS = """\
'use strict';
// Written by benchmarks/features.py: Koop with the GeoJSON file provider, one process per
// worker (node:cluster), listening on loopback only.
const cluster = require('node:cluster');
const path = require('node:path');
const port = Number(process.env.KOOP_PORT);
const workers = Number(process.env.KOOP_WORKERS || '1');
if (cluster.isPrimary && workers > 1) {
  for (let i = 0; i < workers; i += 1) cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    console.error(`koop worker ${worker.process.pid} exited (${signal || code})`);
  });
} else {
  const Koop = require('@koopjs/koop-core');
  const provider = require('@koopjs/provider-file-geojson');
  const koop = new Koop({ logLevel: 'error' });
  // The provider joins dataDir to the working directory, so it must be relative.
  koop.register(provider, { dataDir: path.relative(process.cwd(), process.env.KOOP_DATA_DIR) });
  koop.server.listen(port, '127.0.0.1', () => {
    console.log(`koop ${koop.version} listening on 127.0.0.1:${port} (pid ${process.pid})`);
  });
}
"""


def _node_package_version(root: Path, name: str) -> str | None:
    path = root / "node_modules" / name / "package.json"
    with contextlib.suppress(OSError, ValueError):
        return str(json.loads(path.read_text())["version"])
    return None


def install_koop(log: Path) -> tuple[Path, dict[str, str]]:
    """npm install of the pinned Koop packages into benchmarks/.peers/koop (once)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        raise RuntimeError("node/npm not found on PATH (Debian: apt-get install nodejs npm)")
    home = PEERS_DIR / "koop"
    home.mkdir(parents=True, exist_ok=True)
    installed = {n: _node_package_version(home, n) for n in KOOP_PACKAGES}
    if installed != KOOP_PACKAGES:
        package = {
            "name": "geosite-bench-koop-peer",
            "private": True,
            "description": "Written by benchmarks/features.py",
            "dependencies": KOOP_PACKAGES,
        }
        (home / "package.json").write_text(json.dumps(package, indent=2) + "\n")
        console.print(f"  installing {', '.join(f'{n}@{v}' for n, v in KOOP_PACKAGES.items())}")
        _run_logged(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
            log,
            INSTALL_TIMEOUT_S,
            cwd=home,
        )
    (home / "server.js").write_text(KOOP_SERVER_JS)
    node_version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout.strip()
    versions = {"node": node_version}
    for name in (*KOOP_PACKAGES, "@koopjs/output-geoservices", "@koopjs/winnow", "express"):
        versions[name] = _node_package_version(home, name) or "?"
    return home, versions


def run_koop(
    args: argparse.Namespace, generator: LoadGenerator, data: Dataset, tmp: Path
) -> ServerReport:
    report = ServerReport("Koop")
    log = tmp / "koop-install.log"
    try:
        home, versions = install_koop(log)
    except (RuntimeError, OSError) as exc:
        report.reason = f"not installed: {exc}"
        return report
    report.version = f"koop-core {versions['@koopjs/koop-core']}"
    report.setup["versions"] = versions
    report.setup["configuration"] = (
        f"node:cluster with {args.workers} processes, default settings (no cache: the provider "
        "reads and parses the GeoJSON file on every request)"
    )
    data_dir = tmp / "koop-data"
    data_dir.mkdir(exist_ok=True)
    link = data_dir / "points.geojson"
    if not link.exists():
        link.symlink_to(data.geojson)
    port = free_port()
    env = {
        **os.environ,
        "KOOP_PORT": str(port),
        "KOOP_WORKERS": str(args.workers),
        "KOOP_DATA_DIR": str(data_dir),
        "NODE_ENV": "production",
        "SUPPRESS_NO_CONFIG_WARNING": "1",
        "NODE_CONFIG_DIR": str(home / "config"),
    }
    command = [shutil.which("node") or "node", "--max-old-space-size=8192", str(home / "server.js")]
    return _run_peer(
        report,
        Service("Koop", command, tmp / "koop.log", env),
        KoopServer(f"http://127.0.0.1:{port}"),
        f"http://127.0.0.1:{port}/status",
        args,
        generator,
        data,
    )


def _venv_python_ok(python: Path, code: str) -> bool:
    if not python.exists():
        return False
    done = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    return done.returncode == 0


def install_pygeoapi(log: Path) -> tuple[Path, dict[str, str]]:
    """A venv from the system Python (for Debian's GDAL bindings) with pinned pygeoapi."""
    if not Path(SYSTEM_PYTHON).exists():
        raise RuntimeError(f"{SYSTEM_PYTHON} is missing (GDAL's bindings come with it)")
    if not _venv_python_ok(Path(SYSTEM_PYTHON), "from osgeo import ogr"):
        apt = shutil.which("apt-get")
        if not apt or os.geteuid() != 0:
            raise RuntimeError("GDAL's Python bindings are missing: apt-get install python3-gdal")
        console.print("  installing python3-gdal with apt-get")
        _run_logged([apt, "update", "-qq"], log, INSTALL_TIMEOUT_S)
        _run_logged(
            [apt, "install", "-y", "-qq", "python3-gdal"],
            log,
            INSTALL_TIMEOUT_S,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    venv = PEERS_DIR / "pygeoapi-venv"
    python = venv / "bin" / "python"
    pins = [f"{n}=={v}" for n, v in PYGEOAPI_PACKAGES.items()]
    check = "; ".join(
        f"assert __import__('importlib.metadata').metadata.version({n!r}) == {v!r}"
        for n, v in PYGEOAPI_PACKAGES.items()
    )
    if not _venv_python_ok(python, check + "; from osgeo import ogr; import pygeoapi"):
        if venv.exists():
            shutil.rmtree(venv)
        console.print(f"  installing {', '.join(pins)} into {venv.relative_to(ROOT)}")
        _run_logged(
            [SYSTEM_PYTHON, "-m", "venv", "--system-site-packages", str(venv)],
            log,
            INSTALL_TIMEOUT_S,
        )
        _run_logged(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *pins],
            log,
            INSTALL_TIMEOUT_S,
        )
    probe = (
        "import json, platform; from importlib.metadata import version; "
        "from osgeo import gdal; print(json.dumps({'python': platform.python_version(), "
        "'GDAL (osgeo)': gdal.__version__, "
        + ", ".join(f"{n!r}: version({n!r})" for n in ("pygeoapi", "gunicorn", "Flask"))
        + "}))"
    )
    done = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"the pygeoapi venv does not work: {done.stderr[-500:]}")
    return venv, json.loads(done.stdout)


def pygeoapi_config(data: Dataset, port: int) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}"
    return {
        "server": {
            "bind": {"host": "127.0.0.1", "port": port},
            "url": url,
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "language": "en-US",
            "cors": False,
            "pretty_print": False,
            "limits": {"default_items": 10, "max_items": 10000},
            "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "attribution": "-"},
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": "geosite benchmark peer",
                "description": "The benchmark points",
                "keywords": ["benchmark"],
                "keywords_type": "theme",
                "terms_of_service": "-",
                "url": url,
            },
            "license": {"name": "CC0", "url": url},
            "provider": {"name": "geosite benchmarks", "url": url},
            "contact": {"name": "geosite benchmarks"},
        },
        "resources": {
            "points": {
                "type": "collection",
                "title": "Points",
                "description": f"{data.points} random points",
                "keywords": ["points"],
                "extents": {
                    "spatial": {
                        "bbox": [-180, -90, 180, 90],
                        "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
                    }
                },
                "providers": [
                    {
                        "type": "feature",
                        "name": "OGR",
                        "data": {
                            "source_type": "GPKG",
                            "source": str(data.gpkg),
                            "source_capabilities": {"paging": True},
                        },
                        "id_field": "id",
                        "layer": "points",
                    }
                ],
            }
        },
    }


def run_pygeoapi(
    args: argparse.Namespace, generator: LoadGenerator, data: Dataset, tmp: Path
) -> ServerReport:
    report = ServerReport("pygeoapi")
    log = tmp / "pygeoapi-install.log"
    try:
        venv, versions = install_pygeoapi(log)
    except (RuntimeError, OSError) as exc:
        report.reason = f"not installed: {exc}"
        return report
    report.version = f"pygeoapi {versions['pygeoapi']}"
    report.setup["versions"] = versions
    report.setup["configuration"] = (
        f"gunicorn, {args.workers} sync workers; OGR provider over the GeoPackage (R*Tree)"
    )
    port = free_port()
    config = tmp / "pygeoapi-config.yml"  # JSON is YAML
    openapi = tmp / "pygeoapi-openapi.yml"
    config.write_text(json.dumps(pygeoapi_config(data, port), indent=2))
    env = {**os.environ, "PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
    env.pop("VIRTUAL_ENV", None)
    try:
        _run_logged(
            [
                str(venv / "bin" / "pygeoapi"),
                "openapi",
                "generate",
                str(config),
                "-of",
                str(openapi),
            ],
            log,
            300,
            env=env,
        )
    except RuntimeError as exc:
        report.reason = f"openapi document not generated: {exc}"
        return report
    command = [
        str(venv / "bin" / "gunicorn"),
        "--workers",
        str(args.workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--timeout",
        "300",
        "--log-level",
        "warning",
        "pygeoapi.flask_app:APP",
    ]
    return _run_peer(
        report,
        Service("pygeoapi", command, tmp / "pygeoapi.log", env),
        PygeoapiServer(f"http://127.0.0.1:{port}"),
        f"http://127.0.0.1:{port}/conformance?f=json",
        args,
        generator,
        data,
    )


def _run_peer(
    report: ServerReport,
    service: Service,
    server: Server,
    ready_url: str,
    args: argparse.Namespace,
    generator: LoadGenerator,
    data: Dataset,
) -> ServerReport:
    timing = Timing(args.peer_warmup, args.peer_duration, 1)
    try:
        with (
            running(service, ready_url, lambda r: r.status_code == 200),
            MemoryWatch(service) as watch,
        ):
            report.memory["idle"] = watch.sample("idle")
            began = time.perf_counter()
            with watch.during("check"):
                report.problems = server.check(data, args.peer_check_boxes)
            report.setup["check_s"] = round(time.perf_counter() - began, 1)
            report.setup["single_request_s"] = _single_summary(server)
            for problem in report.problems:
                console.print(f"  [red]{report.name} wrong answer[/]: {problem}")
            report.status = "measured"
            for workload in workloads(args.concurrency, args.hits):
                report.results.append(
                    measure(
                        server,
                        service,
                        watch,
                        workload,
                        data,
                        generator,
                        timing,
                        ready_url,
                        args.workers,
                    )
                )
            report.memory["peak"] = watch.peak()
    except Exception as exc:  # a broken peer is reported, and the run goes on
        if not report.results:
            report.status = "missing"
        report.reason = f"{type(exc).__name__}: {str(exc)[-600:]}"
        console.print(f"  [yellow]{report.name} failed[/]: {report.reason}")
    return report
