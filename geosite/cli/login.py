"""``geosite login`` and ``geosite logout``: a stored token for the other commands."""

from __future__ import annotations

import click

from geosite.cli import _credentials
from geosite.cli._common import EXIT_LOGIN, Failure, chosen_url, read_password, utc_time
from geosite.client import Site, site_root


@click.command()
@click.argument("url")
@click.option("--user", "username", required=True, help="An administrator or publisher.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option(
    "--expiration",
    type=click.IntRange(1, 525_600),
    default=1440,
    show_default=True,
    help="Minutes the token should last (the site may give less).",
)
@click.option("--insecure", is_flag=True, help="Do not verify the TLS certificate.")
def login(url: str, username: str, password_stdin: bool, expiration: int, insecure: bool) -> None:
    """Log in to a site and store a token (never the password) for the other commands.

    The token is kept in the user's config directory, readable by its owner only. The site
    logged in to last is the one the other commands use (or name one with --site).

    Example: geosite login https://gis.example.com:6443/arcgis --user admin
    """
    password = read_password(password_stdin)
    root = site_root(url)
    with Site.connect(root, username, password, verify=not insecure, expiration=expiration) as site:
        token = site.session.token
        assert token is not None
        stored = _credentials.Login(
            url=site.root,
            username=username,
            token=token.value,
            expires=int(token.expires_s * 1000),
            verify=not insecure,
        )
    where = _credentials.save(stored)
    until = utc_time(stored.expires)
    click.echo(f"Logged in to {stored.url} as {username}; the token lasts until {until} UTC.")
    click.echo(f"Token stored in {where}.", err=True)


@click.command()
@click.pass_context
def logout(ctx: click.Context) -> None:
    """Forget the stored token of the current site (or of the one --site names).

    Example: geosite logout
    """
    gone = _credentials.forget(chosen_url(ctx))
    if gone is None:
        raise Failure("Not logged in.", EXIT_LOGIN)
    click.echo(f"Logged out of {gone}.")
