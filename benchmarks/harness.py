"""What the benchmark scripts share: the paths, server subprocesses (geosite, nginx), timed load
runs."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from loadgen import LoadGenerator, LoadResult, LoadSpec, PythonLoad, WrkLoad
from rich.console import Console

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(ROOT))  # the tests' nginx (tests/nginx.py) is the benchmarks' too

from tests.nginx import NGINX, main_config  # noqa: E402

RESULTS_DIR = BENCH_DIR / "results"
ADMIN_USER = "bench"
STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0

console = Console(highlight=False, width=max(150, shutil.get_terminal_size().columns))


# -- processes --------------------------------------------------------------------------------


def free_port() -> int:
    """A loopback port that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    found = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Service:
    """A server subprocess in its own process group, stopped with SIGTERM, then killed."""

    def __init__(self, name: str, command: list[str], log_path: Path, env: dict[str, str]) -> None:
        self.name = name
        self.command = command
        self.log_path = log_path
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, ready_url: str, ready: Callable[[httpx.Response], bool]) -> None:
        """Start the process and wait (bounded) until ``ready_url`` answers as expected."""
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=ROOT,
                start_new_session=True,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    break
                with contextlib.suppress(httpx.HTTPError):
                    if ready(client.get(ready_url)):
                        return
                time.sleep(0.25)
        tail = self.log_path.read_text(errors="replace")[-2000:]
        self.stop()
        raise RuntimeError(f"{self.name} did not become ready at {ready_url}:\n{tail}")

    def pids(self) -> list[int]:
        """The process and all its descendants."""
        if self.process is None:
            return []
        result, queue = [], [self.process.pid]
        while queue:
            pid = queue.pop()
            result.append(pid)
            queue += _children(pid)
        return result

    def workers(self) -> list[int]:
        """Worker processes: the descendants that serve requests."""
        return [
            pid
            for pid in self.pids()[1:]
            if "resource_tracker" not in _cmdline(pid) and "semaphore_tracker" not in _cmdline(pid)
        ]

    def cpu_seconds(self) -> float:
        """CPU time used so far by the process tree."""
        return sum(_cpu_seconds(pid) for pid in self.pids())

    def stop(self) -> None:
        """SIGTERM, wait, then SIGKILL whatever is left of the process group."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                console.print(f"[yellow]{self.name} ignored SIGTERM; killing it[/]")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # our own group (start_new_session)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
        self.process = None


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class ServiceGroup(Service):
    """Several processes measured as one server (the CPU time of all of them)."""

    def __init__(self, name: str, parts: list[Service]) -> None:
        super().__init__(name, [], Path(os.devnull), {})
        self.parts = parts

    def cpu_seconds(self) -> float:
        return sum(p.cpu_seconds() for p in self.parts)


# -- nginx ------------------------------------------------------------------------------------


def find_nginx() -> str | None:
    """The nginx binary (Debian puts it in /usr/sbin, which may not be on PATH)."""
    return NGINX


def nginx_service(nginx: str, root: Path, name: str, http: str, workers: int = 1) -> Service:
    """An nginx (not started yet) with ``tests.nginx.main_config`` around ``http`` in
    ``root``/nginx.conf, checked with ``nginx -t``."""
    (root / "nginx.conf").write_text(main_config(root, http, workers))
    command = [nginx, "-p", str(root), "-c", str(root / "nginx.conf")]
    checked = subprocess.run(
        [*command, "-t"], capture_output=True, text=True, timeout=30, check=False
    )
    if checked.returncode != 0:
        raise RuntimeError(f"nginx -t: {checked.stderr[-1000:]}")
    return Service(name, command, root / "nginx.log", dict(os.environ))


# -- measuring --------------------------------------------------------------------------------


@dataclass
class Run:
    """One measured run and the CPU it cost on each side."""

    load: LoadResult
    server_cpu_s: float | None
    loadgen_cpu_s: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        data: dict[str, Any] = self.load.as_dict()
        data["server_cpu_s"] = None if self.server_cpu_s is None else round(self.server_cpu_s, 3)
        data["loadgen_cpu_s"] = round(self.loadgen_cpu_s, 3)
        data["server_cpu_us_per_request"] = self.server_cpu_us_per_request
        return data

    @property
    def server_cpu_us_per_request(self) -> float | None:
        """Server CPU time per request, all processes together."""
        if self.server_cpu_s is None or not self.load.requests:
            return None
        return round(self.server_cpu_s / self.load.requests * 1e6, 1)

    @property
    def loadgen_share(self) -> float:
        """Fraction of the machine's CPU the load generator used."""
        total = self.load.seconds * (os.cpu_count() or 1)
        return self.loadgen_cpu_s / total if total else 0.0


def _rusage_cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed_run(
    generator: LoadGenerator,
    spec: LoadSpec,
    concurrency: int,
    seconds: float,
    service: Service | None,
) -> Run:
    """One load run with the CPU used by the server tree and by the load generator."""
    server_before = service.cpu_seconds() if service else 0.0
    own_before = _rusage_cpu()
    load = generator.run(spec, concurrency, seconds)
    own_after = _rusage_cpu()
    server = service.cpu_seconds() - server_before if service else None
    return Run(load, server, own_after - own_before)


def _git_revision() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def write_results(document: dict[str, Any], output: Path | None, prefix: str) -> Path:
    """Write a run's JSON document to ``output``, or to ``RESULTS_DIR``/<prefix>-<time>.json;
    the path written."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = output or RESULTS_DIR / f"{prefix}-{stamp}.json"
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return path


def _geosite_command() -> str:
    beside = Path(sys.executable).parent / "geosite"
    found = str(beside) if beside.exists() else shutil.which("geosite")
    if not found:
        raise SystemExit("geosite is not installed: run `make bench` (it installs the package)")
    return found


def serve_command(
    data_dir: Path,
    port: int,
    https_port: int,
    workers: int,
    password: str | None,
    log_level: str | None = None,
) -> list[str]:
    """``geosite serve`` on loopback ports, its data in ``data_dir``, with the benchmarks'
    administrator (``ADMIN_USER`` and ``password``; none without a password)."""
    command = [
        _geosite_command(),
        "serve",
        "--data-dir",
        str(data_dir),
        "--port",
        str(port),
        "--https-port",
        str(https_port),
        "--workers",
        str(workers),
    ]
    if password is not None:
        command += ["--admin-user", ADMIN_USER, "--admin-password", password]
    if log_level is not None:
        command += ["--log-level", log_level]
    return command


def _pick_generator(choice: str) -> LoadGenerator:
    wrk = WrkLoad.find() if choice in ("auto", "wrk") else None
    if wrk is not None:
        return wrk
    if choice == "wrk":
        raise SystemExit("wrk was asked for but is not on PATH (Debian: apt-get install wrk)")
    return PythonLoad()


def exit_on_sigterm(signum: int, frame: object) -> None:
    """The benchmarks' SIGTERM handler: unwinds the ``running`` blocks, which stop the
    servers."""
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def running(
    service: Service, ready_url: str, ready: Callable[[httpx.Response], bool]
) -> Iterator[Service]:
    """Start ``service`` and always stop it."""
    service.start(ready_url, ready)
    try:
        yield service
    finally:
        service.stop()
