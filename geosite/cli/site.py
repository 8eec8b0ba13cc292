"""``geosite site``: the site's health, backups and restores (through the API), and local
operations on a machine's data directory (no server needed)."""

from __future__ import annotations

from pathlib import Path

import click

from geosite.cli import _credentials
from geosite.cli._common import (
    EXIT_FAILED,
    EXIT_USAGE,
    Failure,
    Group,
    chosen_url,
    connect,
    json_option,
    print_json,
)
from geosite.client import Site as RemoteSite


@click.group(cls=Group)
def site() -> None:
    """The site's health, backups and restores; local operations on a data directory.

    Example: geosite site health
    """


@site.command("health")
@click.option("--insecure", is_flag=True, help="Do not verify the TLS certificate.")
@json_option
@click.pass_context
def health(ctx: click.Context, insecure: bool, as_json: bool) -> None:
    """Check that the site answers and is healthy (no login needed).

    Exits with 0 when healthy, 1 when not, 6 when the site cannot be reached.

    Example: geosite --site https://gis.example.com:6443/arcgis site health
    """
    url = chosen_url(ctx)
    stored = _credentials.load(url)
    if url is None and stored is None:
        raise Failure("Name the site with --site URL (or log in first).", EXIT_USAGE)
    where = url or (stored.url if stored else "")
    verify = stored.verify if stored and stored.url == where else not insecure
    with RemoteSite.anonymous(where, verify=verify and not insecure) as remote:
        healthy = remote.health()
        info = remote.info()
    found = {
        "url": remote.root,
        "healthy": healthy,
        "version": info.get("fullVersion", info.get("currentVersion", "")),
    }
    if as_json:
        print_json(found)
    else:
        state = "healthy" if healthy else "NOT healthy"
        click.echo(f"{remote.root}: {state} (version {found['version']})")
    if not healthy:
        ctx.exit(EXIT_FAILED)


@site.command("backup")
@click.option(
    "--location",
    default="",
    help="A folder on the server, inside one of its server directories (default: the site's "
    "backups folder).",
)
@json_option
@click.pass_context
def backup(ctx: click.Context, location: str, as_json: bool) -> None:
    """Back up the site's configuration and service data to a file on the server (exportSite).

    Prints the backup file's path on the server, which 'restore' takes.

    Example: geosite site backup
    """
    written = connect(ctx).backup(location)
    if as_json:
        print_json({"location": written})
    else:
        click.echo(written)


@site.command("restore")
@click.argument("location")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
@click.pass_context
def restore(ctx: click.Context, location: str, yes: bool, as_json: bool) -> None:
    """Put the site back to a backup (importSite); LOCATION is the file 'backup' printed.

    Everything the backup holds replaces the current configuration, and the users' earlier
    tokens stop working (the primary site administrator's stay valid).

    Example: geosite site restore /srv/geosite/directories/arcgissystem/backups/x.agssite --yes
    """
    if not yes and not click.confirm(
        f"Replace the site's configuration with {location}?", err=True
    ):
        raise Failure("Nothing restored.", EXIT_FAILED)
    answer = connect(ctx).restore(location)
    if as_json:
        print_json(answer)
        return
    report = answer.get("report", {})
    counts = ", ".join(
        f"{v} {k}" for k, v in report.items() if isinstance(v, int) and k != "createdMs"
    )
    click.echo(f"Restored from {location}: {counts}.")


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
    # The server's packages, imported here so that the other commands work without them.
    try:
        from geosite.core import passwords
        from geosite.core.clock import SystemClock
        from geosite.core.site import Site
        from geosite.storage import load_stores
    except ImportError as exc:
        raise click.ClickException(
            f"'geosite site reset-password' needs the server's packages, which are not "
            f"installed here ({exc}). Install them with: pip install geosite"
        ) from None

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
