"""Workload W3 of the performance spec (section 5): logins and authenticated admin reads.

Starts a real ``geosite serve`` (2 workers) on loopback ports with a fresh data directory,
measures generateToken logins and authenticated ``GET /arcgis/admin?f=json`` with wrk (or a
bounded Python load generator when wrk is missing), measures two peers in the same run (a
trivial Starlette app on uvicorn, and argon2id verification in-process), prints a table
against the targets and writes the figures to ``benchmarks/results/``.

Usage: .venv/bin/python benchmarks/run.py [--quick] [--duration S] [--warmup S] [--repeat N]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import resource
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from loadgen import LoadGenerator, LoadResult, LoadSpec, PythonLoad, WrkLoad
from profiling import ProfileReport, profile_processes
from rich.console import Console
from rich.table import Table

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
ADMIN_USER = "bench"
LOGIN_TARGET = 80.0
READ_TARGET = 3000.0
TOKEN_CHECK_TARGET_US = 50.0
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


@dataclass
class Row:
    """One line of the report: a workload (or a peer) and its repeated runs."""

    key: str
    title: str
    unit: str = "req/s"
    target: float | None = None
    peer: str | None = None
    runs: list[Run] = field(default_factory=list)
    warmup: Run | None = None
    note: str = ""

    @property
    def median(self) -> Run:
        """The run with the median rate (its latencies are reported with it)."""
        ordered = sorted(self.runs, key=lambda r: r.load.rps)
        return ordered[len(ordered) // 2]

    @property
    def errors(self) -> int:
        """Errors over every measured run."""
        return sum(r.load.errors for r in self.runs)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready row."""
        median = self.median
        return {
            "title": self.title,
            "unit": self.unit,
            "target": self.target,
            "peer": self.peer,
            "note": self.note,
            "median": median.as_dict(),
            "rate_median": round(median.load.rps, 1),
            "rate_all": [round(r.load.rps, 1) for r in self.runs],
            "errors_total": self.errors,
            "runs": [r.as_dict() for r in self.runs],
            "warmup": self.warmup.as_dict() if self.warmup else None,
        }


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


def measure(
    row: Row,
    generator: LoadGenerator,
    spec: LoadSpec,
    args: argparse.Namespace,
    service: Service | None,
) -> Row:
    """Warm up, then measure ``args.repeat`` times."""
    console.print(f"  {row.title}: warm-up {args.warmup:g} s, {args.repeat} x {args.duration:g} s")
    if args.warmup > 0:
        row.warmup = timed_run(generator, spec, args.concurrency, args.warmup, service)
    for _ in range(args.repeat):
        run = timed_run(generator, spec, args.concurrency, args.duration, service)
        row.runs.append(run)
        console.print(
            f"    {run.load.rps:,.0f} {row.unit}, p50 {run.load.p50_ms:.2f} ms, "
            f"p99 {run.load.p99_ms:.2f} ms, errors {run.load.errors}"
        )
    return row


def _argon2_pass(verify: Callable[[], bool], seconds: float, threads: int) -> Run:
    """Call ``verify`` on ``threads`` threads for ``seconds`` (argon2-cffi releases the GIL)."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    failures = [0] * threads
    deadline = time.perf_counter() + seconds

    def work(index: int) -> None:
        mine = latencies[index]
        while time.perf_counter() < deadline and len(mine) < 100_000:
            began = time.perf_counter()
            if not verify():
                failures[index] += 1
            mine.append(time.perf_counter() - began)

    own_before = _rusage_cpu()
    started = time.perf_counter()
    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=seconds + 30)
    elapsed = time.perf_counter() - started
    merged = sorted(x for part in latencies for x in part)
    if not merged:
        raise RuntimeError("argon2id verification made no progress")
    load = LoadResult(
        requests=len(merged),
        seconds=elapsed,
        p50_ms=merged[len(merged) // 2] * 1000,
        p99_ms=merged[min(len(merged) - 1, int(0.99 * len(merged)))] * 1000,
        mean_ms=sum(merged) / len(merged) * 1000,
        max_ms=merged[-1] * 1000,
        errors=sum(failures),
        bad_status=0,
        bad_body=sum(failures),
        socket_errors=0,
        bodies_checked=len(merged),
    )
    return Run(load, _rusage_cpu() - own_before, 0.0)


def argon2_peer(seconds: float, repeat: int, threads: int = 2) -> Row:
    """argon2id verifications per second on ``threads`` threads, with geosite's parameters."""
    from argon2 import PasswordHasher, extract_parameters

    from geosite.core import passwords

    password = secrets.token_urlsafe(18)
    params = extract_parameters(passwords.hash_password(password))
    hasher = PasswordHasher(
        time_cost=params.time_cost,
        memory_cost=params.memory_cost,
        parallelism=params.parallelism,
        hash_len=params.hash_len,
        salt_len=params.salt_len,
    )
    encoded = hasher.hash(password)
    row = Row(
        "argon2_verify",
        f"peer: argon2id verify, {threads} threads",
        unit="verify/s",
        note=(
            f"argon2-cffi, m={params.memory_cost} KiB, t={params.time_cost}, "
            f"p={params.parallelism} (read from a hash made by geosite.core.passwords)"
        ),
    )
    console.print(f"  {row.title}: {repeat} x {seconds:g} s")
    row.warmup = _argon2_pass(lambda: hasher.verify(encoded, password), seconds, threads)
    for _ in range(repeat):
        run = _argon2_pass(lambda: hasher.verify(encoded, password), seconds, threads)
        row.runs.append(run)
        console.print(f"    {run.load.rps:,.1f} verify/s, p50 {run.load.p50_ms:.1f} ms per verify")
    return row


