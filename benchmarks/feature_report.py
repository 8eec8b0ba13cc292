"""The W1/W2 report: the comparison table and the notes under it."""

from __future__ import annotations

import argparse
import os
from typing import Any

from data_points import Dataset
from feature_config import MEMORY_FLAT_MIB, MEMORY_TARGET_MIB, PEER_REQUEST_TIMEOUT_S, console
from feature_servers import Measured, ServerReport
from loadgen import LoadGenerator
from memory import mib
from rich.table import Table

# -- the report -------------------------------------------------------------------------------


def _fmt_rate(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:,.1f}" if value >= 1 else f"{value:.2f}"


def _fmt_ms(value: float) -> str:
    return f"{value:,.0f}" if value >= 1000 else f"{value:.2f}"


def _verdict(m: Measured) -> tuple[str, str, bool | None]:
    w = m.workload
    load = m.median.load
    texts, ok = [], None
    if w.target_rps is not None:
        good = load.rps >= w.target_rps
        ok = good if ok is None else ok and good
        texts.append(f"≥ {_fmt_rate(w.target_rps)}/s")
    if w.target_p50_ms is not None:
        good = 0 < load.p50_ms <= w.target_p50_ms
        ok = good if ok is None else ok and good
        texts.append(f"p50 ≤ {w.target_p50_ms:g} ms")
    if ok is None:
        return "-", "context", None
    verdict = "[green]MET[/]" if ok else "[red]MISSED[/]"
    return ", ".join(texts), verdict, ok


def _ratio(geo: Measured, peers: list[Measured]) -> str:
    """geosite's rate over the best peer's (a lower bound when a peer completed nothing)."""
    if not peers:
        return "-"
    best = max(peers, key=lambda m: m.median.load.rps)
    rate = best.median.load.rps
    if best.completed <= 0 or rate <= 0:
        bound = geo.median.load.rps * best.median.load.seconds
        return f"> {bound:,.0f}x (no peer answer in {best.median.load.seconds:.0f} s)"
    return f"{geo.median.load.rps / rate:,.1f}x {best.server}"


