"""``/admin/logs/query``: ArcGIS's parameters, read leniently, and its paging contract.

``startTime`` is the newest end of the window (default: now) and ``endTime`` the oldest
(default: the first record). Records come newest first. An answer with ``hasMore`` true
carries an ``endTime`` to pass as the next ``startTime``; a page never splits the records of
one millisecond, so the pages together hold every record once. (A millisecond with more
records than ``pageSize`` is returned whole.)

``filter`` is JSON (``codes``, ``processIds``, ``requestIds``, ``services``, ``machines``,
``server``, ``users``; ``"*"`` or an absent key means all), also in the single-quoted form
the classic Python 2 sample sends. An empty list of ``codes``, ``processIds`` or
``requestIds`` also means all: it is what the Administrator Directory's filter form sends for
a blank box, and what Esri's own samples send (``{"codes": [], "processIds": [], ...}``); an
empty ``services`` or ``server`` list means none of those sources, as the reference says.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from geosite import integers
from geosite.core.logs import LEVELS, level_rank
from geosite.core.models import LogFilter, LogRecord
from geosite.errors import InvalidParameter

MAX_PAGE_SIZE = 10_000
DEFAULT_PAGE_SIZE = 1000
_TIMESTAMP = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[,.](\d{1,3}))?$")
_FILTER_KEYS = {
    "codes": "codes",
    "processIds": "process_ids",
    "requestIds": "request_ids",
    "requestIDs": "request_ids",
    "services": "services",
    "machines": "machines",
    "server": "servers",
    "servers": "servers",
    "users": "users",
}
_MAX_VALUES = 1000


@dataclass(frozen=True)
class LogPage:
    """One page of a log query."""

    records: list[LogRecord]
    has_more: bool
    start_ms: int
    end_ms: int

    def public(self) -> dict[str, Any]:
        """The answer as ArcGIS shapes it."""
        return {
            "hasMore": self.has_more,
            "startTime": self.start_ms,
            "endTime": self.end_ms,
            "logMessages": [message(r) for r in self.records],
        }


def message(record: LogRecord) -> dict[str, Any]:
    """A record as ``logMessages`` lists it (``elapsed`` in seconds, as a string)."""
    elapsed = "" if record.elapsed_ms is None else f"{record.elapsed_ms / 1000:.6f}"
    return {
        "type": record.level,
        "message": record.message,
        "time": record.time_ms,
        "source": record.source,
        "machine": record.machine,
        "user": record.user,
        "code": record.code,
        "elapsed": elapsed,
        "process": str(record.process),
        "thread": str(record.thread),
        "methodName": record.method,
        "requestID": record.request_id,
    }


def parse_time(value: str | None, name: str) -> int | None:
    """Epoch milliseconds, or ArcGIS's ``2011-08-01T15:17:20,123`` (UTC), or None."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if re.fullmatch(r"-?\d{1,15}", text):
        return int(text)
    found = _TIMESTAMP.match(text)
    if found:
        day, clock, fraction = found.groups()
        try:
            parsed = datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=UTC)
        except ValueError:  # e.g. month 13
            raise InvalidParameter(f"'{name}' is not a valid time.") from None
        return int(parsed.timestamp() * 1000) + int((fraction or "0").ljust(3, "0"))
    raise InvalidParameter(
        f"'{name}' must be milliseconds since 1970 or a time such as 2024-05-01T12:00:00,000."
    )


def levels_from(value: str | None) -> list[str]:
    """The level and those more severe (default WARNING)."""
    name = (value or "WARNING").strip().upper()
    if name not in LEVELS:
        raise InvalidParameter(f"'level' must be one of {', '.join(LEVELS)}.")
    return [level for level in LEVELS if level_rank(level) >= level_rank(name)]


def _json(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    try:  # the classic sample: {'services': '*', 'server': '*'}
        return orjson.loads(text.replace("'", '"'))
    except orjson.JSONDecodeError:
        raise InvalidParameter("'filter' must be a JSON object.") from None


def _values(key: str, raw: Any, convert: Callable[[Any], Any]) -> tuple[Any, ...] | None:
    if raw is None or raw == "*" or raw == ["*"]:
        return None
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, list) or len(items) > _MAX_VALUES:
        raise InvalidParameter(f'filter.{key} must be "*" or a list (at most {_MAX_VALUES}).')
    try:
        return tuple(convert(item) for item in items if str(item).strip())
    except (TypeError, ValueError):
        raise InvalidParameter(f"filter.{key} holds a value of the wrong type.") from None


def _number(item: Any) -> int:
    """A code or process id: a whole number the log store can hold (signed 64-bit)."""
    if isinstance(item, bool) or not isinstance(item, int | str):
        raise TypeError
    number = integers.whole(item)
    if number is None:
        raise ValueError
    return number


def _numbers(key: str, raw: Any) -> tuple[Any, ...] | None:
    found = _values(key, raw, _number)
    if found is not None and any(integers.in_range(n) is None for n in found):
        raise InvalidParameter(
            f"filter.{key} holds a number out of range "
            f"({integers.INT64_MIN} to {integers.INT64_MAX})."
        )
    return found


def parse_filter(value: str | None) -> LogFilter:
    """The ``filter`` parameter (absent or empty: everything)."""
    if value is None or not value.strip():
        return LogFilter()
    raw = _json(value.strip())
    if not isinstance(raw, dict):
        raise InvalidParameter("'filter' must be a JSON object.")
    found: dict[str, tuple[Any, ...] | None] = {}
    for key, item in raw.items():
        field = _FILTER_KEYS.get(str(key))
        if field is None:
            known = ", ".join(sorted(set(_FILTER_KEYS) - {"requestIDs", "servers"}))
            raise InvalidParameter(f"Unknown filter key '{str(key)[:32]}'. Use {known}.")
        if field in ("codes", "process_ids"):
            found[field] = _numbers(str(key), item) or None  # [] (a blank box): all
        elif field == "request_ids":
            found[field] = _values(str(key), item, lambda v: str(v).strip()) or None
        else:
            found[field] = _values(str(key), item, lambda v: str(v).strip())
    return LogFilter(**found)


Query = Callable[[int | None, int | None, Sequence[str], int, LogFilter], list[LogRecord]]


def run(
    query: Query,
    *,
    newest_ms: int,
    oldest_ms: int | None,
    levels: Sequence[str],
    where: LogFilter,
    size: int,
) -> LogPage:
    """One page from ``newest_ms`` back, cut between two milliseconds."""
    if oldest_ms is not None and oldest_ms > newest_ms:
        raise InvalidParameter("'endTime' (the oldest time) must not be after 'startTime'.")
    found = query(newest_ms, oldest_ms, levels, size + 1, where)
    if len(found) <= size:
        end = found[-1].time_ms if found else (oldest_ms if oldest_ms is not None else newest_ms)
        return LogPage(found, False, newest_ms, end)
    boundary = found[size].time_ms  # the first record left out
    kept = [r for r in found[:size] if r.time_ms > boundary]
    if not kept:  # one millisecond holds more than a page: return all of it
        kept = query(boundary, boundary, levels, MAX_PAGE_SIZE * 10, where)
        boundary -= 1
    else:
        boundary = kept[-1].time_ms
    # The next page starts just before the oldest millisecond returned.
    return LogPage(kept, True, newest_ms, boundary - 1)
