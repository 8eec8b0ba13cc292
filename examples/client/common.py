"""What the client examples share: the site's URL and credentials from the command line."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable

from geosite.client import ClientError, Site


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with --url, --user, --password and --insecure."""
    found = argparse.ArgumentParser(description=description)
    found.add_argument("--url", default="http://localhost:6080/arcgis", help="the site")
    found.add_argument("--user", default=os.environ.get("ARCGIS_USER", "siteadmin"))
    found.add_argument("--password", default=os.environ.get("ARCGIS_PASSWORD"))
    found.add_argument("--insecure", action="store_true", help="accept a self-signed certificate")
    return found


def connect(args: argparse.Namespace) -> Site:
    """Log in (the password is asked for when not given)."""
    password = args.password or getpass.getpass(f"Password for {args.user}: ")
    return Site.connect(args.url, args.user, password, verify=not args.insecure)


def run(main: Callable[[], int]) -> None:
    """Run a script's ``main`` and exit with its code; a site's error is printed, code 1."""
    try:
        code = main()
    except ClientError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        code = 1
    sys.exit(code)
