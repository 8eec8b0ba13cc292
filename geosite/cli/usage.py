"""``geosite usage``: usage reports, the site's request statistics over time."""

from __future__ import annotations

from typing import Any

import click

from geosite.cli._common import (
    EXIT_USAGE,
    Failure,
    Group,
    connect,
    json_option,
    print_json,
    print_table,
)

WINDOWS = ("LAST_DAY", "LAST_WEEK", "LAST_MONTH", "LAST_YEAR")
METRICS = (
    "RequestCount",
    "RequestsFailed",
    "RequestsTimedOut",
    "RequestMaxResponseTime",
    "RequestAvgResponseTime",
    "ServiceActiveInstances",
)


@click.group(cls=Group)
def usage() -> None:
    """List, create and delete usage reports, and read their figures.

    Example: geosite usage create roads --resource Maps/Roads.FeatureServer --since LAST_WEEK
    """


def _queries(report: dict[str, Any]) -> list[dict[str, Any]]:
    queries = report.get("queries") or []
    return [q for q in queries if isinstance(q, dict)]


@usage.command("ls")
@json_option
@click.pass_context
def list_reports(ctx: click.Context, as_json: bool) -> None:
    """List the usage reports.

    Example: geosite usage ls
    """
    found = connect(ctx).usage_reports.list()
    if as_json:
        print_json(found)
        return
    print_table(
        ("report", "since", "resources", "metrics"),
        (
            (
                r.get("reportname"),
                r.get("since"),
                ", ".join(u for q in _queries(r) for u in q.get("resourceURIs") or []),
                ", ".join(dict.fromkeys(m for q in _queries(r) for m in q.get("metrics") or [])),
            )
            for r in found
        ),
        empty="No usage reports.",
    )


@usage.command("show")
@click.argument("name")
@click.pass_context
def show(ctx: click.Context, name: str) -> None:
    """Print a report's definition as JSON.

    Example: geosite usage show roads
    """
    print_json(connect(ctx).usage_reports.get(name))


def _resource(text: str) -> str:
    """``services/...`` as given, or a service or folder path made into one."""
    cleaned = text.strip().strip("/")
    if cleaned.lower() == "services" or cleaned.lower().startswith("services/"):
        return cleaned if "/" in cleaned else "services/"
    return f"services/{cleaned}" if cleaned else "services/"


@usage.command("create")
@click.argument("name")
@click.option(
    "--resource",
    "resources",
    multiple=True,
    metavar="RESOURCE",
    help="A service (Maps/Roads.FeatureServer), a folder (Maps) or services/ for all of "
    "them (repeatable; default: all services).",
)
@click.option(
    "--metric",
    "metrics",
    multiple=True,
    type=click.Choice(METRICS),
    help="A metric (repeatable; default: RequestCount).",
)
@click.option(
    "--since",
    type=click.Choice(WINDOWS, case_sensitive=False),
    default="LAST_DAY",
    show_default=True,
    help="The time window.",
)
@click.option(
    "--interval",
    type=click.IntRange(1, 525_600),
    default=None,
    help="Minutes per time slice (the site picks one for the window when omitted).",
)
@click.pass_context
def create(
    ctx: click.Context,
    name: str,
    resources: tuple[str, ...],
    metrics: tuple[str, ...],
    since: str,
    interval: int | None,
) -> None:
    """Create a usage report.

    Example: geosite usage create roads --resource Maps/Roads.FeatureServer --metric
    RequestCount --metric RequestAvgResponseTime --since LAST_WEEK
    """
    report: dict[str, Any] = {
        "reportname": name,
        "since": since.upper(),
        "queries": [
            {
                "resourceURIs": [_resource(r) for r in resources] or ["services/"],
                "metrics": list(metrics) or ["RequestCount"],
            }
        ],
        "metadata": "{}",
    }
    if interval is not None:
        report["aggregationInterval"] = interval
    connect(ctx).usage_reports.add(report)
    click.echo(f"Usage report {name} created.")


@usage.command("delete")
@click.argument("name")
@click.pass_context
def delete(ctx: click.Context, name: str) -> None:
    """Delete a usage report (its figures stay: they belong to the site).

    Example: geosite usage delete roads
    """
    connect(ctx).usage_reports.delete(name)
    click.echo(f"Usage report {name} deleted.")


def _summary(series: dict[str, Any]) -> tuple[Any, ...]:
    values = [v for v in series.get("data") or [] if isinstance(v, int | float)]
    total: Any = ""
    if values and series.get("metric-type") in ("RequestCount", "RequestsFailed"):
        total = int(sum(values))
    peak = max(values) if values else ""
    return (series.get("resourceURI"), series.get("metric-type"), total, peak, len(values))


@usage.command("data")
@click.argument("name")
@click.option("--csv", "as_csv", is_flag=True, help="Print every time slice as CSV.")
@json_option
@click.pass_context
def data(ctx: click.Context, name: str, as_csv: bool, as_json: bool) -> None:
    """Show a report's figures: per resource and metric, the total, the highest value and
    the time slices with requests (every slice with --csv or --json).

    Example: geosite usage data roads --csv > roads.csv
    """
    site = connect(ctx)
    if as_csv and as_json:
        raise Failure("Choose --csv or --json.", EXIT_USAGE)
    if as_csv:
        click.echo(site.usage_reports.csv(name), nl=False)
        return
    figures = site.usage_reports.data(name)
    if as_json:
        print_json(figures)
        return
    report = figures.get("report") or {}
    rows = [
        _summary(series)
        for group in report.get("report-data") or []
        for series in (group if isinstance(group, list) else [group])
        if isinstance(series, dict)
    ]
    print_table(
        ("resource", "metric", "total", "highest", "slices with data"),
        rows,
        empty=f"Report {name} has no figures.",
    )
