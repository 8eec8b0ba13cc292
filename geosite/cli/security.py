"""``geosite security``: the security configuration, token policy and password policy."""

from __future__ import annotations

from typing import Any

import click

from geosite.cli._common import (
    EXIT_USAGE,
    Failure,
    Group,
    connect,
    json_option,
    print_json,
    print_table,
)
from geosite.client import Site

#: What ``edit --set`` may change, by section (the names the Administrator API uses).
KNOWN: dict[str, tuple[str, ...]] = {
    "config": ("sslEnabled", "httpEnabled", "allowedAdminAccessProtocol", "allowedAdminAccessIPs"),
    "tokens": ("shortTimeout", "longTimeout", "allowHttpGet"),
    "passwordPolicy": ("type", "minLength", "minUpper", "minLower", "minDigit", "minOther"),
}


@click.group(cls=Group)
def security() -> None:
    """Show and change the security settings: HTTPS and administrator access, tokens and
    passwords.

    Example: geosite security edit --set tokens.shortTimeout=30
    """


def _settings(site: Site) -> dict[str, dict[str, Any]]:
    config = site.security.config()
    return {
        "config": {key: config.get(key) for key in KNOWN["config"]},
        "tokens": site.security.token_policy(),
        "passwordPolicy": site.security.password_policy(),
    }


@security.command("show")
@json_option
@click.pass_context
def show(ctx: click.Context, as_json: bool) -> None:
    """Show the security settings ('edit --set' takes the names of the first column).

    Example: geosite security show
    """
    settings = _settings(connect(ctx))
    if as_json:
        print_json(settings)
        return
    print_table(
        ("setting", "value"),
        (
            (f"{section}.{key}", value)
            for section, values in settings.items()
            for key, value in values.items()
        ),
    )


def _known() -> str:
    return ", ".join(f"{section}.{key}" for section, keys in KNOWN.items() for key in keys)


def _assignment(text: str) -> tuple[str, str, str]:
    name, sep, value = text.partition("=")
    section, dot, key = name.strip().partition(".")
    if not sep or not dot:
        raise Failure(f"--set expects SECTION.KEY=VALUE, not {text!r}.", EXIT_USAGE)
    for known_section, keys in KNOWN.items():
        if section.lower() == known_section.lower():
            for known_key in keys:
                if key.lower() == known_key.lower():
                    return known_section, known_key, value.strip()
    raise Failure(
        f"Unknown setting {name.strip()!r}: nothing changed. Known settings: {_known()}.",
        EXIT_USAGE,
    )


@security.command("edit")
@click.option(
    "--set",
    "assignments",
    multiple=True,
    required=True,
    metavar="SECTION.KEY=VALUE",
    help="A setting to change (repeatable): config.sslEnabled, config.httpEnabled, "
    "config.allowedAdminAccessProtocol (HTTP_AND_HTTPS or HTTPS), config.allowedAdminAccessIPs "
    "(comma-separated addresses or networks), tokens.shortTimeout and tokens.longTimeout "
    "(minutes), tokens.allowHttpGet, passwordPolicy.minLength, .minUpper, .minLower, "
    ".minDigit, .minOther, passwordPolicy.type=default (the default policy back).",
)
@json_option
@click.pass_context
def edit(ctx: click.Context, assignments: tuple[str, ...], as_json: bool) -> None:
    """Change security settings; each section is changed in one request, and every setting
    is checked before any is sent.

    The site refuses an administrator address list that would lock out the address the
    request comes from.

    Example: geosite security edit --set config.sslEnabled=true --set config.httpEnabled=false
    """
    changes: dict[str, dict[str, str]] = {}
    for text in assignments:
        section, key, value = _assignment(text)
        changes.setdefault(section, {})[key] = value
    site = connect(ctx)
    if "passwordPolicy" in changes:
        site.security.update_password_policy(**changes["passwordPolicy"])
    if "tokens" in changes:
        site.security.update_token_policy(**changes["tokens"])
    if "config" in changes:
        site.security.update_config(**changes["config"])
    if as_json:
        print_json(_settings(site))
    else:
        names = ", ".join(f"{s}.{k}" for s, values in changes.items() for k in values)
        click.echo(f"Changed {names}.")
