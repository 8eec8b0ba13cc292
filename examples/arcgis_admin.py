"""What every example script needs: a token, and POSTs to the Administrator API.

Written as an administrator would for any ArcGIS Server: standard library plus httpx, a token
from ``/arcgis/admin/generateToken`` (``client=requestip``), every call a POST with ``f=json``,
and an error check on ``"status": "error"`` (ArcGIS answers errors with HTTP 200).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Iterator
from typing import Any

import httpx


class AdminError(Exception):
    """The server answered with an error envelope."""


def arguments(description: str) -> argparse.ArgumentParser:
    """The options every script takes: where the server is and who signs in."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--url", default="http://localhost:6080/arcgis", help="site URL")
    parser.add_argument("--user", default=os.environ.get("ARCGIS_USER", "siteadmin"))
    parser.add_argument(
        "--password", default=os.environ.get("ARCGIS_PASSWORD"), help="or $ARCGIS_PASSWORD"
    )
    parser.add_argument(
        "--insecure", action="store_true", help="accept a self-signed HTTPS certificate"
    )
    return parser


class Admin:
    """A signed-in connection to ``<url>/admin``."""

    def __init__(self, url: str, user: str, password: str | None, insecure: bool = False):
        self.base = url.rstrip("/") + "/admin"
        self.client = httpx.Client(verify=not insecure, timeout=120)
        if password is None:
            password = getpass.getpass(f"Password for {user}: ")
        answer = self._send(
            "/generateToken",
            {"username": user, "password": password, "client": "requestip"},
        )
        self.token = str(answer["token"])

    def _send(self, path: str, data: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post(self.base + path, data={**data, "f": "json"})
        if response.status_code != 200:
            raise AdminError(f"{path}: HTTP {response.status_code}")
        answer: dict[str, Any] = response.json()
        if answer.get("status") == "error":
            raise AdminError(f"{path}: {' '.join(answer.get('messages', []))}")
        return answer

    def post(self, path: str, **data: Any) -> dict[str, Any]:
        """POST an Administrator API resource or operation with the token."""
        return self._send(path, {**data, "token": self.token})

    def folders(self) -> list[str]:
        """Every folder, the root first as "" (the default folders System and Utilities left
        out, as Esri's samples do)."""
        names = self.post("/services")["folders"]
        return ["", *(n for n in names if n.lower() not in ("system", "utilities"))]

    def services(self, folder: str) -> list[dict[str, Any]]:
        """The services of a folder ("" or "ROOT" for the root)."""
        path = "/services" if folder.upper() in ("", "ROOT", "/") else f"/services/{folder}"
        return list(self.post(path)["services"])

    def log_messages(self, **query: Any) -> Iterator[dict[str, Any]]:
        """Every record ``logs/query`` finds, newest first, page after page (``hasMore``:
        the next page starts at the answer's ``endTime``)."""
        while True:
            page = self.post("/logs/query", **query)
            yield from page["logMessages"]
            if not page["hasMore"]:
                return
            query = {**query, "startTime": page["endTime"]}

    @staticmethod
    def service_path(service: dict[str, Any]) -> str:
        """``/services/[folder/]name.type`` of a listed service."""
        folder = service.get("folderName") or "/"
        prefix = "/services" if folder == "/" else f"/services/{folder}"
        return f"{prefix}/{service['serviceName']}.{service['type']}"


def fail(message: str) -> None:
    """Print an error and exit with status 1."""
    print(message, file=sys.stderr)
    raise SystemExit(1)
