"""``geosite publish``: upload a file and publish it as a service, through the API."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from geosite.client import ClientError, Site


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--url", required=True, help="The site, e.g. https://host:6443/arcgis")
@click.option("--user", "username", required=True, help="A publisher or administrator.")
@click.option(
    "--password",
    envvar="GEOSITE_PASSWORD",
    default=None,
    help="The password (asked for when omitted; see --password-stdin).",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--name", required=True, help="The service name.")
@click.option("--folder", default="", help="The folder (created when missing).")
@click.option(
    "--type",
    "service_type",
    default="FeatureServer",
    show_default=True,
    type=click.Choice(["FeatureServer"]),
    help="The service type.",
)
@click.option("--description", default="", help="The service description.")
@click.option(
    "--max-record-count",
    type=click.IntRange(1, 100_000),
    default=None,
    help="Most features a query returns at once (2000 when omitted).",
)
@click.option("--insecure", is_flag=True, help="Do not verify the TLS certificate.")
def publish(
    file: Path,
    url: str,
    username: str,
    password: str | None,
    password_stdin: bool,
    name: str,
    folder: str,
    service_type: str,
    description: str,
    max_record_count: int | None,
    insecure: bool,
) -> None:
    """Upload FILE and publish it as a service; prints the service URL.

    FILE is a zipped shapefile, a GeoJSON file, a GeoPackage, a CSV of points or a zipped
    file geodatabase.

    Example: geosite publish cities.zip --url https://gis.example:6443/arcgis --user admin
    --name Cities --folder Maps
    """
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    if password is None:
        password = click.prompt("Password", hide_input=True)
    properties: dict[str, object] = {}
    if max_record_count is not None:
        properties["maxRecordCount"] = max_record_count
    try:
        with Site.connect(url, username, password, verify=not insecure) as site:
            item = site.upload(file, description)
            properties["itemID"] = item["itemID"]
            site.create_service(
                {
                    "serviceName": name,
                    "type": service_type,
                    "folderName": folder,
                    "description": description,
                    "capabilities": "Query",
                    "properties": properties,
                }
            )
            prefix = f"{folder}/" if folder else ""
            click.echo(f"{site.root}/rest/services/{prefix}{name}/{service_type}")
    except ClientError as exc:
        raise click.ClickException(str(exc)) from None
