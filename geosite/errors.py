"""Domain errors: what went wrong, with no knowledge of HTTP.

Every error carries a stable numeric ``code`` (the ArcGIS code clients switch on) and
``messages``, the public text. Internal detail never goes into ``messages``: a library's own
words (which can name server paths or quote SQL) go into ``private``, which only the log
sees, under the request's id. The HTTP layer (``geosite.http.errors``) alone turns these
into the two ArcGIS envelopes, passing every text through ``redact`` on the way.

Hierarchy::

    GeositeError
    ├── BadRequest (400)
    │   ├── LoginFailed (400)      unknown user, wrong password, locked account: one answer
    │   └── InvalidParameter (400)
    ├── TokenRequired (499)
    ├── InvalidToken (498)         expired, tampered, wrongly bound, revoked
    ├── Forbidden (403)
    ├── NotFound (404)
    │   └── NoSite (404)           this machine participates in no site yet
    ├── MethodNotAllowed (405)
    ├── Conflict (409)
    ├── ServiceNotStarted (500)    a stopped service, in ArcGIS's words
    └── InternalError (500)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any


class GeositeError(Exception):
    """Base of every domain error; ``code`` is the ArcGIS error code.

    ``messages`` and ``details`` are answered; ``private`` (a library's own words, which may
    name server paths or quote SQL) is written to the log only.
    """

    code = 500
    default_message = "Unable to complete operation."
    #: The HTTP status of the JSON answer even where ArcGIS answers errors with 200 (None:
    #: the area's rule), for an error a balancer in front must see.
    http_status: int | None = None

    def __init__(
        self, *messages: str, details: Sequence[str] = (), private: Sequence[str] = ()
    ) -> None:
        self.messages: list[str] = list(messages) or [self.default_message]
        self.details: list[str] = list(details)
        self.private: list[str] = list(private)
        super().__init__(self.messages[0])

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Pickled whole (messages, details, private), whatever the subclass's constructor
        # takes: errors raised in a child process (the isolated importer) cross back intact.
        return _restore, (type(self), self.messages, self.details, self.private)


def _restore(
    kind: type[GeositeError], messages: list[str], details: list[str], private: list[str]
) -> GeositeError:
    error = kind.__new__(kind)
    GeositeError.__init__(error, *messages, details=details, private=private)
    return error


# What an answer must never carry: file-system paths, SQL text, tracebacks.
_ROOTS = "tmp|work|home|root|var|usr|etc|opt|srv|mnt|media|proc|dev|run|data|private|Users|Volumes"
_DATA_SUFFIXES = (
    "gpkg|gpkg-wal|gpkg-shm|shp|shx|dbf|prj|cpg|qix|sbn|sbx|gdb|gdbtable|csv|json|geojson|zip|"
    "db|db-wal|db-shm|sqlite|lock|py|pyc|so|log|tmp|xml|vrt"
)
_PATH_CHARS = r"[^\s'\"()\[\]<>,;|]"
_PATH = re.compile(
    # An absolute path under a system root, or any path with a folder that ends in a data
    # file's name, or a Windows path; \\server\share too.
    rf"(?<![\w:/.])/(?:{_ROOTS})(?:/{_PATH_CHARS}*)+"
    rf"|(?<![\w:/])(?:/|\.{{1,2}}/|{_PATH_CHARS}+/)(?:{_PATH_CHARS}+/)*"
    rf"{_PATH_CHARS}*\.(?i:{_DATA_SUFFIXES})\b"
    r"|\b[A-Za-z]:\\[^\s'\"]*|\\\\[^\s'\"]+"
)
_SQL = re.compile(
    r"\bSELECT\b.*\bFROM\b|\bINSERT\s+INTO\b|\bUPDATE\s+\S+\s+SET\b|\bDELETE\s+FROM\b"
    r"|\b(?:CREATE|DROP|ALTER)\s+(?:TEMP\s+|VIRTUAL\s+)?(?:TABLE|INDEX|VIEW|TRIGGER)\b"
    r"|\bPRAGMA\s+\w+|\bsqlite3_\w+|\bsqlite_master\b|\bconstraint failed\b"
    r"|\bno such (?:table|column)\b|\bnear \".*\": syntax error",
    re.DOTALL,
)
_TRACEBACK = re.compile(r"Traceback \(most recent call last\)|\bFile \"[^\"]*\", line \d+")


def _last_part(found: re.Match[str]) -> str:
    name = re.split(r"[\\/]", found.group(0).rstrip("/\\"))[-1]
    return name or "…"


_URL = re.compile(r"\b(?!file:)[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]*")


def redact(text: str) -> str | None:
    """``text`` as an answer may carry it: file-system paths cut down to their last part
    (``/tmp/x/roads.shx`` becomes ``roads.shx``; web addresses stay); None when it quotes SQL
    or a traceback, of which no part can be shown."""
    if _SQL.search(text) or _TRACEBACK.search(text):
        return None
    parts, start = [], 0
    for url in _URL.finditer(text):
        parts.append(_PATH.sub(_last_part, text[start : url.start()]))
        parts.append(url.group(0))
        start = url.end()
    parts.append(_PATH.sub(_last_part, text[start:]))
    return "".join(parts)


def is_public(text: str) -> bool:
    """Whether ``text`` holds no file-system path, SQL or traceback."""
    return redact(text) == text


class BadRequest(GeositeError):
    """The request is malformed or misses a required parameter."""

    code = 400


class InvalidParameter(BadRequest):
    """A parameter has a value that cannot be used."""


class LoginFailed(BadRequest):
    """Credentials were not accepted (same answer for every reason, to avoid enumeration)."""

    default_message = "Unable to generate token."


def invalid_parameter(parameter: str, why: str) -> InvalidParameter:
    """ArcGIS's answer to a bad query parameter: 400, naming the parameter and the reason."""
    return InvalidParameter(
        "Unable to complete operation.", details=[f"'{parameter}' parameter is invalid", why]
    )


