"""What the remote commands share: the site to talk to, output, progress and exit codes.

Exit codes (the same for every command):

==  =======================================================================
0   success
1   the site refused or failed the request (or some items of a batch failed)
2   the command line was wrong (click's usage errors)
3   not logged in, the login was refused, or the stored token expired
4   no such service, folder, user, role, machine or item
5   permission denied (the user lacks the privilege)
6   the site could not be reached
==  =======================================================================
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from geosite.cli import _credentials
from geosite.client import (
    ClientError,
    ConnectionFailed,
    InvalidToken,
    LoginFailed,
    LoginRequired,
    NotFound,
    PermissionDenied,
    Site,
    TokenRequired,
    site_root,
)

EXIT_FAILED, EXIT_USAGE, EXIT_LOGIN, EXIT_NOT_FOUND, EXIT_FORBIDDEN, EXIT_UNREACHABLE = range(1, 7)

_EXIT_CODES: list[tuple[type[ClientError], int]] = [
    (LoginRequired, EXIT_LOGIN),
    (LoginFailed, EXIT_LOGIN),
    (TokenRequired, EXIT_LOGIN),
    (InvalidToken, EXIT_LOGIN),
    (NotFound, EXIT_NOT_FOUND),
    (PermissionDenied, EXIT_FORBIDDEN),
    (ConnectionFailed, EXIT_UNREACHABLE),
]

T = TypeVar("T")


def exit_code(error: ClientError) -> int:
    """The exit code an error of the library stands for."""
    for kind, code in _EXIT_CODES:
        if isinstance(error, kind):
            return code
    return EXIT_FAILED


class Failure(click.ClickException):
    """An error reported on standard error with its own exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = code  # type: ignore[misc]  # click reads it per instance


class Group(click.Group):
    """A command group whose commands turn library errors into messages and exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ClientError as exc:
            raise Failure(str(exc), exit_code(exc)) from None


# -- the site ---------------------------------------------------------------------------------


def chosen_url(ctx: click.Context) -> str | None:
    """The site named by ``--site`` or ``GEOSITE_URL`` (as a site root), if any."""
    root = ctx.find_root()
    url = (root.obj or {}).get("site") if isinstance(root.obj, dict) else None
    return site_root(url) if url else None


def connect(ctx: click.Context) -> Site:
    """The site to talk to, logged in.

    With ``GEOSITE_USER`` and ``GEOSITE_PASSWORD`` set, a fresh login (renewed as needed);
    otherwise the token ``geosite login`` stored.
    """
    url = chosen_url(ctx)
    user, password = os.environ.get("GEOSITE_USER"), os.environ.get("GEOSITE_PASSWORD")
    if user and password is not None:
        if url is None:
            stored = _credentials.load()
            url = stored.url if stored else None
        if url is None:
            raise Failure("Name the site with --site URL or GEOSITE_URL.", EXIT_USAGE)
        insecure = os.environ.get("GEOSITE_INSECURE", "") not in ("", "0", "false")
        site = Site.connect(url, user, password, verify=not insecure)
    else:
        login = _credentials.load(url)
        if login is None:
            where = f" to {url}" if url else ""
            raise Failure(
                f"Not logged in{where}: run 'geosite login URL --user NAME' first.", EXIT_LOGIN
            )
        if login.expired():
            raise Failure(
                f"The token for {login.url} has expired: run 'geosite login {login.url} "
                f"--user {login.username}' again.",
                EXIT_LOGIN,
            )
        site = Site.from_token(login.url, login.token, login.expires, verify=login.verify)
    ctx.call_on_close(site.close)
    return site


def read_password(
    password_stdin: bool, prompt: str = "Password", *, missing: int = EXIT_LOGIN
) -> str:
    """A password from standard input (one line) or asked for without echo.

    Without a terminal to ask on (a script, a pipe), a missing password exits with
    ``missing`` (3, login needed, by default) and says how to give one.
    """
    if password_stdin:
        line = sys.stdin.readline()
        if not line:
            raise Failure("--password-stdin: standard input is empty.", EXIT_USAGE)
        return line.rstrip("\r\n")
    try:
        return str(click.prompt(prompt, hide_input=True))
    except click.Abort:
        if _interactive():
            raise  # Ctrl-C at the prompt
        raise Failure(
            f"{prompt}: there is no terminal to ask on; give it on standard input with "
            "--password-stdin.",
            missing,
        ) from None


def _interactive() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


# -- output -----------------------------------------------------------------------------------

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print JSON (for scripts) instead of a table."
)


def out() -> Console:
    """Standard output (tables are never wrapped narrower than 100 columns when piped)."""
    return Console(width=None if sys.stdout.isatty() else 160, soft_wrap=False)


def err() -> Console:
    """Standard error, for progress and notes."""
    return Console(stderr=True)


def utc_time(ms: Any, *, millis: bool = False) -> str:
    """Epoch milliseconds as ``2026-11-29 09:30`` UTC (with seconds and ms when ``millis``)."""
    try:
        moment = datetime.fromtimestamp(int(ms) / 1000, UTC)
    except (TypeError, ValueError, OverflowError):
        return str(ms)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] if millis else f"{moment:%Y-%m-%d %H:%M}"


def print_json(value: Any) -> None:
    """Print a value as JSON on standard output."""
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def print_table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], *, empty: str = "Nothing found."
) -> None:
    """Print rows as a table (or ``empty`` when there are none)."""
    listed = [[("" if v is None else str(v)) for v in row] for row in rows]
    if not listed:
        err().print(empty)
        return
    table = Table(*columns, box=None, pad_edge=False, header_style="bold")
    for row in listed:
        table.add_row(*row, style=None)
    out().print(table, markup=False, highlight=False)


def print_fields(values: dict[str, Any]) -> None:
    """Print a flat mapping as two columns."""
    print_table(
        ("property", "value"),
        ((k, json.dumps(v) if isinstance(v, dict | list) else v) for k, v in values.items()),
    )


@contextmanager
def transfer(description: str) -> Iterator[Callable[[int, int], None]]:
    """A byte progress bar on standard error (only when it is a terminal)."""
    console = err()
    if not console.is_terminal:
        yield lambda sent, total: None
        return
    with Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), console=console
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(sent: int, total: int) -> None:
            bar.update(task, completed=sent, total=total)

        yield update


def each(items: Sequence[T], description: str) -> Iterator[T]:
    """Iterate with a progress bar on standard error (only for a terminal and 2+ items)."""
    console = err()
    if len(items) < 2 or not console.is_terminal:
        yield from items
        return
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console
    ) as bar:
        yield from bar.track(items, description=description)