def token_check_micro(data_dir: Path, token: str, seconds: float) -> dict[str, Any]:
    """In-process cost of checking one token: signature only, user row, and the full check."""
    from geosite.core import tokens
    from geosite.core.clock import SystemClock
    from geosite.core.security import Authenticator
    from geosite.core.site import read_pointer
    from geosite.storage import load_stores

    pointer = read_pointer(data_dir)
    if pointer is None:
        raise RuntimeError(f"no site in {data_dir}")
    clock = SystemClock()
    store, logs = load_stores(pointer.config_store)
    try:
        auth = Authenticator(store, clock)
        cache: dict[int, str | None] = {}

        def secret_for(version: int) -> str | None:
            if version not in cache:
                cache[version] = store.token_key(version)
            return cache[version]

        def time_calls(call: Callable[[], object]) -> float:
            call()
            count, started = 0, time.perf_counter()
            deadline = started + seconds
            while count < 500_000 and time.perf_counter() < deadline:
                for _ in range(100):
                    call()
                count += 100
            return (time.perf_counter() - started) / count * 1e6

        results = {
            "signature_and_claims_us": time_calls(
                lambda: tokens.verify(token, secret_for, clock.now_ms(), "127.0.0.1", "")
            ),
            "sqlite_get_user_us": time_calls(lambda: store.get_user(ADMIN_USER)),
            "authenticator_verify_us": time_calls(lambda: auth.verify(token, "127.0.0.1", "")),
        }
    finally:
        store.close()
        logs.close()
    return {k: round(v, 2) for k, v in results.items()}