class TokenRequired(GeositeError):
    """A protected resource was requested without a token."""

    code = 499
    default_message = (
        "Unauthorized access. Token not found. You can generate a token using the "
        "'generateToken' operation."
    )


class InvalidToken(GeositeError):
    """The token is expired, tampered with, revoked or bound to another client."""

    code = 498
    default_message = "Could not decrypt token. Token may not be valid."


EXPIRED_TOKEN = "Token Expired."  # noqa: S105 (a message, not a secret)
CLIENT_MISMATCH = "Invalid token, ClientID does not match."
REVOKED_TOKEN = "Token is no longer valid. Generate a new token."  # noqa: S105


class Forbidden(GeositeError):
    """The caller is known but lacks the privilege for this operation."""

    code = 403
    default_message = (
        "You do not have permissions to access this resource or perform this operation."
    )


class NotFound(GeositeError):
    """No such resource or operation."""

    code = 404


class NoSite(NotFound):
    """The machine has not created or joined a site yet."""

    def __init__(self, machine_name: str) -> None:
        super().__init__(
            f"Server machine '{machine_name}' does not participate in any Site. "
            "Create a new Site or join an existing Site."
        )


class MethodNotAllowed(GeositeError):
    """The HTTP method is not accepted here."""

    code = 405
    default_message = "Method not supported."


class Conflict(GeositeError):
    """The operation conflicts with the current state (for example the site exists)."""

    code = 409


class ServiceNotStarted(GeositeError):
    """A stopped service was asked for: ArcGIS answers code 500 with this text (and a space)."""

    code = 500

    def __init__(self, qualified_name: str, service_type: str) -> None:
        super().__init__(f"Service {qualified_name}/{service_type} not started ")


class MachineStopped(GeositeError):
    """A service request reached a machine an administrator stopped (or unregistered): HTTP
    503 too, so that nginx's passive failover sends the request to another machine."""

    code = 503
    http_status = 503

    def __init__(self, name: str, unregistered: bool = False) -> None:
        if unregistered:
            super().__init__(
                f"The server machine '{name}' is not part of the site: it was unregistered.",
                details=["Its services answer again once the site registers it again."],
            )
            return
        super().__init__(
            f"The server machine '{name}' is stopped.",
            details=["Its services answer again once an administrator starts it."],
        )


class QueryTooLong(BadRequest):
    """A feature query or edit ran past the database's statement timeout and was cancelled."""

    default_message = "The operation took too long and was cancelled."

    def __init__(self) -> None:
        super().__init__(
            details=[
                "The database cancelled it at its statement timeout: narrow the request "
                "(a where clause, a smaller extent, fewer features) or ask the administrator."
            ]
        )


class DataUnavailable(GeositeError):
    """A service's database cannot be reached (down, refusing, or every connection busy):
    a clear, retryable failure, never a driver's exception."""

    code = 503
    default_message = "The service's database is not available."


class InternalError(GeositeError):
    """An unexpected failure; the public message never carries the internal cause."""

    code = 500


class SslRequired(Forbidden):
    """A token or password came over plain HTTP to a site that takes them only over HTTPS."""

    default_message = "SSL Required"
