"""``geosite machines`` and ``geosite uploads``."""

from __future__ import annotations

import click

from geosite.cli._common import Group, connect, json_option, print_json, print_table, utc_time


@click.group(cls=Group)
def machines() -> None:
    """The machines of the site.

    Example: geosite machines ls
    """


@machines.command("ls")
@json_option
@click.pass_context
def list_machines(ctx: click.Context, as_json: bool) -> None:
    """List the machines with their state.

    Example: geosite machines ls
    """
    site = connect(ctx)
    found = [{**m, **site.machines.status(str(m["machineName"]))} for m in site.machines.list()]
    if as_json:
        print_json(found)
        return
    print_table(
        ("machine", "state", "admin URL"),
        ((m.get("machineName"), m.get("realTimeState"), m.get("adminURL")) for m in found),
        empty="No machines.",
    )


@machines.command("status")
@click.argument("name")
@json_option
@click.pass_context
def machine_status(ctx: click.Context, name: str, as_json: bool) -> None:
    """Show a machine's properties and state.

    Example: geosite machines status GEOSITE1
    """
    site = connect(ctx)
    found = {**site.machines.get(name), **site.machines.status(name)}
    if as_json:
        print_json(found)
        return
    print_table(("property", "value"), sorted(found.items()))


@click.group(cls=Group)
def uploads() -> None:
    """Files uploaded for publishing.

    Example: geosite uploads ls --json
    """


@uploads.command("ls")
@json_option
@click.pass_context
def list_uploads(ctx: click.Context, as_json: bool) -> None:
    """List the uploaded items.

    Example: geosite uploads ls
    """
    found = connect(ctx).uploads.list()
    if as_json:
        print_json(found)
        return
    print_table(
        ("item", "name", "uploaded (UTC)", "description"),
        (
            (i.get("itemID"), i.get("itemName"), utc_time(i.get("date")), i.get("description"))
            for i in found
        ),
        empty="No uploads.",
    )


@uploads.command("delete")
@click.argument("items", nargs=-1, required=True)
@click.pass_context
def delete_uploads(ctx: click.Context, items: tuple[str, ...]) -> None:
    """Delete uploaded items.

    Example: geosite uploads delete i1d2e3...
    """
    site = connect(ctx)
    for item in items:
        site.uploads.delete(item)
        click.echo(f"{item}: deleted")
