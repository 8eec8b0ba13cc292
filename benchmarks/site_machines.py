"""W1 through nginx on a site of 1, 2 and 3 machines, and how fast a change reaches them all.

Issue 19's benchmarks. The runner starts a durable PostgreSQL + PostGIS cluster
(``pg_cluster.py``) and grows a site on it: machine 1 (``geosite serve --config-store
postgresql://.../site --data-store postgresql://.../bench``) creates the site and publishes
the W1 points (the data set of ``features.py``) into PostGIS through ``uploads/upload`` and
``createService``; machines 2 and 3, with their own data directories, ports and
``GEOSITE_MACHINE_NAME``, join it (``geosite serve --join https://.../arcgis/admin --user``,
taking the stores from the site). After each machine joins, ``geosite
webadaptor nginx`` prints the configuration for the site's machines at that moment, and an
nginx (unprivileged, as ``tests/e2e/test_webadaptor_nginx.py`` runs it) serves it: three
nginx, in front of 1, 2 and 3 machines. Every target is checked against the data.

Then W1 (bbox queries of ~1,000 features, ``outFields=*``, the 50 boxes of ``features.py``)
is measured with wrk on four targets, in turns (the order reversed every round): machine 1
directly, nginx in front of 1, of 2, of 3 machines; every process runs all along, so the
rows differ only in the path the requests take. Then, on the 3-machine site, 100 changes
through machine 1 and the time until machines 2 and 3 serve each (``site_changes.py``).

On a 2-core machine the figures show what the balancer and the shared store cost, not how
the site scales: more machines on the same two cores share the same CPU.

Usage: .venv/bin/python benchmarks/site_machines.py [--points N] [--quick] [--changes 100]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from data_points import Dataset, make_dataset
from feature_config import SERVICE_NAME, console
from feature_servers import GeositeServer, Workload, _machine_busy_s
from geosite_server import _token, healthy, publish
from harness import (
    ADMIN_USER,
    RESULTS_DIR,
    Service,
    ServiceGroup,
    _geosite_command,
    _git_revision,
    _pick_generator,
    exit_on_sigterm,
    find_nginx,
    free_port,
    nginx_service,
    serve_command,
    timed_run,
    write_results,
)
from loadgen import LoadGenerator
from pg_cluster import Cluster, postgis_cluster
from site_changes import ChangeRunner
from site_report import Machine, Target, per_round, print_changes, print_rows, split_text

CPUS = os.cpu_count() or 1


class Everything(ServiceGroup):
    """The CPU time of the whole site: its machines, the nginx in front and PostgreSQL."""

    def __init__(self, parts: list[Service], cluster: Cluster) -> None:
        super().__init__("site", parts)
        self.cluster = cluster

    def cpu_seconds(self) -> float:
        return super().cpu_seconds() + self.cluster.cpu_seconds()


def start_machine(
    index: int,
    args: argparse.Namespace,
    tmp: Path,
    stores: tuple[str, str] | Machine,
    password: str,
    data: Dataset,
    workers: int,
) -> Machine:
    """``geosite serve`` as machine ``index``: with ``stores`` (config, data), the machine
    that creates the site on them; with a machine, one that joins that machine's site
    (``--join`` its HTTPS admin URL, as the administrator: it takes the stores from there)."""
    name = f"MACHINE{index}"
    port, https_port = free_port(), free_port()
    joining = isinstance(stores, Machine)  # its administrator comes from the site
    command = serve_command(
        tmp / f"machine{index}-data",
        port,
        https_port,
        workers,
        None if joining else password,
        args.log_level,
    )
    command += ["--trusted-proxies", "127.0.0.1"]
    env = {
        **os.environ,
        "GEOSITE_MACHINE_NAME": name,
        "GEOSITE_MAX_UPLOAD_BYTES": str(max(1 << 30, data.geojson.stat().st_size * 2)),
    }
    if isinstance(stores, Machine):
        join = f"https://127.0.0.1:{stores.https_port}/arcgis/admin"
        command += ["--join", join, "--user", ADMIN_USER]
        env["GEOSITE_JOIN_PASSWORD"] = password
        env.pop("GEOSITE_DATA_STORE", None)
        env.pop("GEOSITE_CONFIG_STORE", None)
    else:
        command += ["--config-store", stores[0], "--data-store", stores[1]]
    service = Service(name, command, tmp / f"machine{index}.log", env)
    machine = Machine(name, port, service, https_port)
    service.start(f"{machine.base}/arcgis/rest/info/healthCheck?f=json", healthy)
    deadline = time.monotonic() + 120
    while httpx.get(f"{machine.base}/arcgis/admin/joinInfo?f=json").json().get("site") is not True:
        if time.monotonic() > deadline:
            service.stop()
            raise RuntimeError(f"{name} did not join the site")
        time.sleep(0.2)
    return machine


def reachable_by_nginx(machine: Machine, token: str) -> None:
    """Give the machine an ``adminURL`` nginx can reach (a new machine's has its name as the
    host, which does not resolve here)."""
    answer = httpx.post(
        f"{machine.base}/arcgis/admin/machines/{machine.name}/edit",
        data={
            "f": "json",
            "adminURL": f"{machine.base}/arcgis/admin",
            "HTTPPort": str(machine.port),
        },
        headers={"X-Esri-Authorization": f"Bearer {token}"},
        timeout=30,
    )
    if answer.json().get("status") != "success":
        raise RuntimeError(f"machines/{machine.name}/edit: {answer.text[:300]}")


def start_nginx(
    nginx: str, tmp: Path, first: Machine, password: str, count: int, workers: int
) -> tuple[Service, str, str]:
    """An nginx serving ``geosite webadaptor nginx``'s configuration for the site now;
    (the service, its base URL, the configuration)."""
    root = tmp / f"nginx-{count}"
    root.mkdir()
    listen = free_port()
    env = {
        **os.environ,
        "GEOSITE_USER": ADMIN_USER,
        "GEOSITE_PASSWORD": password,
        "GEOSITE_URL": first.base + "/arcgis",
        "GEOSITE_CONFIG_DIR": str(tmp / "cli-config"),
    }
    printed = subprocess.run(
        [_geosite_command(), "webadaptor", "nginx", "--listen", f"127.0.0.1:{listen}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if printed.returncode != 0:
        raise RuntimeError(f"geosite webadaptor nginx: {printed.stderr[-1000:]}")
    config = printed.stdout
    servers = config.count("    server 127.0.0.1:")
    if servers != count:
        raise RuntimeError(f"expected {count} upstream servers, the configuration has {servers}")
    (root / "geosite.conf").write_text(config)
    name = f"nginx ({count} machines)"
    service = nginx_service(nginx, root, name, f"  include {root}/geosite.conf;", workers)
    base = f"http://127.0.0.1:{listen}"
    service.start(f"{base}/arcgis/rest/info/healthCheck?f=json", healthy)
    return service, base, config


def check_target(target: Target, data: Dataset, boxes: int) -> list[str]:
    server = GeositeServer(target.base)
    return [f"{target.label}: {p}" for p in server.check(data, boxes)]


def measure_rows(
    targets: list[Target],
    args: argparse.Namespace,
    generator: LoadGenerator,
    data: Dataset,
    everything: Everything,
    machines: list[Machine],
) -> list[dict[str, float]]:
    """W1 on every target: one warm-up each, then rounds in turns; the ratios per round."""
    workload = Workload(
        "w1_bbox", f"W1 bbox query, ~{args.hits:,} features", "bbox", args.concurrency
    )
    specs = [GeositeServer(t.base).spec(workload, data) for t in targets]
    if args.warmup > 0:
        for target, spec in zip(targets, specs, strict=True):
            console.print(f"  warm-up {target.label}: {args.warmup:g} s")
            timed_run(generator, spec, args.concurrency, args.warmup, everything)
    ratios: list[dict[str, float]] = []
    for turn in range(args.repeat):
        order = list(range(len(targets)))
        if turn % 2:
            order.reverse()
        rates: dict[str, float] = {}
        for index in order:
            target, spec = targets[index], specs[index]
            time.sleep(1.0)
            busy_before = _machine_busy_s()
            each_before = [m.service.cpu_seconds() for m in machines]
            run = timed_run(generator, spec, args.concurrency, args.duration, everything)
            busy = _machine_busy_s() - busy_before
            each = [m.service.cpu_seconds() - b for m, b in zip(machines, each_before, strict=True)]
            target.runs.append(run)
            others = max(0.0, busy - (run.server_cpu_s or 0.0) - run.loadgen_cpu_s)
            target.others_share.append(others / (run.load.seconds * CPUS))
            total = sum(each) or 1.0
            target.machine_cpu_share.append(
                {m.name: round(e / total, 3) for m, e in zip(machines, each, strict=True)}
            )
            rates[target.label] = run.load.rps
            console.print(
                f"  round {turn + 1}/{args.repeat}, {target.label}: {run.load.rps:,.1f} req/s, "
                f"p50 {run.load.p50_ms:.2f} ms, p99 {run.load.p99_ms:.2f} ms, errors "
                f"{run.load.errors}; machines' CPU split "
                + split_text(target, target.machine_cpu_share[-1])
                + f"; other processes {target.others_share[-1]:.0%} of the machine"
            )
        first = rates[targets[0].label]
        ratios.append({k: v / first for k, v in rates.items()} if first else {})
    return ratios


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=None, help="points (1,000,000)")
    parser.add_argument("--boxes", type=int, default=50)
    parser.add_argument("--hits", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per run")
    parser.add_argument("--warmup", type=float, default=5.0, help="warm-up seconds per target")
    parser.add_argument("--repeat", type=int, default=3, help="rounds over the four targets")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1, help="worker processes per machine")
    parser.add_argument("--nginx-workers", type=int, default=1, help="nginx worker_processes")
    parser.add_argument(
        "--control-workers",
        type=int,
        default=3,
        help="a fourth machine with this many workers, measured directly (0: none)",
    )
    parser.add_argument(
        "--changes", type=int, default=None, help="configuration changes of each kind (100)"
    )
    parser.add_argument("--no-w1", action="store_true", help="only the configuration changes")
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument(
        "--quick", action="store_true", help="100,000 points, 1 x 5 s, 20 changes of each kind"
    )
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--output", type=Path, help="JSON file (default: benchmarks/results/)")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.repeat = 5.0, 1.0, 1
        args.points = 100_000 if args.points is None else args.points
        args.changes = 20 if args.changes is None else args.changes
    args.changes = 100 if args.changes is None else args.changes
    args.points = 1_000_000 if args.points is None else args.points
    if not 1_000 <= args.points <= 20_000_000 or args.hits * 20 > args.points:
        parser.error("points must be 1,000-20,000,000, and a box at most 5 % of them")
    if not (1 <= args.duration <= 600 and 0 <= args.warmup <= 600 and 1 <= args.repeat <= 10):
        parser.error("duration 1-600 s, warm-up 0-600 s, repeat 1-10")
    if not (1 <= args.workers <= 8 and 1 <= args.nginx_workers <= 8):
        parser.error("workers and nginx workers: 1-8")
    if not 0 <= args.control_workers <= 8:
        parser.error("control workers: 0-8")
    if not 2 <= args.changes <= 10_000:
        parser.error("changes: 2-10,000")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    nginx = find_nginx()
    if nginx is None:
        raise SystemExit("nginx is not installed (Debian: apt-get install nginx)")
    generator = _pick_generator(args.loadgen)
    load = os.getloadavg()
    meta: dict[str, Any] = {
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "revision": _git_revision(),
        "machine": {"cpus": CPUS, "platform": platform.platform(), "loadavg_at_start": load},
        "loadgen": generator.description,
        "settings": {
            k: getattr(args, k)
            for k in (
                "points",
                "boxes",
                "hits",
                "duration",
                "warmup",
                "repeat",
                "concurrency",
                "workers",
                "nginx_workers",
                "control_workers",
                "changes",
                "log_level",
            )
        },
    }
    console.print(
        f"Load generator: [bold]{generator.description}[/]; {CPUS} CPUs; load average at start "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n"
        f"Machines 1-3: {args.workers} geosite worker(s) each; nginx worker_processes "
        f"{args.nginx_workers}; a row has at most {3 * args.workers} geosite workers + "
        f"{args.nginx_workers} nginx + PostgreSQL + wrk on {CPUS} CPUs"
        + (
            f" (the control, machine 4, has {args.control_workers} workers; it idles "
            "during the other rows, as the machines not in a row do)"
            if args.control_workers
            else ""
        )
        + f".\n[yellow]With {CPUS} CPUs this shows what the balancer and the shared store "
        "cost, not how a site scales: every machine runs on the same cores, and one worker "
        "(one process, one GIL) uses at most about one of them.[/]"
    )
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    password = os.urandom(12).hex()
    problems: list[str] = []
    with (
        tempfile.TemporaryDirectory(prefix="geosite-bench-site-") as name,
        postgis_cluster() as cluster,
        contextlib.ExitStack() as stack,
    ):
        tmp = Path(name)
        data = make_dataset(args, tmp)
        cluster.server.create_database("site", postgis=False)
        stores = (cluster.server.url("site"), cluster.url)
        meta["postgresql"] = {**cluster.versions(), "settings": cluster.configuration()}
        machines: list[Machine] = []
        nginxes: list[tuple[Service, str]] = []
        for index in (1, 2, 3):
            began = time.perf_counter()
            site = stores if index == 1 else machines[0]
            machine = start_machine(index, args, tmp, site, password, data, args.workers)
            stack.callback(machine.service.stop)
            machines.append(machine)
            console.print(f"  {machine.name} serving after {time.perf_counter() - began:.1f} s")
            token = _token(machines[0].base, password)
            if index == 1:
                console.print(f"  publishing {data.points:,} points into PostGIS through it ...")
                meta["publish"] = publish(machine.base, token, data)
                cluster.vacuum()
                console.print(f"  published: {meta['publish']}")
            reachable_by_nginx(machine, token)
            service, base, config = start_nginx(
                nginx, tmp, machines[0], password, index, args.nginx_workers
            )
            stack.callback(service.stop)
            nginxes.append((service, base))
            meta.setdefault("nginx_configurations", []).append(config)
        first = machines[0]
        each = args.workers
        targets = [Target("1 machine, direct", first.base, [first], None, workers_each=each)]
        for count, (service, base) in enumerate(nginxes, 1):
            label = f"{count} machine{'s' if count > 1 else ''} through nginx"
            targets.append(Target(label, base, machines[:count], service, workers_each=each))
        if args.control_workers:
            # The same number of worker processes as the 3 machines, in one machine: what
            # the balancer and the separate machines cost at the same process count. It
            # joins after the last nginx was configured, so no nginx sends it requests.
            control = start_machine(4, args, tmp, first, password, data, args.control_workers)
            stack.callback(control.service.stop)
            reachable_by_nginx(control, _token(first.base, password))
            machines.append(control)
            label = f"1 machine of {args.control_workers} workers, direct (control)"
            targets.append(
                Target(label, control.base, [control], None, workers_each=args.control_workers)
            )
        for target in targets:
            problems += check_target(target, data, len(data.boxes) if target is targets[0] else 5)
        for machine in machines[1:]:
            problems += check_target(Target(machine.name, machine.base, [], None), data, 5)
        for problem in problems:
            console.print(f"[red]wrong answer[/]: {problem}")
        parts = [m.service for m in machines] + [s for s, _ in nginxes]
        everything = Everything(parts, cluster)
        ratios: list[dict[str, float]] = []
        if not args.no_w1:
            console.print(f"[bold]W1 on {len(targets)} targets, in turns[/]")
            ratios = measure_rows(targets, args, generator, data, everything, machines)
        console.print(f"[bold]{args.changes} configuration changes through {first.name}[/]")
        token = _token(first.base, password)
        runner = ChangeRunner(first.base, {m.name: m.base for m in machines[1:]}, token)
        changes = [
            runner.service_changes(args.changes, f"{SERVICE_NAME}.FeatureServer"),
            runner.properties_changes(args.changes),
        ]
        for log in tmp.glob("machine*.log"):
            meta.setdefault("log_tails", {})[log.name] = log.read_text(errors="replace")[-3000:]
    meta["loadavg_at_end"] = list(os.getloadavg())
    if not args.no_w1:
        print_rows(targets, ratios, args)
    print_changes(changes)
    document = {
        "workload": "W1 through nginx on 1-3 machines; configuration-change latency",
        "meta": meta,
        "wrong_answers": problems,
        "w1": {
            t.label: {
                "geosite_workers": t.workers,
                "rate_median": round(t.median.load.rps, 1) if t.runs else None,
                "runs": [r.as_dict() for r in t.runs],
                "machine_cpu_share": t.machine_cpu_share,
                "ratio_to_control_per_round": [
                    round(r, 3) for r in per_round(t, targets[-1]) if args.control_workers
                ],
                "other_processes_cpu_share": [round(x, 3) for x in t.others_share],
            }
            for t in targets
        },
        "w1_ratio_per_round": ratios,
        "changes": [c.as_dict() for c in changes],
    }
    output = write_results(document, args.output, "site-machines")
    console.print(f"Results written to {output}")
    errors = sum(r.load.errors for t in targets for r in t.runs)
    if problems or errors or any(c.missed() for c in changes):
        console.print("[red]wrong answers, errors or missed changes: the figures are not valid[/]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
