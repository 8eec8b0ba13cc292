"""``geosite users`` and ``geosite roles``: the site's built-in user and role stores."""

from __future__ import annotations

import click

from geosite.cli._common import (
    EXIT_NOT_FOUND,
    EXIT_USAGE,
    Failure,
    Group,
    connect,
    exit_code,
    json_option,
    print_json,
    print_table,
    read_password,
)
from geosite.client import ClientError, NotFound

PRIVILEGES = ("ADMINISTER", "PUBLISH", "ACCESS")


@click.group(cls=Group)
def users() -> None:
    """List, add and remove users; put them in roles.

    Example: geosite users ls
    """


@users.command("ls")
@json_option
@click.pass_context
def list_users(ctx: click.Context, as_json: bool) -> None:
    """List the users.

    Example: geosite users ls --json
    """
    found = list(connect(ctx).users.list())
    if as_json:
        print_json(found)
        return
    print_table(
        ("user", "full name", "email", "description"),
        (
            (u.get("username"), u.get("fullname"), u.get("email"), u.get("description"))
            for u in found
        ),
        empty="No users.",
    )


@users.command("add")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--fullname", default="", help="The user's full name.")
@click.option("--email", default="", help="The user's email address.")
@click.option("--description", default="", help="A description.")
@click.option("--role", "roles", multiple=True, help="A role to put the user in (repeatable).")
@click.pass_context
def add_user(
    ctx: click.Context,
    username: str,
    password_stdin: bool,
    fullname: str,
    email: str,
    description: str,
    roles: tuple[str, ...],
) -> None:
    """Add a user (the password is asked for, or read with --password-stdin).

    Nothing changes when any part fails: the roles are checked first, and the user is removed
    again if putting it in them fails.

    Example: echo "$PASSWORD" | geosite users add jdoe --password-stdin --role editors
    """
    password = read_password(password_stdin, f"Password for {username}", missing=EXIT_USAGE)
    site = connect(ctx)
    for role in roles:
        try:
            site.roles.privilege(role)
        except NotFound:
            raise Failure(
                f"Role {role} does not exist: user {username} not added.", EXIT_NOT_FOUND
            ) from None
    site.users.add(username, password, fullname=fullname, email=email, description=description)
    if roles:
        try:
            site.users.assign_roles(username, roles)
        except ClientError as exc:
            try:
                site.users.remove(username)
            except ClientError as undo:
                raise Failure(
                    f"{exc}; user {username} was added but could not be removed again: {undo}",
                    exit_code(exc),
                ) from None
            raise Failure(f"{exc}; user {username} not added.", exit_code(exc)) from None
    click.echo(f"User {username} added" + (f" to {', '.join(roles)}." if roles else "."))


@users.command("remove")
@click.argument("username")
@click.pass_context
def remove_user(ctx: click.Context, username: str) -> None:
    """Remove a user.

    Example: geosite users remove jdoe
    """
    connect(ctx).users.remove(username)
    click.echo(f"User {username} removed.")


@users.command("roles")
@click.argument("username")
@json_option
@click.pass_context
def user_roles(ctx: click.Context, username: str, as_json: bool) -> None:
    """Show the roles a user is in and the privilege they give.

    Example: geosite users roles jdoe
    """
    site = connect(ctx)
    found = {
        "username": username,
        "roles": site.users.roles(username),
        "privilege": site.users.privilege(username),
    }
    if as_json:
        print_json(found)
        return
    print_table(
        ("user", "roles", "privilege"),
        [(username, ", ".join(found["roles"]) or "-", found["privilege"])],
    )


@users.command("assign")
@click.argument("username")
@click.argument("roles", nargs=-1, required=True)
@click.pass_context
def assign(ctx: click.Context, username: str, roles: tuple[str, ...]) -> None:
    """Put a user in roles.

    Example: geosite users assign jdoe editors viewers
    """
    connect(ctx).users.assign_roles(username, roles)
    click.echo(f"User {username} added to {', '.join(roles)}.")


