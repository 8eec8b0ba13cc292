"""``Site``: a logged-in connection to a site's Administrator API and token service."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

from geosite.client._errors import ClientError, InvalidToken, raise_for_envelope

_RENEW_MARGIN_S = 120


def site_root(url: str) -> str:
    """``scheme://host[:port]/<context>`` from any URL of a site (``.../arcgis/admin``...)."""
    parsed = httpx.URL(url)
    if not parsed.scheme or not parsed.host:
        raise ClientError(f"Not a site URL: {url!r}")
    segments = [s for s in parsed.path.split("/") if s]
    context = segments[0] if segments else "arcgis"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}/{context}"


class Site:
    """A connection that gets a token, renews it before it expires and once on a 498."""

    def __init__(
        self, url: str, username: str, password: str, *, verify: bool = True, timeout: float = 120.0
    ) -> None:
        self.root = site_root(url)
        self._username, self._password = username, password
        self._http = httpx.Client(verify=verify, timeout=timeout)
        self._token = ""
        self._expires_s = 0.0
        self.token_url = self._token_service()

    @classmethod
    def connect(cls, url: str, username: str, password: str, *, verify: bool = True) -> Site:
        """Connect and log in (the token service is found from ``<root>/rest/info``)."""
        site = cls(url, username, password, verify=verify)
        try:
            site.login()
        except BaseException:
            site.close()
            raise
        return site

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def __enter__(self) -> Site:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _token_service(self) -> str:
        try:
            info = self._http.get(self.root + "/rest/info", params={"f": "json"}).json()
            return str(info["authInfo"]["tokenServicesUrl"])
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return self.root + "/tokens/generateToken"

    def login(self) -> None:
        """Get a new token."""
        try:
            answer = self._http.post(
                self.token_url,
                data={
                    "username": self._username,
                    "password": self._password,
                    "client": "requestip",
                    "expiration": "60",
                    "f": "json",
                },
            )
        except httpx.HTTPError as exc:
            raise ClientError(f"Cannot reach {self.token_url}: {exc}") from None
        body = answer.json()
        raise_for_envelope(body)
        self._token = str(body["token"])
        expires = body.get("expires")
        self._expires_s = int(expires) / 1000 if expires else time.time() + 3600

    def _auth(self) -> dict[str, str]:
        if not self._token or time.time() > self._expires_s - _RENEW_MARGIN_S:
            self.login()
        return {"X-Esri-Authorization": f"Bearer {self._token}"}

    def request(
        self,
        path: str,
        data: dict[str, Any] | None = None,
        files: dict[str, Any] | None = None,
        *,
        method: str = "POST",
    ) -> Any:
        """Call a resource below the site root (``admin/machines``...) and return its JSON."""
        url = f"{self.root}/{path.lstrip('/')}"
        payload = {"f": "json", **(data or {})}
        for attempt in (1, 2):
            try:
                if method == "GET":
                    answer = self._http.get(url, params=payload, headers=self._auth())
                else:
                    answer = self._http.post(url, data=payload, files=files, headers=self._auth())
            except httpx.HTTPError as exc:
                raise ClientError(f"Request to {url} failed: {exc}") from None
            try:
                body = answer.json()
            except ValueError:
                raise ClientError(f"{url} answered HTTP {answer.status_code}, not JSON.") from None
            try:
                raise_for_envelope(body)
            except InvalidToken:
                if attempt == 2:
                    raise
                self.login()
                continue
            return body
        raise ClientError("unreachable")

    def upload(self, path: Path, description: str = "") -> dict[str, Any]:
        """Upload a file (``admin/uploads/upload``) and return the item."""
        with open(path, "rb") as handle:
            body = self.request(
                "admin/uploads/upload",
                {"description": description},
                files={"itemFile": (path.name, handle)},
            )
        return dict(body["item"])

    def create_service(self, definition: dict[str, Any], folder: str = "") -> dict[str, Any]:
        """Publish (``admin/services/createService``)."""
        where = (
            f"admin/services/{folder}/createService" if folder else ("admin/services/createService")
        )
        return dict(self.request(where, {"service": json.dumps(definition)}))
