"""Administrative operations in the site's log: each is recorded (code 7200, INFO), and each
that changes something is an audit record (code 7201) whatever the site's log level.

A change is any operation of the Administrator API but the few that only read (``generate
Token``, ``search``, ``exists``, ``get...``): start, stop, edit, delete, publishing, users,
roles and privileges, permissions, folders, settings, uploads, backups. The record names the
acting user, the operation and its target: the resource path, and the identifying parameters
the request gave (user, role, folder and service names). Never a password, a token or a key:
other parameters are named, their values left out.
"""

from __future__ import annotations

import orjson

from geosite.core.logs import LogCode, LogWriter
from geosite.http.params import Params
from geosite.http.routing import Call

#: Operations that change nothing.
READ_ONLY = frozenset(
    {"generatetoken", "search", "exists", "counterrorreports", "validatedataitem", "finditems"}
)
#: Parameters whose values name the target of a change.
_TARGETS = (
    "username",
    "rolename",
    "users",
    "roles",
    "privilege",
    "principal",
    "isAllowed",
    "folderName",
    "serviceName",
    "serviceNewName",
    "serviceType",
    "services",
    "itemID",
    "itempath",
    "logLevel",
)
#: Parameters never named (they are the request's plumbing).
_PLUMBING = frozenset({"f", "token", "csrftoken", "callback"})
_MAX_VALUE = 200


def is_change(rel: str) -> bool:
    """Whether the operation at ``rel`` (``services/Cities.MapServer/stop``) changes things."""
    name = rel.rstrip("/").rsplit("/", 1)[-1].lower()
    return name not in READ_ONLY and not name.startswith("get")


def _short(value: str) -> str:
    value = " ".join(value.split())
    return value if len(value) <= _MAX_VALUE else value[: _MAX_VALUE - 1] + "…"


def describe(rel: str, params: Params) -> str:
    """``stop services/Cities.MapServer``, with the target's parameters."""
    path, _, operation = rel.strip("/").rpartition("/")
    text = f"{operation} {path or '/'}"
    shown: list[str] = []
    for name in _TARGETS:
        value = params.get(name)
        if value is not None:
            shown.append(f"{name}={_short(value)}")
    service = params.get("service")
    if service is not None:  # createService: the service's JSON
        try:
            found = orjson.loads(service)
        except orjson.JSONDecodeError:
            found = None
        if isinstance(found, dict):
            for key in ("serviceName", "type"):
                if isinstance(found.get(key), str):
                    shown.append(f"{key}={_short(found[key])}")
    named = {name.lower() for name in _TARGETS} | _PLUMBING | {"service"}
    others = sorted(_short(n)[:40] for n in params.names() if n.lower() not in named)
    if others:
        shown.append("parameters: " + ", ".join(others[:20]))
    return text + (f" ({'; '.join(shown)})" if shown else "")


def record(log: LogWriter, source: str, rel: str, call: Call, request_id: str) -> None:
    """The records of an administrative operation that completed."""
    user = call.principal.username if call.principal else ""
    log.log(
        "INFO",
        LogCode.ADMIN_OPERATION,
        source,
        f"Operation '{rel}' completed.",
        user=user,
        request_id=request_id,
    )
    if is_change(rel):
        log.log(  # written whatever the site's log level
            "INFO",
            LogCode.AUDIT,
            source,
            f"{user or 'anonymous'}: {describe(rel, call.params)}",
            user=user,
            request_id=request_id,
            method=call.method,
        )
