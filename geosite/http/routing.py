"""Declarative route tables: each resource and operation is one ``Endpoint`` row.

A row names its path pattern, its handler (a plain function of a ``Call`` that returns a
dict), whether it is a resource (GET and POST) or an operation (POST, with an HTML form on
GET), the privilege it needs, and what the Administrator Directory shows about it: child
resources, operations and the parameters of its form.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from geosite.core.models import Principal, Privilege
from geosite.errors import GeositeError
from geosite.http.params import Params

if TYPE_CHECKING:
    from geosite.http.state import AppState

RESOURCE = "resource"
OPERATION = "operation"


@dataclass(frozen=True)
class Field:
    """One input of an operation's HTML form."""

    name: str
    label: str = ""
    kind: Literal["text", "password", "textarea", "select", "number", "file"] = "text"
    options: Sequence[str] = ()
    required: bool = False
    default: str = ""


@dataclass
class Call:
    """Everything a handler may use about the request, already parsed."""

    state: AppState
    params: Params
    args: dict[str, str]
    principal: Principal | None
    client_ip: str
    referer: str
    scheme: str
    host: str
    method: str
    path: str
    request_id: str
    csrf_token: str = ""
    #: The token when it came as the ``token`` parameter: the HTML pages carry it on in their
    #: links and forms, as the ArcGIS Administrator Directory does.
    token_param: str = ""
    #: The answer's format (``json``, ``pjson``, ``html`` or one of the endpoint's own).
    fmt: str = "json"
    #: Why a token sent to a public endpoint was refused (expired, tampered...): a private
    #: service answers with it instead of "token required".
    token_error: GeositeError | None = None
    #: Set by the handler once it found the service the request is for (its statistics).
    service_key: str = ""
    #: The path the site answers under on this machine (``/arcgis``).
    context_path: str = "/arcgis"
    #: The site's ``WebContextURL`` when one is set (``https://gis.example.com/server``).
    web_context_url: str = ""

    @property
    def site_url(self) -> str:
        """The site's URL as clients should use it: ``WebContextURL``, or as addressed."""
        return self.web_context_url or f"{self.scheme}://{self.host}{self.context_path}"

    @property
    def site_path(self) -> str:
        """The path part of ``site_url`` (``/arcgis``, or ``/server`` behind a web adaptor)."""
        return urlsplit(self.site_url).path.rstrip("/")

    @property
    def is_https(self) -> bool:
        """Whether the request came over TLS."""
        return self.scheme == "https"


@dataclass
class Reply:
    """A handler answer that needs more than a dict: cookies, a redirect or a special page."""

    payload: dict[str, Any] = field(default_factory=dict)
    redirect: str | None = None
    set_cookie: tuple[str, int] | None = None  # (token, max_age_s)
    clear_cookie: bool = False
    template: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    #: A finished body in another format (``f=csv``), with its media type.
    body: bytes | None = None
    media_type: str = ""
    #: A file sent as a download (streamed, ``Content-Disposition: attachment``).
    file: Path | None = None


Handler = Callable[[Call], "dict[str, Any] | Reply"]
#: Child resources: names, or (name, label) pairs when the link text says more (a state).
Children = Callable[[Call, dict[str, Any]], Sequence["str | tuple[str, str]"]]


@dataclass(frozen=True)
class Endpoint:
    """One resource or operation of the API."""

    pattern: str
    handler: Handler
    kind: str = RESOURCE
    privilege: Privilege | None = Privilege.ADMINISTER
    needs_site: bool = True
    title: str = ""
    children: Sequence[str] | Children = ()
    operations: Sequence[str] = ()
    fields: Sequence[Field] = ()
    allow_get: bool = False
    description: str = ""
    #: Whether the operation takes files (multipart), up to the upload size limit.
    accepts_files: bool = False
    #: Formats this endpoint answers beyond html, json and pjson (``geojson`` for queries).
    formats: Sequence[str] = ()
    #: CPU-bound work that holds the GIL for long (feature queries): run one at a time per
    #: process, on one thread of its own, so that threads do not fight over the GIL (each
    #: process has a core) and its database connections stay warm.
    serial: bool = False
    #: Also open without a token to the addresses of ``--metrics-addresses`` (Prometheus).
    scrapers: bool = False
    #: Values to fill an operation's form with, from the resource (e.g. the service JSON on
    #: a service's ``edit`` page).
    form_values: Callable[[Call], dict[str, str]] | None = None

    def child_links(self, call: Call, payload: dict[str, Any]) -> list[tuple[str, str]]:
        """(name, label) of the child resources to link from the HTML page."""
        items = self.children(call, payload) if callable(self.children) else self.children
        return [(item, item) if isinstance(item, str) else item for item in items]


@dataclass(frozen=True)
class Match:
    """A matched endpoint with the values of its ``{placeholders}``."""

    endpoint: Endpoint
    args: dict[str, str]


class Router:
    """Match normalised paths against a table; static segments ignore case, as ArcGIS does."""

    def __init__(self, endpoints: Sequence[Endpoint]) -> None:
        self.endpoints = list(endpoints)
        self._compiled = [(self._compile(e.pattern), e) for e in self.endpoints]

    @staticmethod
    def _compile(pattern: str) -> re.Pattern[str]:
        parts = []
        for segment in pattern.strip("/").split("/"):
            if not segment:
                continue
            if segment.startswith("{") and segment.endswith("}") and segment.count("{") == 1:
                parts.append(f"(?P<{segment[1:-1]}>[^/]+)")
            elif "{" in segment:  # e.g. {service}.{type}: each part stops at a dot
                pieces = re.split(r"(\{\w+\})", segment)
                parts.append(
                    "".join(
                        f"(?P<{piece[1:-1]}>[^/.]+)" if piece.startswith("{") else re.escape(piece)
                        for piece in pieces
                    )
                )
            else:
                parts.append(re.escape(segment))
        return re.compile("^/" + "/".join(parts) + "$", re.IGNORECASE)

    def match(self, path: str) -> Match | None:
        """The endpoint for ``path`` (no trailing slash), or None."""
        for regex, endpoint in self._compiled:
            found = regex.match(path)
            if found:
                return Match(endpoint, found.groupdict())
        return None
