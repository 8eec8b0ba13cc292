"""The ``geosite`` command line: run a site, and administer any site through its API."""

from __future__ import annotations

import importlib
from typing import Any

import click

from geosite import __version__
from geosite.cli._common import Group
from geosite.cli.accounts import roles, users
from geosite.cli.folders import folders
from geosite.cli.login import login, logout
from geosite.cli.logs import logs
from geosite.cli.machines import machines, uploads
from geosite.cli.publish import publish
from geosite.cli.security import security
from geosite.cli.services import services
from geosite.cli.site import site
from geosite.cli.tiles import tiles
from geosite.cli.usage import usage
from geosite.cli.webadaptor import webadaptor


class ServerCommand(click.Command):
    """A command that needs the server's packages, imported only when it is run.

    The administration commands then start without importing uvicorn, GDAL or numpy, and work
    where only the client's packages are installed (see docs/deployment.md); ``geosite --help``
    lists this command with the summary given here (the first paragraph of the real command's
    help, which a test keeps equal).
    """

    def __init__(self, name: str, target: str, summary: str) -> None:
        super().__init__(name, help=summary)
        self.target = target

    def load(self) -> click.Command:
        """The real command (``module:attribute``), or a message naming what is missing."""
        module, _, attribute = self.target.partition(":")
        try:
            command = getattr(importlib.import_module(module), attribute)
        except ImportError as exc:
            raise click.ClickException(
                f"'geosite {self.name}' needs the server's packages, which are not installed "
                f"here ({exc}). Install them with: pip install geosite"
            ) from None
        assert isinstance(command, click.Command)
        return command

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        """Parse the arguments with the real command, whose context then runs it."""
        return self.load().make_context(info_name, args, parent=parent, **extra)


serve = ServerCommand(
    "serve",
    "geosite.cli.serve:serve",
    summary="Start a geosite machine (creating its site on first start).",
)


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
    folders,
    publish,
    logs,
    users,
    roles,
    security,
    usage,
    machines,
    uploads,
    site,
    webadaptor,
    tiles,
):
    main.add_command(command)