# -- the run ----------------------------------------------------------------------------------


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for name in ("geosite", "starlette", "uvicorn", "httptools", "uvloop", "anyio", "argon2-cffi"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


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


def _geosite_command() -> str:
    beside = Path(sys.executable).parent / "geosite"
    found = str(beside) if beside.exists() else shutil.which("geosite")
    if not found:
        raise SystemExit("geosite is not installed: run `make bench` (it installs the package)")
    return found


def _pick_generator(choice: str) -> LoadGenerator:
    wrk = WrkLoad.find() if choice in ("auto", "wrk") else None
    if wrk is not None:
        return wrk
    if choice == "wrk":
        raise SystemExit("wrk was asked for but is not on PATH (Debian: apt-get install wrk)")
    return PythonLoad()


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


def run_peer_framework(
    args: argparse.Namespace, generator: LoadGenerator, tmp: Path, header: dict[str, str]
) -> tuple[Row, ProfileReport | None]:
    """The Starlette + uvicorn floor (2 workers, httptools, uvloop)."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "peer_app:app",
        "--app-dir",
        str(BENCH_DIR),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(args.workers),
        "--http",
        "httptools",
        "--loop",
        "uvloop",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    url = f"http://127.0.0.1:{port}/"
    service = Service("Starlette peer", command, tmp / "peer.log", dict(os.environ))
    row = Row(
        "framework_floor",
        f"peer: Starlette+uvicorn, {args.workers} workers",
        note="benchmarks/peer_app.py; the same Bearer header is sent",
    )
    profile: ProfileReport | None = None
    with running(service, url, lambda r: r.status_code == 200):
        spec = LoadSpec(url=url, headers=header, expect='"resources":')
        measure(row, generator, spec, args, service)
        if args.profile:
            profile = _profile(args, generator, service, spec, "the Starlette peer", False)
    return row, profile


def _profile(
    args: argparse.Namespace,
    generator: LoadGenerator,
    service: Service,
    spec: LoadSpec,
    label: str,
    bucketed: bool,
) -> ProfileReport | None:
    console.print(f"  profiling {label} for {args.profile_seconds:g} s (py-spy --gil)")
    return profile_processes(
        label,
        service.workers(),
        lambda seconds: generator.run(spec, args.concurrency, seconds),
        args.profile_seconds,
        RESULTS_DIR,
        cpu_seconds=service.cpu_seconds,
        bucketed=bucketed,
    )


def run_geosite(
    args: argparse.Namespace, generator: LoadGenerator, tmp: Path
) -> tuple[list[Row], dict[str, Any], ProfileReport | None]:
    """Logins and authenticated reads against a real ``geosite serve``."""
    password = secrets.token_urlsafe(18)
    data_dir = tmp / "geosite-data"
    port, https_port = free_port(), free_port()
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
        str(args.workers),
        "--admin-user",
        ADMIN_USER,
        "--admin-password",
        password,
    ]
    env = {**os.environ, "GEOSITE_MACHINE_NAME": "BENCHMACHINE"}
    base = f"http://127.0.0.1:{port}"
    service = Service("geosite", command, tmp / "geosite.log", env)
    health = f"{base}/arcgis/rest/info/healthCheck?f=json"
    rows: list[Row] = []
    profile: ProfileReport | None = None
    with running(service, health, lambda r: r.status_code == 200 and r.json().get("success")):
        login_body = urlencode(
            {"username": ADMIN_USER, "password": password, "client": "requestip", "f": "json"}
        )
        answer = httpx.post(
            f"{base}/arcgis/admin/generateToken",
            content=login_body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=10,
        )
        token = answer.json().get("token")
        if not token:
            raise RuntimeError(f"generateToken failed: {answer.text[:300]}")
        bearer = {"X-Esri-Authorization": f"Bearer {token}"}
        workloads = [
            (
                Row(
                    "login",
                    "POST admin/generateToken (login)",
                    unit="logins/s",
                    target=LOGIN_TARGET,
                    peer="argon2_verify",
                ),
                LoadSpec(
                    url=f"{base}/arcgis/admin/generateToken",
                    method="POST",
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                    body=login_body,
                    expect='"token":"',
                ),
            ),
            (
                Row(
                    "admin_header",
                    "GET admin?f=json, token in header",
                    target=READ_TARGET,
                    peer="framework_floor",
                ),
                LoadSpec(url=f"{base}/arcgis/admin?f=json", headers=bearer, expect='"resources":'),
            ),
            (
                Row(
                    "admin_query",
                    "GET admin?f=json&token=...",
                    target=READ_TARGET,
                    peer="framework_floor",
                ),
                LoadSpec(url=f"{base}/arcgis/admin?f=json&token={token}", expect='"resources":'),
            ),
            (
                Row(
                    "admin_services",
                    "GET admin/services, token in header",
                    target=READ_TARGET,
                    peer="framework_floor",
                    note="the URL named in the spec's W3",
                ),
                LoadSpec(
                    url=f"{base}/arcgis/admin/services?f=json", headers=bearer, expect='"services":'
                ),
            ),
            (
                Row(
                    "health_no_token",
                    "GET rest/info/healthCheck, no token",
                    peer="framework_floor",
                    note="context: geosite's pipeline without token verification",
                ),
                LoadSpec(url=health, expect='"success":true'),
            ),
        ]
        for row, spec in workloads:
            rows.append(measure(row, generator, spec, args, service))
        if args.profile:
            label = "geosite, GET /arcgis/admin?f=json with the token in a header"
            profile = _profile(args, generator, service, workloads[1][1], label, True)
    micro = token_check_micro(data_dir, token, min(2.0, args.duration))
    return rows, micro, profile


def _fmt_rate(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def print_report(
    rows: list[Row],
    micro: dict[str, Any],
    generator: LoadGenerator,
    args: argparse.Namespace,
    meta: dict[str, Any],
) -> None:
    """The comparison table, the micro-measurements and the notes."""
    by_key = {row.key: row for row in rows}
    table = Table(title="W3: logins and authenticated admin reads (median of the measured runs)")
    for name, justify in (
        ("workload", "left"),
        ("rate", "right"),
        ("p50 ms", "right"),
        ("p99 ms", "right"),
        ("errors", "right"),
        ("target", "right"),
        ("vs target", "left"),
        ("vs peer", "right"),
        ("server CPU µs/req", "right"),
        ("loadgen CPU", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        median = row.median
        rate = median.load.rps
        target = f"≥ {_fmt_rate(row.target)}" if row.target else "-"
        if row.target is None:
            verdict = "context"
        elif rate >= row.target:
            verdict = f"[green]MET[/] ({rate / row.target:.0%})"
        else:
            verdict = f"[red]MISSED[/] ({rate / row.target:.0%})"
        peer = by_key.get(row.peer or "")
        versus = f"{rate / peer.median.load.rps:.0%} of {peer.key}" if peer else "-"
        cpu = median.server_cpu_us_per_request
        table.add_row(
            row.title,
            f"{_fmt_rate(rate)} {row.unit}",
            f"{median.load.p50_ms:.2f}",
            f"{median.load.p99_ms:.2f}",
            str(row.errors) if not row.errors else f"[red]{row.errors}[/]",
            target,
            verdict,
            versus,
            "-" if cpu is None else f"{cpu:,.0f}",
            f"{median.loadgen_share:.0%}" if row.key != "argon2_verify" else "-",
        )
    console.print()
    console.print(table)
    check = micro["authenticator_verify_us"]
    verdict = "MET" if check <= TOKEN_CHECK_TARGET_US else "MISSED"
    console.print(
        "Token check in-process, 1 thread: signature and claims "
        f"{micro['signature_and_claims_us']:.1f} µs; SQLite user row "
        f"{micro['sqlite_get_user_us']:.1f} µs; full Authenticator.verify {check:.1f} µs "
        f"(target ≤ {TOKEN_CHECK_TARGET_US:g} µs: {verdict})"
    )
    console.print(
        f"Load generator: {generator.description}; concurrency {args.concurrency}; "
        f"warm-up {args.warmup:g} s, then {args.repeat} x {args.duration:g} s per workload."
    )
    console.print(
        f"The load generator shares the machine's {os.cpu_count()} CPUs with the server (column "
        "'loadgen CPU': its share of the machine), so the server had less than the whole "
        "machine. Treat the figures as floors."
    )
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    console.print(f"Versions: {versions}; geosite revision {meta['revision']}.")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=5.0, help="warm-up seconds per workload")
    parser.add_argument("--repeat", type=int, default=3, help="measured runs per workload")
    parser.add_argument("--quick", action="store_true", help="1 s warm-up, 1 run of 3 s each")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument(
        "--profile", action="store_true", help="also sample the workers with py-spy"
    )
    parser.add_argument("--profile-seconds", type=float, default=15.0)
    parser.add_argument("--output", type=Path, help="JSON file (default: benchmarks/results/)")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.repeat = 3.0, 1.0, 1
    if not (1 <= args.duration <= 600 and 0 <= args.warmup <= 600 and 1 <= args.repeat <= 10):
        parser.error("duration must be 1-600 s, warm-up 0-600 s, repeat 1-10")
    if not 1 <= args.concurrency <= 256:
        parser.error("concurrency must be 1-256")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run every workload and peer, print the report and write the JSON file."""
    args = parse_args(argv)
    generator = _pick_generator(args.loadgen)
    meta = {
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "versions": _versions(),
        "revision": _git_revision(),
        "loadgen": {"name": generator.name, "description": generator.description},
        "settings": {
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "repeat": args.repeat,
            "concurrency": args.concurrency,
            "workers": args.workers,
        },
        "note": "the load generator runs on the same CPUs as the server; figures are floors",
    }
    console.print(f"Load generator: [bold]{generator.description}[/]")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="geosite-bench-") as name:
        tmp = Path(name)
        rows = [argon2_peer(args.duration, args.repeat)]
        dummy = {"X-Esri-Authorization": "Bearer " + "x" * 180}  # a token-sized header
        peer_row, peer_profile = run_peer_framework(args, generator, tmp, dummy)
        rows.append(peer_row)
        geosite_rows, micro, profile = run_geosite(args, generator, tmp)
    ordered = geosite_rows + rows
    print_report(ordered, micro, generator, args, meta)
    profiles = [p for p in (profile, peer_profile) if p is not None]
    for report in profiles:
        report.print(console)
    document = {
        "workload": "W3",
        "meta": meta,
        "results": {row.key: row.as_dict() for row in ordered},
        "token_check_micro": micro,
        "profiles": [p.as_dict() for p in profiles],
    }
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    output = args.output or RESULTS_DIR / f"w3-{stamp}.json"
    output.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    console.print(f"Results written to {output}")
    failed = [row.key for row in ordered if row.errors]
    if failed:
        console.print(f"[red]Errors in {', '.join(failed)}: these figures are not valid.[/]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
