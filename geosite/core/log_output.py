"""geosite's records on the standard ``logging`` module: one line per record on stdout.

Loggers, all under ``geosite``:

- ``geosite.request``: the request records of the site's log store (codes 7100, 7101, 7303);
- ``geosite.access``: one line per request (client address, method, path, status, duration,
  request id), when the access log is on (``geosite serve --access-log``);
- ``geosite.audit``: administrative changes, whatever the site's log level (code 7201);
- ``geosite.security``: tokens issued, failed logins, lockouts (7300-7302);
- ``geosite.admin``: administrative operations (7200);
- ``geosite.server``: processes starting and stopping, unexpected errors (7001-7010, 7500).

Every record the site's log store receives (those at or above the site's log level, and
audit records) goes to its logger too, from the log writer's thread: requests never format or
write a line. :func:`configure` sends them to stdout as text or as one JSON object per line
through a ``QueueHandler``: the line is formatted and written by a thread of its own, never
on the event loop. Paths never carry the query string, so no line holds a token.
"""

from __future__ import annotations

import logging
import logging.handlers
import queue
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import IO, Any

import orjson

from geosite.core.models import LogRecord

ROOT = "geosite"
ACCESS = "geosite.access"
AUDIT = "geosite.audit"
FORMATS = ("text", "json")

#: ArcGIS level -> ``logging`` level (FINE and VERBOSE fall between INFO and DEBUG).
STD_LEVELS: dict[str, int] = {
    "SEVERE": logging.ERROR,
    "WARNING": logging.WARNING,
    "INFO": logging.INFO,
    "FINE": 15,
    "VERBOSE": 12,
    "DEBUG": logging.DEBUG,
}
#: Log code -> the logger its records go to (the codes are ``geosite.core.logs.LogCode``).
_LOGGER_OF_CODE = {
    7100: "geosite.request",
    7101: "geosite.request",
    7303: "geosite.request",
    7200: "geosite.admin",
    7201: AUDIT,
    7210: "geosite.admin",
    7300: "geosite.security",
    7301: "geosite.security",
    7302: "geosite.security",
}
_SERVER = "geosite.server"
_LOGGERS = {code: logging.getLogger(name) for code, name in _LOGGER_OF_CODE.items()}
#: Attribute of a ``logging.LogRecord`` holding its fields for the JSON format.
FIELDS = "geosite_fields"

# A library logs nowhere until the application says where (no "last resort" stderr lines).
logging.getLogger(ROOT).addHandler(logging.NullHandler())
for _name in ("FINE", "VERBOSE"):
    logging.addLevelName(STD_LEVELS[_name], _name)


def mirror(records: Iterable[LogRecord]) -> None:
    """Hand records of the site's log store to their ``logging`` loggers."""
    for record in records:
        logger = _LOGGERS.get(record.code) or logging.getLogger(_SERVER)
        level = STD_LEVELS.get(record.level, logging.INFO)
        if not logger.isEnabledFor(level):
            continue
        fields: dict[str, Any] = {
            "code": record.code,
            "source": record.source,
            "machine": record.machine,
            "user": record.user,
            "requestId": record.request_id,
            "elapsedMs": None if record.elapsed_ms is None else round(record.elapsed_ms, 3),
        }
        line = logger.makeRecord(
            logger.name,
            level,
            "geosite",
            0,
            record.message,
            (),
            None,
            extra={FIELDS: fields, "arcgis_level": record.level},
        )
        line.created = record.time_ms / 1000
        line.msecs = record.time_ms % 1000
        logger.handle(line)


def _when(record: logging.LogRecord) -> str:
    stamp = datetime.fromtimestamp(record.created, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(record.msecs):03d}Z"


def _level(record: logging.LogRecord) -> str:
    return str(getattr(record, "arcgis_level", "") or record.levelname)


def _one_line(text: str) -> str:
    """No line breaks inside a record: a message cannot forge the next line."""
    return text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")


class TextFormatter(logging.Formatter):
    """``2026-12-04T03:00:00.123Z WARNING geosite.request [7101 Rest user=ann id=...] text``."""

    def format(self, record: logging.LogRecord) -> str:
        """One line."""
        fields: dict[str, Any] = getattr(record, FIELDS, {})
        tagged = ""
        if "code" in fields:  # a record of the site's log store
            tags = [str(fields["code"]), str(fields["source"])]
            if fields["user"]:
                tags.append(f"user={fields['user']}")
            if fields["elapsedMs"] is not None:
                tags.append(f"elapsed={fields['elapsedMs']}ms")
            if fields["requestId"]:
                tags.append(f"id={fields['requestId']}")
            tagged = f" [{' '.join(tags)}]"
        text = f"{_when(record)} {_level(record)} {record.name}{tagged} {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return _one_line(text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time``, ``level``, ``logger``, the fields, ``message``."""

    def format(self, record: logging.LogRecord) -> str:
        """One line."""
        body: dict[str, Any] = {
            "time": _when(record),
            "level": _level(record),
            "logger": record.name,
            **getattr(record, FIELDS, {}),
            "message": record.getMessage(),
        }
        if record.exc_info:
            body["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(body, default=str).decode()


class _Enqueue(logging.handlers.QueueHandler):
    """Queue the record as it is: the listener's thread formats it, not the caller's."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        """The record itself (its arguments are plain values)."""
        return record


def configure(
    fmt: str = "text", *, access_log: bool = False, stream: IO[str] | None = None
) -> Callable[[], None]:
    """Send the ``geosite`` loggers to ``stream`` (stdout), one line per record, from a
    thread of their own; returns the function that writes what is queued and stops it."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown log format '{fmt}': {', '.join(FORMATS)}.")
    root = logging.getLogger(ROOT)
    for handler in list(root.handlers):
        if isinstance(handler, _Enqueue):
            root.removeHandler(handler)
    output = logging.StreamHandler(stream if stream is not None else sys.stdout)
    output.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    lines: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = logging.handlers.QueueListener(lines, output)
    root.addHandler(_Enqueue(lines))
    root.setLevel(logging.DEBUG)  # the site's log level has chosen the records already
    root.propagate = False
    logging.getLogger(ACCESS).setLevel(logging.INFO if access_log else logging.CRITICAL + 1)
    listener.start()
    return listener.stop
