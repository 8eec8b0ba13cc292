"""``geosite serve --join URL --user NAME``: join a site as soon as this machine listens.

The machine starts with no site and asks itself to ``joinSite`` over loopback, exactly as a
script would: the same checks and the same answer. When the join fails, the reason is shown
and the server stops: with status 78 when the site refused it (a service manager should not
retry with the same wrong password and lock the account), 1 when it could not be reached.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import click
import httpx

from geosite.client._errors import envelope_error
from geosite.settings import Settings

#: The exit status of a join the site refused (wrong credentials, not a site, a machine of
#: that name there already): EX_CONFIG. A site that cannot be reached exits with 1.
REFUSED = 78
#: How long to wait for this machine's own listener, and for the join to complete.
_WAIT_S = 60.0
_JOIN_TIMEOUT_S = 120.0


class Joiner:
    """Joins the site in a thread once the server listens; ``failed`` tells how it went."""

    def __init__(self, settings: Settings, admin_url: str, user: str, password: str) -> None:
        #: The exit status when the join failed: ``REFUSED`` when the site answered no (a
        #: service manager should not retry: see ``RestartPreventExitStatus``), 1 otherwise.
        self.status = 0
        self._settings = settings
        self._data = {"adminURL": admin_url, "username": user, "password": password, "f": "json"}
        self._thread = threading.Thread(target=self._run, name="geosite-join", daemon=True)

    def start(self) -> None:
        """Start joining in the background."""
        self._thread.start()

    def _local_url(self) -> str:
        settings = self._settings
        host = settings.host if settings.host not in ("0.0.0.0", "::", "") else "127.0.0.1"  # noqa: S104
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{settings.port}{settings.context_path}/admin/joinSite"

    def _run(self) -> None:
        deadline = time.monotonic() + _WAIT_S
        reason = "this machine did not start listening"
        status = 1
        while time.monotonic() < deadline:
            try:
                answer = httpx.post(
                    self._local_url(), data=self._data, timeout=_JOIN_TIMEOUT_S, trust_env=False
                )
            except httpx.TransportError:
                time.sleep(0.2)
                continue
            try:
                payload = answer.json()
            except ValueError:
                payload = {}
            if isinstance(payload, dict) and payload.get("status") == "success":
                click.echo(f"Joined the site of {self._data['adminURL']}.")
                sys.stdout.flush()
                return
            error = envelope_error(payload)
            if error is not None:
                reason = " ".join(error.messages)
                status = 1 if "cannot be reached" in reason else REFUSED
            else:
                reason = f"HTTP {answer.status_code}"
            break
        click.echo(f"geosite: could not join the site: {reason}", err=True)
        sys.stderr.flush()
        self.status = status
        os.kill(os.getpid(), signal.SIGTERM)


def join_password(user: str | None) -> str:
    """The password for ``--join``: ``GEOSITE_JOIN_PASSWORD``, else asked for on a terminal."""
    password = os.environ.get("GEOSITE_JOIN_PASSWORD")
    if password:
        return password
    if not user:
        raise click.BadParameter("--join needs --user, an administrator of the site.")
    if not sys.stdin.isatty():
        raise click.BadParameter(
            "give the password of --user in GEOSITE_JOIN_PASSWORD (no terminal to ask on).",
            param_hint="--join",
        )
    return str(click.prompt(f"Password of {user}", hide_input=True))
