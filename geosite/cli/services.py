"""``geosite services``: list, inspect, start, stop, restart, edit and delete services, and
set who may access them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from geosite.cli._common import (
    EXIT_FAILED,
    EXIT_NOT_FOUND,
    EXIT_USAGE,
    Failure,
    Group,
    connect,
    each,
    err,
    json_option,
    print_json,
    print_table,
)
from geosite.client import ClientError, ServiceRef, Site


@click.group(cls=Group)
def services() -> None:
    """List and manage the site's services.

    Example: geosite services stop 'Maps/*'
    """


def _select(site: Site, patterns: tuple[str, ...]) -> list[ServiceRef]:
    found = site.services.match(patterns)
    if not found:
        shown = "', '".join(patterns)
        raise Failure(f"No service matches '{shown}'.", EXIT_NOT_FOUND)
    return found


def _state(site: Site, service: ServiceRef) -> str:
    try:
        return str(site.services.status(service).get("realTimeState", "?"))
    except ClientError as exc:
        return f"unknown ({exc})"


@services.command("ls")
@click.argument("patterns", nargs=-1)
@click.option("--folder", default=None, help="Only this folder ('/' for the root folder).")
@click.option("--no-status", is_flag=True, help="Skip asking each service for its state.")
@json_option
@click.pass_context
def list_services(
    ctx: click.Context,
    patterns: tuple[str, ...],
    folder: str | None,
    no_status: bool,
    as_json: bool,
) -> None:
    """List services: all of them, those of a folder, or those PATTERNS name.

    PATTERNS are globs over folder/name.type, ignoring case: 'Maps/*', 'Parks', '*.MapServer'.

    Example: geosite services ls 'Maps/*' --json
    """
    site = connect(ctx)
    if patterns:
        found = site.services.match(patterns)
        if folder is not None:
            found = [s for s in found if s.folder.lower() == folder.strip("/").lower()]
    else:
        found = site.services.list(folder)
    rows = [
        {
            "folder": s.folder,
            "name": s.name,
            "type": s.type,
            "path": s.path,
            **({} if no_status else {"status": _state(site, s)}),
        }
        for s in found
    ]
    if as_json:
        print_json(rows)
        return
    columns = ["service", "type"] + ([] if no_status else ["status"])
    print_table(
        columns,
        (
            [r["path"].rsplit(".", 1)[0], r["type"], *([] if no_status else [r["status"]])]
            for r in rows
        ),
        empty="No services.",
    )


@services.command("status")
@click.argument("patterns", nargs=-1, required=True)
@json_option
@click.pass_context
def status(ctx: click.Context, patterns: tuple[str, ...], as_json: bool) -> None:
    """Show the configured and real-time state of services.

    Example: geosite services status 'Maps/*'
    """
    site = connect(ctx)
    rows = []
    for service in _select(site, patterns):
        state = site.services.status(service)
        rows.append({"path": service.path, **state})
    if as_json:
        print_json(rows)
        return
    print_table(
        ("service", "configured", "real time"),
        ((r["path"], r.get("configuredState", ""), r.get("realTimeState", "")) for r in rows),
    )


def _batch(
    ctx: click.Context,
    site: Site,
    chosen: list[ServiceRef],
    verb: str,
    done: str,
    action: Callable[[Site, ServiceRef], None],
    as_json: bool,
) -> None:
    results: list[dict[str, Any]] = []
    for service in each(chosen, f"{verb} {len(chosen)} services"):
        try:
            action(site, service)
            results.append({"path": service.path, "status": "success"})
        except ClientError as exc:
            results.append({"path": service.path, "status": "error", "message": str(exc)})
    failed = [r for r in results if r["status"] != "success"]
    if as_json:
        print_json(results)
    else:
        for result in results:
            if result["status"] == "success":
                click.echo(f"{result['path']}: {done}")
            else:
                click.echo(f"{result['path']}: FAILED: {result['message']}", err=True)
        ok = len(results) - len(failed)
        click.echo(f"{ok} of {len(results)} service(s) {done.lower()}.", err=True)
    if failed:
        ctx.exit(EXIT_FAILED)


def _state_command(name: str, verb: str, done: str, help_text: str) -> None:
    """Register ``services start|stop|restart``: the same batch over a different call."""

    @services.command(name, help=help_text)
    @click.argument("patterns", nargs=-1, required=True)
    @json_option
    @click.pass_context
    def command(ctx: click.Context, patterns: tuple[str, ...], as_json: bool) -> None:
        site = connect(ctx)
        chosen = _select(site, patterns)
        _batch(ctx, site, chosen, verb, done, lambda s, r: getattr(s.services, name)(r), as_json)


_state_command(
    "start",
    "Starting",
    "STARTED",
    "Start the services PATTERNS name.\n\nExample: geosite services start 'Maps/*'",
)
_state_command(
    "stop",
    "Stopping",
    "STOPPED",
    "Stop the services PATTERNS name (their REST requests are refused until started).\n\n"
    "Example: geosite services stop 'Maps/*'",
)
_state_command(
    "restart",
    "Restarting",
    "RESTARTED",
    "Stop and start the services PATTERNS name.\n\n"
    "Example: geosite services restart Maps/Roads.FeatureServer",
)


@services.command("delete")
@click.argument("patterns", nargs=-1, required=True)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
@click.pass_context
def delete(ctx: click.Context, patterns: tuple[str, ...], yes: bool, as_json: bool) -> None:
    """Delete the services PATTERNS name, with the data the site holds for them.

    Example: geosite services delete 'Scratch/*' --yes
    """
    site = connect(ctx)
    chosen = _select(site, patterns)
    if not yes:
        listed = "\n  ".join(s.path for s in chosen)
        click.echo(f"This deletes {len(chosen)} service(s):\n  {listed}", err=True)
        if not click.confirm("Delete them?", err=True):
            raise Failure("Nothing deleted.", EXIT_FAILED)
    _batch(ctx, site, chosen, "Deleting", "DELETED", lambda s, r: s.services.delete(r), as_json)


@services.command("show")
@click.argument("service")
@click.pass_context
def show(ctx: click.Context, service: str) -> None:
    """Print a service's definition as JSON (what 'edit' changes).

    SERVICE is [folder/]name[.type].

    Example: geosite services show Maps/Roads
    """
    site = connect(ctx)
    print_json(site.services.get(service))


def _assignment(text: str) -> tuple[list[str], Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise Failure(f"--set expects KEY=VALUE, not {text!r}.", EXIT_USAGE)
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw  # a bare string
    return [part for part in key.strip().split(".") if part], value


@services.command("edit")
@click.argument("service")
@click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="KEY=VALUE",
    help="A property to change; dots reach into objects (properties.maxRecordCount=500). "
    "VALUE is read as JSON when it is JSON, else as text.",
)
@click.option(
    "--file",
    "from_file",
    type=click.File("r"),
    help="A whole service definition (JSON) to replace the current one.",
)
@json_option
@click.pass_context
def edit(
    ctx: click.Context,
    service: str,
    assignments: tuple[str, ...],
    from_file: Any,
    as_json: bool,
) -> None:
    """Change a service's properties (takes effect at once).

    SERVICE is [folder/]name[.type]. A KEY must be one of the definition's ('show' prints
    them; keys inside properties are free); an unknown one is refused and nothing changes.

    Example: geosite services edit Maps/Roads --set properties.maxRecordCount=500
    --set description="Roads of the county"
    """
    if not assignments and from_file is None:
        raise Failure("Give --set KEY=VALUE (one or more) or --file.", EXIT_USAGE)
    site = connect(ctx)
    ref = site.services.find(service)
    if from_file is not None:
        try:
            definition = json.load(from_file)
        except ValueError as exc:
            raise Failure(f"--file is not JSON: {exc}", EXIT_USAGE) from None
        if not isinstance(definition, dict):
            raise Failure("--file must hold a JSON object.", EXIT_USAGE)
    else:
        definition = site.services.get(ref)
    known = sorted(definition)
    for text in assignments:
        path, value = _assignment(text)
        if path[0] not in definition:
            raise Failure(
                f"Unknown key {path[0]!r} for {ref.path}: nothing changed. "
                f"Known keys: {', '.join(known)}.",
                EXIT_USAGE,
            )
        target = definition
        for part in path[:-1]:
            inner = target.get(part)
            if not isinstance(inner, dict):
                inner = target[part] = {}
            target = inner
        target[path[-1]] = value
    site.services.replace(ref, definition)
    if as_json:
        print_json(site.services.get(ref))
    else:
        err().print(f"{ref.path}: edited.")


def _target(site: Site, text: str) -> ServiceRef | str:
    """A service ([folder/]name[.type]), or a folder when the text ends with '/'."""
    if text.endswith("/") or not text.strip():
        folder = text.strip().strip("/")
        if not folder:
            return ""
        for name in site.services.folders():
            if name.lower() == folder.lower():
                return name
        raise Failure(f"Folder '{folder}' does not exist.", EXIT_NOT_FOUND)
    return site.services.find(text)


def _shown(target: ServiceRef | str) -> str:
    if isinstance(target, ServiceRef):
        return target.path
    return f"{target}/" if target else "the root folder"


@services.command("permissions")
@click.argument("target")
@json_option
@click.pass_context
def permissions(ctx: click.Context, target: str, as_json: bool) -> None:
    """List the roles allowed (or denied) access to a service or a folder.

    TARGET is a service, [folder/]name[.type], or a folder with a trailing slash: 'Maps/'
    ('/' for the root folder). The role esriEveryone stands for everyone: a service it may
    access is public.

    Example: geosite services permissions Maps/Roads
    """
    site = connect(ctx)
    chosen = _target(site, target)
    found = site.services.permissions(chosen)
    if as_json:
        print_json(found)
        return
    print_table(
        ("principal", "access"),
        (
            (
                p.get("principal"),
                "allowed" if (p.get("permission") or {}).get("isAllowed") else "denied",
            )
            for p in found
        ),
        empty=f"No permissions on {_shown(chosen)}: only administrators and its owner see it.",
    )


@services.command("grant")
@click.argument("target")
@click.argument("roles", nargs=-1, required=True)
@click.option("--deny", is_flag=True, help="Deny the roles access instead of allowing it.")
@click.pass_context
def grant(ctx: click.Context, target: str, roles: tuple[str, ...], deny: bool) -> None:
    """Allow roles access to a service or a folder (esriEveryone: make it public).

    TARGET is a service, [folder/]name[.type], or a folder with a trailing slash: 'Maps/'
    ('/' for the root folder).

    Example: geosite services grant Maps/Roads viewers esriEveryone
    """
    site = connect(ctx)
    chosen = _target(site, target)
    for role in roles:
        site.services.grant(chosen, role, allowed=not deny)
    verb = "denied" if deny else "allowed"
    click.echo(f"{', '.join(roles)} {verb} access to {_shown(chosen)}.")


@services.command("revoke")
@click.argument("target")
@click.argument("roles", nargs=-1, required=True)
@click.pass_context
def revoke(ctx: click.Context, target: str, roles: tuple[str, ...]) -> None:
    """Remove roles' permissions on a service or a folder.

    TARGET is a service, [folder/]name[.type], or a folder with a trailing slash: 'Maps/'
    ('/' for the root folder).

    Example: geosite services revoke Maps/Roads esriEveryone
    """
    site = connect(ctx)
    chosen = _target(site, target)
    for role in roles:
        site.services.revoke(chosen, role)
    click.echo(f"Permissions of {', '.join(roles)} on {_shown(chosen)} removed.")
