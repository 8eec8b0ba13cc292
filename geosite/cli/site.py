"""``geosite site``: local operations on a machine's site (no server needed)."""

from __future__ import annotations

from pathlib import Path

import click

from geosite.core import passwords
from geosite.core.clock import SystemClock
from geosite.core.site import Site
from geosite.storage import load_stores


@click.group()
def site() -> None:
    """Local operations on the site in a data directory."""


@site.command("reset-password")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=Path("geosite-data"),
    show_default=True,
    envvar="GEOSITE_DATA_DIR",
)
@click.option("--user", "username", required=True, help="The account to reset.")
@click.password_option(
    "--password", envvar="GEOSITE_NEW_PASSWORD", help="The new password (asked for when omitted)."
)
def reset_password(data_dir: Path, username: str, password: str) -> None:
    """Set a new password for an account and end its tokens.

    Example: geosite site reset-password --data-dir ./geosite-data --user siteadmin
    """
    opened = Site.open(data_dir, SystemClock(), load_stores)
    if opened is None:
        raise click.ClickException(f"{data_dir} holds no site.")
    try:
        problems = passwords.check_policy(password)
        if problems:
            raise click.ClickException(" ".join(problems))
        if not opened.store.set_password(username, passwords.hash_password(password)):
            raise click.ClickException(f"No user named '{username}'.")
    finally:
        opened.close()
    click.echo(f"Password of '{username}' changed; its earlier tokens no longer work.")
