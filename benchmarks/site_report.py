"""The site benchmark's targets and its tables (``site_machines.py``)."""

from __future__ import annotations

import argparse
import statistics
from dataclasses import dataclass, field

from feature_config import console
from harness import Run, Service
from site_changes import ChangeResult


@dataclass
class Machine:
    """One ``geosite serve`` of the site."""

    name: str
    port: int
    service: Service
    https_port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Target:
    """Where the load goes: a machine directly or an nginx, and what serves behind it."""

    label: str
    base: str
    machines: list[Machine]
    nginx: Service | None
    runs: list[Run] = field(default_factory=list)
    others_share: list[float] = field(default_factory=list)
    #: Per run: each machine's share of the machines' CPU time (name: share).
    machine_cpu_share: list[dict[str, float]] = field(default_factory=list)
    workers_each: int = 1

    @property
    def workers(self) -> int:
        return len(self.machines) * self.workers_each

    @property
    def median(self) -> Run:
        return sorted(self.runs, key=lambda r: r.load.rps)[len(self.runs) // 2]


def split_text(target: Target, shares: dict[str, float]) -> str:
    """The shares of the target's machines, and of all the others together when they used
    more than 2 % (they should idle)."""
    own = [shares.get(m.name, 0.0) for m in target.machines]
    rest = 1.0 - sum(own)
    return "/".join(f"{s:.0%}" for s in own) + (f" (others {rest:.0%})" if rest > 0.02 else "")


def per_round(target: Target, reference: Target | None) -> list[float]:
    """The target's rate over the reference's, round by round (both measured once a round)."""
    if reference is None:
        return []
    return [
        a.load.rps / b.load.rps
        for a, b in zip(target.runs, reference.runs, strict=True)
        if b.load.rps > 0
    ]


def print_rows(targets: list[Target], ratios: list[dict[str, float]], args: argparse.Namespace):
    from rich.table import Table

    table = Table(title=f"W1 through nginx, c={args.concurrency}, median of {args.repeat} runs")
    for column in (
        "Target",
        "geosite workers",
        "req/s (runs)",
        "p50",
        "p99",
        "errors",
        "÷ 1 machine direct (per round)",
        "÷ control (per round)",
        "CPU µs/req (site, nginx, PostgreSQL)",
        "machines' CPU split",
        "others' CPU",
    ):
        table.add_column(column)
    control = next((t for t in targets if t.label.endswith("(control)")), None)
    for target in targets:
        median = target.median
        to_direct = [r[target.label] for r in ratios if target.label in r]
        to_control = per_round(target, control)
        split = split_text(target, target.machine_cpu_share[target.runs.index(median)])
        table.add_row(
            target.label,
            str(target.workers),
            f"{median.load.rps:,.1f} ("
            + " / ".join(f"{r.load.rps:,.0f}" for r in target.runs)
            + ")",
            f"{median.load.p50_ms:.2f} ms",
            f"{median.load.p99_ms:.1f} ms",
            str(sum(r.load.errors for r in target.runs)),
            f"{statistics.median(to_direct):.2f}x ("
            + " / ".join(f"{r:.2f}" for r in to_direct)
            + ")",
            f"{statistics.median(to_control):.2f}x ("
            + " / ".join(f"{r:.2f}" for r in to_control)
            + ")"
            if to_control
            else "-",
            f"{median.server_cpu_us_per_request:,.0f}",
            split,
            f"{statistics.median(target.others_share):.0%}",
        )
    console.print(table)


def print_changes(results: list[ChangeResult]) -> None:
    from rich.table import Table

    table = Table(title="A change through machine 1, until the other machines serve it")
    columns = ("Change", "n", "ack p50", "p50", "p99", "max", "read p50", "missed", "p99 ≤ 1 s")
    for column in columns:
        table.add_column(column)
    for result in results:
        data = result.as_dict()
        delay, ack, read = data["delay_ms"], data["ack_ms"], data["round_trip_ms"]
        for label, row in [("all", delay), *data["delay_ms_per_machine"].items()]:
            table.add_row(
                f"{result.kind}, {label}",
                str(row.get("n", 0)),
                f"{ack.get('p50', 0):.1f} ms",
                f"{row.get('p50', float('nan')):.1f} ms",
                f"{row.get('p99', float('nan')):.1f} ms",
                f"{row.get('max', float('nan')):.1f} ms",
                f"{read.get('p50', float('nan')):.1f} ms",
                str(result.missed(None if label == "all" else label)),
                "met" if row.get("p99", 1e9) <= 1000 and not result.missed() else "MISSED",
            )
    console.print(table)