def print_report(
    reports: list[ServerReport],
    generator: LoadGenerator,
    args: argparse.Namespace,
    meta: dict[str, Any],
    data: Dataset,
) -> None:
    geosite = reports[0]
    # geosite on other feature data (PostGIS) is shown under it, with its own verdicts, but
    # is no peer: the ratio column stays geosite (GeoPackage) over the best peer.
    variants = [r for r in reports[1:] if r.name.startswith("geosite")]
    others = [r for r in reports[1:] if r not in variants]
    peers = [r for r in others if r.status == "measured"]
    table = Table(
        title=f"W1/W2 FeatureServer queries, {data.points:,} points "
        f"(geosite: median of {args.repeat} x {args.duration:g} s; peers: 1 x "
        f"{args.peer_duration:g} s)"
    )
    for name, justify in (
        ("workload", "left"),
        ("server", "left"),
        ("req/s", "right"),
        ("p50 ms", "right"),
        ("p99 ms", "right"),
        ("errors", "right"),
        ("target", "left"),
        ("verdict", "left"),
        ("geosite ÷ best peer", "left"),
        ("server CPU µs/req", "right"),
        ("peak RSS MiB", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for index, geo in enumerate(geosite.results):
        rows = [(geosite, geo)] + [
            (p, p.results[index]) for p in [*variants, *peers] if len(p.results) > index
        ]
        for report, m in rows:
            load = m.median.load
            is_geo = report is geosite
            ours = is_geo or report in variants
            target, verdict, _ = _verdict(m) if ours else ("", "", None)
            cpu = m.median.server_cpu_us_per_request
            none = m.completed <= 0
            table.add_row(
                m.workload.title if is_geo else "",
                report.name if is_geo else f"  {report.name}",
                f"none in {load.seconds:.0f} s" if none else _fmt_rate(load.rps),
                "-" if none else _fmt_ms(load.p50_ms),
                "-" if none else _fmt_ms(load.p99_ms),
                str(m.errors) if not m.errors else f"[red]{m.errors}[/]",
                target,
                verdict,
                _ratio(geo, [mm for r, mm in rows[1:] if r not in variants]) if is_geo else "",
                "-" if cpu is None else f"{cpu:,.0f}",
                f"{mib(m.peak_rss):,.0f}",
            )
        for report in others:
            if report.status != "measured" and index == 0:
                table.add_row("", f"  {report.name}", "missing", *[""] * 8)
        table.add_section()
    console.print()
    console.print(table)
    for report in others:
        if report.status != "measured" or report.reason:
            console.print(f"[yellow]{report.name}: {report.status}[/] ({report.reason})")
    for report in [geosite, *variants]:
        memory = report.memory
        before, peak, after = (
            mib(memory.get(k, 0)) for k in ("before_load", "during_load_peak", "after_load")
        )
        flat = after - before <= MEMORY_FLAT_MIB
        under = max(before, peak, after) < MEMORY_TARGET_MIB
        idle, publishing = (mib(memory.get(k, 0)) for k in ("idle_before_publish", "peak_publish"))
        console.print(
            f"{report.name} resident memory (sum of RSS of its process group): idle before "
            f"publishing {idle:,.0f} MiB, peak while publishing {publishing:,.0f} MiB; before "
            f"the load {before:,.0f} MiB, peak during it {peak:,.0f} MiB, 5 s after it "
            f"{after:,.0f} MiB. Targets: < {MEMORY_TARGET_MIB:g} MiB "
            + ("[green]MET[/]" if under else "[red]MISSED[/]")
            + f"; flat (after - before = {after - before:+,.0f} MiB, at most "
            f"{MEMORY_FLAT_MIB:g}) " + ("[green]MET[/]" if flat else "[red]MISSED[/]") + "."
        )
        publish = report.setup.get("publish", {})
        if publish:
            console.print(
                f"Publishing {data.points:,} points (GeoJSON, uploads/upload + createService): "
                f"{publish['total_s']:.1f} s (upload {publish['upload_s']:.1f} s, createService "
                f"{publish['create_service_s']:.1f} s)."
            )
    _print_postgis(geosite, variants)
    for report in reports:
        if report.problems:
            console.print(
                f"[red]{report.name} gave wrong answers:[/] " + "; ".join(report.problems)
            )
    console.print(
        f"Checked before loading: geosite all {len(data.boxes)} boxes (features by id, counts) "
        f"and the total; peers the total and the first {args.peer_check_boxes} boxes."
    )
    console.print(
        f"Load generator: {generator.description}; cycling through {len(data.boxes)} fixed "
        "boxes. geosite: warm-up "
        f"{args.warmup:g} s then {args.repeat} x {args.duration:g} s per row. The peers are much "
        f"slower, so each of their rows is bounded: warm-up {args.peer_warmup:g} s then one run "
        f"of {args.peer_duration:g} s, request timeout {PEER_REQUEST_TIMEOUT_S:g} s; requests "
        "still running when a run ends are not counted, and the next run waits for the peer to "
        "drain."
    )
    shares = [(r.name, x) for r in reports for m in r.results for x in m.others_share]
    if shares:
        name, worst = max(shares, key=lambda item: item[1])
        geo = max((x for n, x in shares if n == "geosite"), default=0.0)
        console.print(
            f"Other processes on the machine used at most {geo:.0%} of its CPU during "
            f"geosite's runs, and at most {worst:.0%} during any run ({name}); load average "
            f"{' '.join(f'{v:.2f}' for v in meta['machine']['loadavg_at_start'])} at the start."
        )
    console.print(
        f"The load generator shares the machine's {os.cpu_count()} CPUs with the server, so "
        "every figure is a floor. The ratio column is geosite's req/s over the best peer's."
    )
    console.print("Single requests while checking the answers (one at a time, no other load):")
    for report in reports:
        single = report.setup.get("single_request_s")
        if single:
            text = "; ".join(
                f"{kind} {_fmt_ms(v['median'] * 1000)} ms (median of {v['n']})"
                for kind, v in single.items()
            )
            console.print(f"  {report.name}: {text}")
    for report in reports:
        versions = report.setup.get("versions")
        if versions:
            text = ", ".join(f"{k} {v}" for k, v in versions.items())
            console.print(f"{report.name} ({report.setup.get('configuration', '')}): {text}")
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    changed = meta.get("uncommitted_geosite_files") or []
    console.print(
        f"geosite side: {versions}; revision {meta['revision']}"
        + (f" with uncommitted changes in {', '.join(changed)}" if changed else "")
        + "."
    )


def _print_postgis(geosite: ServerReport, variants: list[ServerReport]) -> None:
    """Each geosite variant's rate over geosite on GeoPackage: the median runs' ratio, and the
    ratio within each round (the runs of a round are next to each other in time)."""
    for variant in variants:
        table = Table(title=f"{variant.name} ÷ {geosite.name} (GeoPackage), same run, in turns")
        for name in (
            "workload",
            "GeoPackage req/s",
            f"{variant.name} req/s",
            "ratio (medians)",
            "ratio per round",
            "target",
            "verdict",
            "server CPU µs/req (GeoPackage / PostGIS with PostgreSQL)",
        ):
            table.add_column(name)
        for base, other in zip(geosite.results, variant.results, strict=False):
            ours, theirs = other.median.load.rps, base.median.load.rps
            ratio = ours / theirs if theirs > 0 else 0.0
            rounds = [
                f"{b.load.rps and o.load.rps / b.load.rps:.2f}"
                for b, o in zip(base.runs, other.runs, strict=False)
            ]
            wanted = base.workload.postgis_ratio
            verdict = "context"
            if wanted is not None:
                verdict = "[green]MET[/]" if ratio >= wanted else "[red]MISSED[/]"
            cpu = (base.median.server_cpu_us_per_request, other.median.server_cpu_us_per_request)
            table.add_row(
                base.workload.title,
                _fmt_rate(theirs),
                _fmt_rate(ours),
                f"{ratio:.2f}x",
                " / ".join(rounds),
                "-" if wanted is None else f"≥ {wanted:g}x",
                verdict,
                " / ".join("-" if c is None else f"{c:,.0f}" for c in cpu),
            )
        console.print()
        console.print(table)
        configuration = variant.setup.get("configuration", "")
        if configuration:
            console.print(f"PostgreSQL settings: {configuration}.")
