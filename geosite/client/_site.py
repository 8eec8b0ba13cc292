"""``Site``: a connection to a site's Administrator API, with a resource for each part of it."""

from __future__ import annotations

import json
from typing import Any

import httpx

from geosite.client._errors import ServerError
from geosite.client._jobs import Jobs
from geosite.client._logs import Logs
from geosite.client._resources import Clusters, Data, Machines, Uploads, UsageReports
from geosite.client._security import Roles, Security, Users
from geosite.client._services import Services
from geosite.client._session import Session, Token, site_root


class Site:
    """A site: ``site.services``, ``site.logs``, ``site.users`` ... over one ``Session``.

    Works against geosite and against ArcGIS Server. Use ``Site.connect`` to log in with a
    user name and password (tokens are then renewed as needed), or ``Site.from_token`` to use
    a token got elsewhere (``LoginRequired`` is raised once it expires).
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.uploads = Uploads(session)
        self.jobs = Jobs(session)
        self.services = Services(session, self.uploads, self.jobs)
        self.machines = Machines(session)
        self.clusters = Clusters(session)
        self.logs = Logs(session)
        self.users = Users(session)
        self.roles = Roles(session)
        self.security = Security(session)
        self.data = Data(session)
        self.usage_reports = UsageReports(session)

    @property
    def root(self) -> str:
        """``scheme://host:port/arcgis``."""
        return self.session.root

    @classmethod
    def connect(
        cls,
        url: str,
        username: str,
        password: str,
        *,
        verify: bool = True,
        expiration: int = 60,
        timeout: float = 120.0,
        retries: int = 3,
        transport: httpx.BaseTransport | None = None,
    ) -> Site:
        """Log in (the token service is found from ``<root>/rest/info``); ``expiration`` in
        minutes is what the token is asked for (the site may give less)."""
        session = Session(
            url,
            username=username,
            password=password,
            expiration_min=expiration,
            verify=verify,
            timeout=timeout,
            retries=retries,
            transport=transport,
        )
        try:
            session.login()
        except BaseException:
            session.close()
            raise
        return cls(session)

    @classmethod
    def from_token(
        cls,
        url: str,
        token: str,
        expires_ms: int,
        *,
        verify: bool = True,
        timeout: float = 120.0,
        retries: int = 3,
    ) -> Site:
        """Use a token got earlier (``geosite login`` stores one); no renewal without a password."""
        session = Session(
            url,
            token=Token(token, expires_ms / 1000),
            verify=verify,
            timeout=timeout,
            retries=retries,
        )
        return cls(session)

    @classmethod
    def anonymous(cls, url: str, *, verify: bool = True, timeout: float = 120.0) -> Site:
        """A connection without credentials (health checks, public services)."""
        return cls(Session(url, verify=verify, timeout=timeout))

    def close(self) -> None:
        """Close the HTTP connections."""
        self.session.close()

    def __enter__(self) -> Site:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the site ---------------------------------------------------------------------------

    def health(self) -> bool:
        """Whether the machine answering is healthy (``rest/info/healthCheck``, no token)."""
        try:
            answer = self.session.get_json("rest/info/healthCheck", authenticate=False)
        except ServerError:
            return False
        return bool(answer.get("success")) if isinstance(answer, dict) else False

    def info(self) -> dict[str, Any]:
        """``rest/info``: version and where the token service is (no token needed)."""
        return dict(self.session.get_json("rest/info", authenticate=False))

    def admin(self) -> dict[str, Any]:
        """The Administrator API's root resource (``resources``, ``currentVersion`` ...)."""
        return dict(self.session.get_json("admin/"))

    def request(
        self,
        path: str,
        data: dict[str, Any] | None = None,
        *,
        method: str = "POST",
    ) -> Any:
        """Call any resource or operation below the site root and return its JSON."""
        if method.upper() == "GET":
            return self.session.get_json(path, data)
        return self.session.post_json(path, data)

    @staticmethod
    def create_site(
        url: str,
        username: str,
        password: str,
        *,
        config_store: dict[str, Any] | None = None,
        directories: list[dict[str, Any]] | None = None,
        log_settings: dict[str, Any] | None = None,
        verify: bool = True,
        timeout: float = 600.0,
    ) -> dict[str, Any]:
        """``createNewSite`` on a machine that belongs to no site yet (no token needed)."""
        params: dict[str, Any] = {"username": username, "password": password}
        if config_store is not None:
            params["configStoreConnection"] = json.dumps(config_store)
        if directories is not None:
            params["directories"] = json.dumps({"directories": directories})
        if log_settings is not None:
            params["logSettings"] = json.dumps(log_settings)
        root = site_root(url)
        with Session(root, verify=verify, timeout=timeout, retries=0) as session:
            answer = session.request("POST", "admin/createNewSite", params, authenticate=False)
            return dict(answer.json())

    # -- backups ----------------------------------------------------------------------------

    def backup(self, location: str = "") -> str:
        """``exportSite``: back the site up to a file on the server; the file's path.

        ``location`` is a folder on the server (geosite: inside one of its server directories;
        empty: the site's backups folder).
        """
        answer = self.session.post_json("admin/exportSite", {"location": location})
        return str(answer.get("location", ""))

    def restore(self, location: str) -> dict[str, Any]:
        """``importSite``: put the site back to the backup file at ``location`` (on the
        server); returns the site's report."""
        return dict(self.session.post_json("admin/importSite", {"location": location}))
