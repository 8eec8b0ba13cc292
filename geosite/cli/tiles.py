"""``geosite tiles``: seed or delete a cached map service's tiles, with a progress bar."""

from __future__ import annotations

import re

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from geosite.cli._common import Group, connect, err, print_json

_DONE = re.compile(r"(\d+) of (\d+) tiles")


@click.group(cls=Group)
def tiles() -> None:
    """Tile caches of map services (services with --cached).

    Example: geosite tiles seed Maps/World.MapServer --levels 0-6
    """


def _levels(value: str) -> str:
    if not re.fullmatch(r"\d{1,2}(-\d{1,2})?", value.strip()):
        raise click.BadParameter("a level or first-last, e.g. 0-5")
    return value.strip()


_SERVICE = click.argument("service")
_LEVELS = click.option(
    "--levels", default="0-5", show_default=True, callback=lambda c, p, v: _levels(v),
    help="A level or first-last, from 0 to 23.",
)  # fmt: skip
_EXTENT = click.option(
    "--extent",
    default=None,
    metavar="XMIN,YMIN,XMAX,YMAX",
    help="Only here (the world when omitted).",
)
_EXTENT_SR = click.option(
    "--extent-sr", default="4326", show_default=True, help="The extent's spatial reference."
)
_JSON = click.option("--json", "as_json", is_flag=True, help="Print the job's result as JSON.")


def _run(ctx: click.Context, service: str, levels: str, mode: str, extent: str | None,
         extent_sr: str, as_json: bool) -> None:  # fmt: skip
    site = connect(ctx)
    console = err()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task(f"{service} levels {levels}", total=None)

        def seen(message: str) -> None:
            found = _DONE.search(message)
            if found:
                bar.update(task, completed=int(found.group(1)), total=int(found.group(2)))
            elif not console.is_terminal:
                return
            else:
                bar.console.print(message, markup=False, highlight=False)

        result = site.services.manage_cache(
            service,
            levels,
            update_mode=mode,
            extent=extent,
            extent_sr=extent_sr,
            on_message=seen,
        )
    if as_json:
        print_json(result)
    elif "tilesDeleted" in result:
        click.echo(f"{result['tilesDeleted']} tiles deleted.")
    else:
        click.echo(f"{result.get('tilesDrawn', 0)} tiles drawn of {result.get('tiles', 0)}.")


@tiles.command()
@_SERVICE
@_LEVELS
@_EXTENT
@_EXTENT_SR
@click.option("--all", "redraw", is_flag=True, help="Draw every tile again, cached or not.")
@_JSON
@click.pass_context
def seed(ctx: click.Context, service: str, levels: str, extent: str | None, extent_sr: str,
         redraw: bool, as_json: bool) -> None:  # fmt: skip
    """Draw SERVICE's tiles ahead of requests (only missing ones unless --all).

    SERVICE is folder/name.MapServer.

    Example: geosite tiles seed World.MapServer --levels 0-6 --extent -10,35,30,60
    """
    mode = "RECREATE_ALL_TILES" if redraw else "RECREATE_EMPTY_TILES"
    _run(ctx, service, levels, mode, extent, extent_sr, as_json)


@tiles.command()
@_SERVICE
@_LEVELS
@_EXTENT
@_EXTENT_SR
@_JSON
@click.pass_context
def clear(ctx: click.Context, service: str, levels: str, extent: str | None, extent_sr: str,
          as_json: bool) -> None:  # fmt: skip
    """Delete SERVICE's cached tiles (they are drawn again when asked for).

    Example: geosite tiles clear Maps/World.MapServer --levels 0-23
    """
    _run(ctx, service, levels, "DELETE_TILES", extent, extent_sr, as_json)