@users.command("unassign")
@click.argument("username")
@click.argument("roles", nargs=-1, required=True)
@click.pass_context
def unassign(ctx: click.Context, username: str, roles: tuple[str, ...]) -> None:
    """Take a user out of roles.

    Example: geosite users unassign jdoe viewers
    """
    connect(ctx).users.remove_roles(username, roles)
    click.echo(f"User {username} removed from {', '.join(roles)}.")


@users.command("password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_context
def password(ctx: click.Context, username: str, password_stdin: bool) -> None:
    """Set a user's password (its tokens stop working).

    Example: geosite users password jdoe
    """
    new = read_password(password_stdin, f"New password for {username}", missing=EXIT_USAGE)
    connect(ctx).users.change_password(username, new)
    click.echo(f"Password of {username} changed.")


@click.group(cls=Group)
def roles() -> None:
    """List, add and remove roles; give them privileges and members.

    Example: geosite roles add editors --privilege PUBLISH
    """


@roles.command("ls")
@json_option
@click.pass_context
def list_roles(ctx: click.Context, as_json: bool) -> None:
    """List the roles with their privileges.

    Example: geosite roles ls
    """
    site = connect(ctx)
    found = [
        {**r, "privilege": site.roles.privilege(str(r["rolename"]))} for r in site.roles.list()
    ]
    if as_json:
        print_json(found)
        return
    print_table(
        ("role", "privilege", "description"),
        ((r.get("rolename"), r["privilege"], r.get("description")) for r in found),
        empty="No roles.",
    )


@roles.command("add")
@click.argument("rolename")
@click.option(
    "--privilege",
    type=click.Choice(PRIVILEGES, case_sensitive=False),
    default="ACCESS",
    show_default=True,
)
@click.option("--description", default="", help="A description.")
@click.pass_context
def add_role(ctx: click.Context, rolename: str, privilege: str, description: str) -> None:
    """Add a role.

    Example: geosite roles add editors --privilege PUBLISH
    """
    connect(ctx).roles.add(rolename, description, privilege.upper())
    click.echo(f"Role {rolename} added with privilege {privilege.upper()}.")


@roles.command("remove")
@click.argument("rolename")
@click.pass_context
def remove_role(ctx: click.Context, rolename: str) -> None:
    """Remove a role.

    Example: geosite roles remove editors
    """
    connect(ctx).roles.remove(rolename)
    click.echo(f"Role {rolename} removed.")


@roles.command("grant")
@click.argument("rolename")
@click.argument("privilege", type=click.Choice(PRIVILEGES, case_sensitive=False))
@click.pass_context
def grant(ctx: click.Context, rolename: str, privilege: str) -> None:
    """Give a role a privilege (ADMINISTER, PUBLISH or ACCESS).

    Example: geosite roles grant editors PUBLISH
    """
    connect(ctx).roles.assign_privilege(rolename, privilege)
    click.echo(f"Role {rolename} now has privilege {privilege.upper()}.")


@roles.command("members")
@click.argument("rolename")
@json_option
@click.pass_context
def members(ctx: click.Context, rolename: str, as_json: bool) -> None:
    """List the users in a role.

    Example: geosite roles members editors
    """
    found = connect(ctx).roles.users(rolename)
    if as_json:
        print_json(found)
        return
    print_table(("user",), ((u,) for u in found), empty=f"No users in {rolename}.")


@roles.command("add-users")
@click.argument("rolename")
@click.argument("usernames", nargs=-1, required=True)
@click.pass_context
def add_users(ctx: click.Context, rolename: str, usernames: tuple[str, ...]) -> None:
    """Put users in a role.

    Example: geosite roles add-users editors jdoe asmith
    """
    connect(ctx).roles.add_users(rolename, usernames)
    click.echo(f"{len(usernames)} user(s) added to {rolename}.")


@roles.command("remove-users")
@click.argument("rolename")
@click.argument("usernames", nargs=-1, required=True)
@click.pass_context
def remove_users(ctx: click.Context, rolename: str, usernames: tuple[str, ...]) -> None:
    """Take users out of a role.

    Example: geosite roles remove-users editors jdoe
    """
    connect(ctx).roles.remove_users(rolename, usernames)
    click.echo(f"{len(usernames)} user(s) removed from {rolename}.")
