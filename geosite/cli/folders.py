"""``geosite folders``: the folders services are published in."""

from __future__ import annotations

import click

from geosite.cli._common import (
    EXIT_FAILED,
    Failure,
    Group,
    connect,
    json_option,
    print_json,
    print_table,
)


@click.group(cls=Group)
def folders() -> None:
    """List, create and delete the folders of services.

    Example: geosite folders create Maps --description "Base maps"
    """


@folders.command("ls")
@json_option
@click.pass_context
def list_folders(ctx: click.Context, as_json: bool) -> None:
    """List the folders (System holds the site's own services).

    Example: geosite folders ls --json
    """
    found = connect(ctx).services.folder_details()
    if as_json:
        print_json(found)
        return
    print_table(
        ("folder", "description"),
        ((f.get("folderName"), f.get("description")) for f in found),
        empty="No folders.",
    )


@folders.command("create")
@click.argument("name")
@click.option("--description", default="", help="A description.")
@click.pass_context
def create(ctx: click.Context, name: str, description: str) -> None:
    """Create a folder (it gets the root folder's permissions).

    Example: geosite folders create Maps --description "Base maps"
    """
    connect(ctx).services.create_folder(name, description)
    click.echo(f"Folder {name} created.")


@folders.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def delete(ctx: click.Context, name: str, yes: bool) -> None:
    """Delete a folder and every service in it, with their data, as ArcGIS Server does.

    Example: geosite folders delete Scratch --yes
    """
    site = connect(ctx)
    if not yes and not click.confirm(
        f"Delete the folder {name} and every service in it?", err=True
    ):
        raise Failure("Nothing deleted.", EXIT_FAILED)
    site.services.delete_folder(name)
    click.echo(f"Folder {name} deleted.")
