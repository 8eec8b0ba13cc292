"""Tokens ``geosite login`` keeps: never a password, in a file only its owner can read.

The file is ``credentials.json`` in the user's config directory (``$GEOSITE_CONFIG_DIR``, else
``click.get_app_dir("geosite")``, which is ``~/.config/geosite`` on Linux), mode 0600 in a
directory of mode 0700. It maps each site root to the user name, token, expiry and whether
TLS certificates are checked, and names the site logged in to last.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import click

FILE_NAME = "credentials.json"


@dataclass(frozen=True)
class Login:
    """One site's stored token."""

    url: str
    username: str
    token: str
    expires: int  # epoch milliseconds
    verify: bool = True

    def expired(self) -> bool:
        """Whether the token's time is up (by this machine's clock)."""
        return time.time() * 1000 >= self.expires


def config_dir() -> Path:
    """Where the CLI keeps its files."""
    chosen = os.environ.get("GEOSITE_CONFIG_DIR")
    return Path(chosen) if chosen else Path(click.get_app_dir("geosite"))


def _path() -> Path:
    return config_dir() / FILE_NAME


def _read() -> dict[str, Any]:
    try:
        data = json.loads(_path().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"current": "", "sites": {}}
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"Cannot read {_path()}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("sites"), dict):
        return {"current": "", "sites": {}}
    return data


def _write(data: dict[str, Any]) -> None:
    folder = config_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = folder / FILE_NAME
    temporary = folder / f".{FILE_NAME}.{os.getpid()}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
        os.chmod(temporary, 0o600)  # whatever the umask or an older file said
        os.replace(temporary, target)
    finally:
        if temporary.exists():
            temporary.unlink()


def save(login: Login) -> Path:
    """Store a login and make its site the current one; returns the file."""
    data = _read()
    data["sites"][login.url] = {k: v for k, v in asdict(login).items() if k != "url"}
    data["current"] = login.url
    _write(data)
    return _path()


def load(url: str | None = None) -> Login | None:
    """The stored login for ``url`` (a site root), or for the current site."""
    data = _read()
    key = url or str(data.get("current") or "")
    found = data["sites"].get(key)
    if not key or not isinstance(found, dict):
        return None
    try:
        return Login(
            url=key,
            username=str(found["username"]),
            token=str(found["token"]),
            expires=int(found["expires"]),
            verify=bool(found.get("verify", True)),
        )
    except (KeyError, TypeError, ValueError):
        return None


def forget(url: str | None = None) -> str | None:
    """Remove a stored login (the current one by default); the site it was for, if any."""
    data = _read()
    key = url or str(data.get("current") or "")
    if key not in data["sites"]:
        return None
    del data["sites"][key]
    if data.get("current") == key:
        data["current"] = next(iter(data["sites"]), "")
    _write(data)
    return key
