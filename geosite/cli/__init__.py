"""The ``geosite`` command line."""

from __future__ import annotations

import click

from geosite import __version__
from geosite.cli.publish import publish
from geosite.cli.serve import serve
from geosite.cli.site import site


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="geosite")
def main() -> None:
    """geosite: a GIS server that speaks the ArcGIS Server REST and Administrator APIs.

    Example: geosite serve --data-dir ./geosite-data
    """


main.add_command(serve)
main.add_command(site)
main.add_command(publish)
