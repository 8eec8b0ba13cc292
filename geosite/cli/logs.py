"""``geosite logs``: query the site's logs, follow them, read and change their settings."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from typing import Any

import click

from geosite.cli._common import (
    EXIT_USAGE,
    Failure,
    Group,
    connect,
    json_option,
    print_fields,
    print_json,
    print_table,
    utc_time,
)
from geosite.client import Site

LEVELS = ("SEVERE", "WARNING", "INFO", "FINE", "VERBOSE", "DEBUG")
_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
#: Seconds between two polls of ``--follow``.
FOLLOW_INTERVAL_S = 2.0
#: How far back before the newest record seen each poll looks again.
FOLLOW_LAG_MS = 10_000


def parse_moment(text: str, now_s: float | None = None) -> int:
    """Epoch ms of ``30m``/``2h``/``7d`` ago, of an ISO 8601 time (UTC unless it says), or of
    epoch milliseconds."""
    now = time.time() if now_s is None else now_s
    span = _SPAN.match(text)
    if span:
        return int((now - float(span.group(1)) * _UNIT_S[span.group(2).lower()]) * 1000)
    if text.strip().isdigit():
        return int(text.strip())
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Failure(
            f"Not a time: {text!r} (use 30m, 2h, 7d, 2026-11-29T08:00 or epoch milliseconds).",
            EXIT_USAGE,
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _line(record: dict[str, Any]) -> str:
    elapsed = record.get("elapsed")
    tail = f" ({elapsed} s)" if elapsed not in (None, "") else ""
    user = f" [{record['user']}]" if record.get("user") else ""
    when = utc_time(record.get("time"), millis=True)
    return (
        f"{when}  {record.get('type', ''):<7}  {record.get('code', '')}  "
        f"{record.get('source', '')}{user}  {record.get('message', '')}{tail}"
    )


@click.group(cls=Group)
def logs() -> None:
    """Query the site's logs and change their settings.

    Example: geosite logs query --level SEVERE --since 1d
    """


def _records(
    site: Site, options: dict[str, Any], newest: int | None, oldest: int | None, limit: int | None
) -> list[dict[str, Any]]:
    return list(
        site.logs.query(
            level=options["level"],
            newest=newest,
            oldest=oldest,
            services=options["services"] or None,
            machines=options["machines"] or None,
            codes=options["codes"] or None,
            users=options["users"] or None,
            request_ids=options["request_ids"] or None,
            limit=limit,
        )
    )


@logs.command("query")
@click.option(
    "--level",
    type=click.Choice(LEVELS, case_sensitive=False),
    default="WARNING",
    show_default=True,
    help="This level and the more severe ones.",
)
@click.option("--since", default="1h", show_default=True, help="Oldest time: 30m, 2h, 7d, ISO.")
@click.option("--until", default=None, help="Newest time (default now): 10m, ISO, epoch ms.")
@click.option("--service", "services", multiple=True, help="A source: Maps/Roads.FeatureServer.")
@click.option("--machine", "machines", multiple=True, help="A machine name.")
@click.option("--code", "codes", multiple=True, type=int, help="A log code (see docs).")
@click.option("--user", "users", multiple=True, help="The user of the request.")
@click.option("--request-id", "request_ids", multiple=True, help="A request id.")
@click.option(
    "--limit", type=click.IntRange(1), default=1000, show_default=True, help="The newest N."
)
@click.option("--follow", is_flag=True, help="Keep printing new records as they come (Ctrl+C).")
@json_option
@click.pass_context
def query(
    ctx: click.Context,
    /,
    level: str,
    since: str,
    until: str | None,
    limit: int,
    follow: bool,
    as_json: bool,
    **filters: Any,
) -> None:
    """Print log records, oldest first (the newest --limit of the window).

    With --json, a JSON array of the records as the site returns them; with --follow --json,
    one JSON object per line.

    Example: geosite logs query --level WARNING --since 2h --service Maps/Roads.FeatureServer
    """
    options = {"level": level.upper(), **filters}
    site = connect(ctx)
    oldest = parse_moment(since)
    newest = parse_moment(until) if until else None
    if follow and until:
        raise Failure("--follow and --until do not go together.", EXIT_USAGE)
    found = _records(site, options, newest, oldest, limit)
    found.reverse()  # oldest first, like a log file
    if as_json and not follow:
        print_json(found)
        return
    for record in found:
        click.echo(json.dumps(record) if as_json else _line(record))
    if follow:
        _follow(site, options, found, as_json)


def _key(record: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(record.get(k) for k in ("time", "machine", "process", "thread", "code", "message"))


def _follow(
    site: Site, options: dict[str, Any], shown: list[dict[str, Any]], as_json: bool
) -> None:
    """Poll for new records; never print one twice.

    Each poll reaches ``FOLLOW_LAG_MS`` back before the newest record seen, since a machine's
    writer stores its records up to a moment after their time stamps.
    """
    newest = max((int(r.get("time", 0)) for r in shown), default=int(time.time() * 1000))
    seen = {_key(r): int(r.get("time", 0)) for r in shown}
    try:
        while True:
            time.sleep(FOLLOW_INTERVAL_S)
            fresh = _records(site, options, None, newest - FOLLOW_LAG_MS, None)
            fresh.reverse()
            for record in fresh:
                key = _key(record)
                if key in seen:
                    continue
                click.echo(json.dumps(record) if as_json else _line(record))
                seen[key] = int(record.get("time", 0))
                newest = max(newest, seen[key])
            seen = {k: t for k, t in seen.items() if t >= newest - FOLLOW_LAG_MS}
    except KeyboardInterrupt:
        return


@logs.command("settings")
@json_option
@click.pass_context
def settings(ctx: click.Context, as_json: bool) -> None:
    """Show the log settings (level, how long records are kept).

    Example: geosite logs settings
    """
    found = connect(ctx).logs.settings()
    if as_json:
        print_json(found)
    else:
        print_fields(found)


@logs.command("set")
@click.option("--level", type=click.Choice(("OFF", *LEVELS), case_sensitive=False))
@click.option("--max-age", type=click.IntRange(1), help="Days records are kept.")
@click.option("--max-error-reports", type=click.IntRange(0), help="Error reports kept.")
@json_option
@click.pass_context
def set_settings(
    ctx: click.Context,
    level: str | None,
    max_age: int | None,
    max_error_reports: int | None,
    as_json: bool,
) -> None:
    """Change the log settings.

    Example: geosite logs set --level FINE --max-age 30
    """
    if level is None and max_age is None and max_error_reports is None:
        raise Failure("Give --level, --max-age or --max-error-reports.", EXIT_USAGE)
    found = connect(ctx).logs.edit_settings(
        log_level=level.upper() if level else None,
        max_log_file_age=max_age,
        max_error_reports_count=max_error_reports,
    )
    if as_json:
        print_json(found)
    else:
        print_table(("property", "value"), found.items())


@logs.command("clean")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def clean(ctx: click.Context, yes: bool) -> None:
    """Delete every log record of every machine.

    Example: geosite logs clean --yes
    """
    if not yes and not click.confirm("Delete every log record of the site?", err=True):
        raise Failure("Nothing deleted.")
    connect(ctx).logs.clean()
    click.echo("Logs cleaned.")
