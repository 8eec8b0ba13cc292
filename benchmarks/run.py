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
import os
import platform
import secrets
import sqlite3
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from harness import (
    ADMIN_USER,
    BENCH_DIR,
    RESULTS_DIR,
    Service,
    _git_revision,
    _pick_generator,
    console,
    free_port,
    running,
    serve_command,
    write_results,
)
from loadgen import LoadGenerator, LoadSpec
from profiling import ProfileReport, profile_processes
from rich.table import Table
from w3_measure import (
    LOGIN_TARGET,
    READ_TARGET,
    TOKEN_CHECK_TARGET_US,
    Row,
    argon2_peer,
    measure,
    token_check_micro,
)

# -- the run ----------------------------------------------------------------------------------


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for name in ("geosite", "starlette", "uvicorn", "httptools", "uvloop", "anyio", "argon2-cffi"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


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
    command = serve_command(data_dir, port, https_port, args.workers, password)
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
    output = write_results(document, args.output, "w3")
    console.print(f"Results written to {output}")
    failed = [row.key for row in ordered if row.errors]
    if failed:
        console.print(f"[red]Errors in {', '.join(failed)}: these figures are not valid.[/]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
