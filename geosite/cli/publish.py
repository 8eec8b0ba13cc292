"""``geosite publish``: upload a file and publish it as a service, through the API."""

from __future__ import annotations

from pathlib import Path

import click

from geosite.cli._common import connect, err, print_json, read_password, transfer
from geosite.client import Site


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="The service name.")
@click.option("--folder", default="", help="The folder (created when missing).")
@click.option(
    "--type",
    "service_type",
    default="FeatureServer",
    show_default=True,
    type=click.Choice(["FeatureServer", "MapServer"]),
    help="The service type: features to query and edit, or a map drawn from them.",
)
@click.option(
    "--with-map",
    is_flag=True,
    help="Publish a map service (MapServer) with feature access (FeatureServer) over the same "
    "data, as ArcGIS does: --capabilities are the feature access's.",
)
@click.option(
    "--cached",
    is_flag=True,
    help="Give the map service a tile cache (Web Mercator tiles drawn on first request; see "
    "'geosite tiles').",
)
@click.option("--description", default="", help="The service description.")
@click.option(
    "--capabilities",
    default=None,
    metavar="LIST",
    help="What clients may do, comma-separated: Query, and Create, Update, Delete or Editing "
    "(all three) for an editable service (Query when omitted); a map service's are Map, Query "
    "and Data (all three when omitted).",
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace a service of that name (its state, owner and permissions stay) once the new "
    "data is imported; if the import fails, the old service is left as it was.",
)
@click.option(
    "--max-record-count",
    type=click.IntRange(1, 100_000),
    default=None,
    help="Most features a query returns at once (2000 when omitted).",
)
@click.option("--url", default=None, help="Log in to this site for this command only ...")
@click.option("--user", "username", default=None, help="... as this user (with --url).")
@click.option(
    "--password",
    envvar="GEOSITE_PASSWORD",
    default=None,
    help="The password for --url (asked for when omitted; see --password-stdin).",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--insecure", is_flag=True, help="Do not verify the TLS certificate (with --url).")
@click.option("--json", "as_json", is_flag=True, help="Print the service as JSON.")
@click.pass_context
def publish(
    ctx: click.Context,
    file: Path,
    name: str,
    folder: str,
    service_type: str,
    with_map: bool,
    cached: bool,
    description: str,
    capabilities: str | None,
    overwrite: bool,
    max_record_count: int | None,
    url: str | None,
    username: str | None,
    password: str | None,
    password_stdin: bool,
    insecure: bool,
    as_json: bool,
) -> None:
    """Upload FILE and publish it as a service; prints the service URL.

    FILE is a zipped shapefile, a GeoJSON file, a GeoPackage, a CSV of points or a zipped
    file geodatabase. The site is the one logged in to (see 'login'), or --url with --user.
    The import runs as a job on the site, followed until it is done (however long it takes).

    Example: geosite publish cities.zip --name Cities --folder Maps --capabilities
    Query,Editing

    Example: geosite publish countries.zip --name World --with-map --cached
    """
    if with_map:
        service_type = "MapServer"
    if cached and service_type != "MapServer":
        raise click.UsageError("--cached needs --type MapServer or --with-map.")
    if url is not None:
        if username is None:
            raise click.UsageError("--url needs --user.")
        if password is None or password_stdin:
            password = read_password(password_stdin)
        site = Site.connect(url, username, password, verify=not insecure)
        ctx.call_on_close(site.close)
    else:
        site = connect(ctx)
    properties: dict[str, object] = {}
    if max_record_count is not None:
        properties["maxRecordCount"] = max_record_count
    if cached:
        properties["isCached"] = "true"
    extensions = None
    if with_map:  # the capabilities given are the feature access's; the map keeps its own
        feature = {"typeName": "FeatureServer", "enabled": "true"}
        extensions = [{**feature, "capabilities": capabilities or "Query"}]
        capabilities = None
    default = "Query" if service_type == "FeatureServer" else ""
    console = err()
    with transfer(f"Uploading {file.name}") as progress:
        service = site.services.publish(
            file,
            name,
            folder=folder,
            service_type=service_type,
            description=description,
            capabilities=capabilities or default,
            properties=properties,
            extensions=extensions,
            overwrite=overwrite,
            progress=progress,
            on_message=(lambda m: console.print(m, markup=False, highlight=False))
            if console.is_terminal
            else None,
        )
    endpoint = f"{site.root}/{service.rest_path}"
    if as_json:
        print_json({"path": service.path, "url": endpoint})
    else:
        click.echo(endpoint)
