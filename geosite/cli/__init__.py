"""The ``geosite`` command line: run a site, and administer any site through its API."""

from __future__ import annotations

import click

from geosite import __version__
from geosite.cli._common import Group
from geosite.cli.accounts import roles, users
from geosite.cli.login import login, logout
from geosite.cli.logs import logs
from geosite.cli.machines import machines, uploads
from geosite.cli.publish import publish
from geosite.cli.serve import serve
from geosite.cli.services import services
from geosite.cli.site import site


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="geosite")
@click.option(
    "--site",
    "site_url",
    envvar="GEOSITE_URL",
    metavar="URL",
    help="The site to talk to (default: the one logged in to last).",
)
@click.pass_context
def main(ctx: click.Context, site_url: str | None) -> None:
    """geosite: a GIS server that speaks the ArcGIS Server REST and Administrator APIs.

    Run a site with 'serve'; administer it (or any ArcGIS Server) with the other commands
    after 'login'. Exit codes: 0 success, 1 refused or failed, 2 bad command line,
    3 login needed or refused, 4 not found, 5 permission denied, 6 site unreachable.

    Example: geosite login https://localhost:6443/arcgis --user admin && geosite services ls
    """
    ctx.obj = {"site": site_url}


for command in (
    serve,
    login,
    logout,
    services,
    publish,
    logs,
    users,
    roles,
    machines,
    uploads,
    site,
):
    main.add_command(command)
