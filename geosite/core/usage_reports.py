"""Usage reports (``/admin/usagereports``): their definitions, and their data from the
per-minute request counts every worker records.

A report names a window (``since``: ``LAST_DAY``, ``LAST_WEEK``, ``LAST_MONTH``,
``LAST_YEAR``, or ``CUSTOM`` with ``from``/``to`` in ms), an ``aggregationInterval`` in
minutes (defaults: 30 min, 4 h, 1 day, 1 week; for CUSTOM, about 48 slices), and queries:
resource URIs (``services/`` for all services, ``services/<folder>``, or a service
``services/[<folder>/]<name>.<type>``) with metrics. Each metric of each resource is a
series with one value per time slice, ``null`` where the resource got no request:

* ``RequestCount``, ``RequestsFailed``; ``RequestsTimedOut`` (always 0: geosite has no
  request time-out);
* ``RequestMaxResponseTime``, ``RequestAvgResponseTime``, in seconds;
* ``ServiceActiveInstances`` (also ``ServiceRunningInstancesMax``): the machines that served
  the resource in the slice (geosite has no instance pools: each worker serves every service).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from geosite import integers
from geosite.core.models import ServiceUsage
from geosite.core.values import whole_number
from geosite.errors import Conflict, InvalidParameter, NotFound
from geosite.storage.base import LogStore, SiteStore

SETTING = "usageReports"
SETTINGS = "usageReportSettings"
MINUTE_MS = 60_000
HOUR_MS = 3_600_000
_WINDOWS = {
    "LAST_DAY": (1, 30),
    "LAST_WEEK": (7, 240),
    "LAST_MONTH": (30, 1440),
    "LAST_YEAR": (365, 10080),
}
CUSTOM = "CUSTOM"
METRICS = (
    "RequestCount",
    "RequestsFailed",
    "RequestsTimedOut",
    "RequestMaxResponseTime",
    "RequestAvgResponseTime",
    "ServiceActiveInstances",
    "ServiceRunningInstancesMax",
)
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,128}$")
_MAX_SLICES = 2000
#: A century, in minutes: a longer slice holds no more than the whole history.
MAX_INTERVAL_MINUTES = 100 * 366 * 24 * 60
_MAX_URIS = 200


def _name(value: Any) -> str:
    name = str(value or "").strip()
    if not _NAME.match(name) or name.lower() in ("settings", "add"):
        raise InvalidParameter(
            "'reportname' must be 1 to 128 letters, digits, '_', '.', '@' or '-'."
        )
    return name


def _list(value: Any, what: str) -> list[str]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not items or len(items) > _MAX_URIS:
        raise InvalidParameter(f"'{what}' must be a non-empty list (at most {_MAX_URIS}).")
    found = [str(item).strip() for item in items if str(item).strip()]
    if not found:
        raise InvalidParameter(f"'{what}' must be a non-empty list.")
    return found


def _uri(value: str) -> str:
    parts = [p for p in value.strip().split("/") if p]
    if not parts or parts[0].lower() != "services" or len(parts) > 3 or ".." in parts:
        raise InvalidParameter(
            f"Unknown resource URI '{value[:128]}'. Use services/, services/<folder> or "
            "services/[<folder>/]<name>.<type>."
        )
    return value.strip()


def _queries(value: Any) -> list[dict[str, list[str]]]:
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not value or len(value) > 50:
        raise InvalidParameter("'queries' must be a list of {resourceURIs, metrics}.")
    queries = []
    for query in value:
        if not isinstance(query, dict):
            raise InvalidParameter("'queries' must be a list of {resourceURIs, metrics}.")
        uris = [_uri(u) for u in _list(query.get("resourceURIs"), "resourceURIs")]
        metrics = _list(query.get("metrics"), "metrics")
        unknown = [m for m in metrics if m not in METRICS]
        if unknown:
            raise InvalidParameter(
                f"Unknown metric '{unknown[0][:64]}'.", details=["Metrics: " + ", ".join(METRICS)]
            )
        queries.append({"resourceURIs": uris, "metrics": metrics})
    return queries


def _ms(raw: dict[str, Any], key: str) -> int:
    """``from``/``to``: epoch milliseconds, from 1970 to the end of year 9999."""
    if integers.whole(raw.get(key)) is None:
        raise InvalidParameter(f"'{key}' must be milliseconds since 1970.")
    return integers.integer(raw.get(key), key, 0, integers.TIME_MS_MAX)


def definition(raw: Any, *, name: str | None = None) -> dict[str, Any]:
    """A checked report definition from ``usagereport`` JSON (``name``: it must keep it)."""
    if not isinstance(raw, dict):
        raise InvalidParameter("'usagereport' must be a JSON object.")
    reportname = _name(raw.get("reportname", name))
    if name is not None and reportname.lower() != name.lower():
        raise InvalidParameter("A report's name cannot change.")
    since = str(raw.get("since") or "LAST_DAY").strip().upper()
    result: dict[str, Any] = {"reportname": reportname, "since": since}
    if since == CUSTOM:
        start, end = _ms(raw, "from"), _ms(raw, "to")
        if not 0 <= start < end:
            raise InvalidParameter("'from' must be before 'to'.")
        result.update({"from": start, "to": end})
        default_minutes = max(1, (end - start) // MINUTE_MS // 48)
    elif since in _WINDOWS:
        default_minutes = _WINDOWS[since][1]
    else:
        raise InvalidParameter(f"'since' must be one of {', '.join([*_WINDOWS, CUSTOM])}.")
    interval = raw.get("aggregationInterval")
    if interval in (None, ""):
        minutes = default_minutes
    else:
        if integers.whole(interval) is None:
            raise InvalidParameter("'aggregationInterval' must be whole minutes.")
        minutes = integers.integer(interval, "aggregationInterval", 1, MAX_INTERVAL_MINUTES)
    result["aggregationInterval"] = minutes
    result["queries"] = _queries(raw.get("queries"))
    metadata = raw.get("metadata", "")
    if len(str(metadata)) > 32_000:
        raise InvalidParameter("'metadata' is too long.")
    result["metadata"] = metadata
    return result


# -- the stored reports -----------------------------------------------------------------------
def reports(store: SiteStore) -> list[dict[str, Any]]:
    """Every report, by name."""
    stored = store.get_setting(SETTING) or {}
    return [stored[key] for key in sorted(stored)]


def get(store: SiteStore, name: str) -> dict[str, Any]:
    """One report, or ArcGIS's 404."""
    found = (store.get_setting(SETTING) or {}).get(name.lower())
    if found is None:
        raise NotFound(f"Usage report '{name[:128]}' does not exist.")
    return dict(found)


def save(store: SiteStore, report: dict[str, Any], *, new: bool) -> None:
    """Add (``new``) or replace a report."""
    stored = dict(store.get_setting(SETTING) or {})
    key = report["reportname"].lower()
    if new and key in stored:
        raise Conflict(f"A usage report named '{report['reportname']}' already exists.")
    if not new and key not in stored:
        raise NotFound(f"Usage report '{report['reportname']}' does not exist.")
    stored[key] = report
    store.put_setting(SETTING, stored)


def delete(store: SiteStore, name: str) -> None:
    """Remove a report."""
    stored = dict(store.get_setting(SETTING) or {})
    if stored.pop(name.lower(), None) is None:
        raise NotFound(f"Usage report '{name[:128]}' does not exist.")
    store.put_setting(SETTING, stored)


# -- data -------------------------------------------------------------------------------------
def window(report: dict[str, Any], now_ms: int) -> tuple[int, int]:
    """The report's [from, to) in ms: whole minutes, and from the start of an hour when the
    slices are whole hours (then the store sums hours, not minutes)."""
    if report["since"] == CUSTOM:
        # Checked again: a report stored by an older geosite may hold any number.
        start, end = _ms(report, "from"), _ms(report, "to")
    else:
        end = now_ms
        start = end - _WINDOWS[report["since"]][0] * 24 * 3600 * 1000
    unit = HOUR_MS if int(report["aggregationInterval"]) % 60 == 0 else MINUTE_MS
    return start - start % unit, end - end % MINUTE_MS + MINUTE_MS


def _matches(uri: str, service_key: str) -> bool:
    parts = [p.lower() for p in uri.split("/") if p][1:]
    if not parts:
        return True  # services/: every service
    folder, name = service_key.split("/", 1)
    if len(parts) == 1 and "." not in parts[0]:
        return folder == parts[0]
    wanted = parts[-1]
    wanted_folder = parts[0] if len(parts) == 2 else ""
    return folder == wanted_folder and name == wanted


@dataclass
class _Slice:
    requests: int = 0
    failures: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0
    machines: set[str] | None = None

    def add(self, row: ServiceUsage) -> None:
        self.requests += row.requests
        self.failures += row.failures
        self.total_ms += row.total_ms
        self.max_ms = max(self.max_ms, row.max_ms)
        self.machines = (self.machines or set()) | {row.machine.lower()}

    def metric(self, name: str) -> float | int | None:
        if not self.requests:
            return None
        values: dict[str, float | int] = {
            "RequestCount": self.requests,
            "RequestsFailed": self.failures,
            "RequestsTimedOut": 0,
            "RequestMaxResponseTime": round(self.max_ms / 1000, 6),
            "RequestAvgResponseTime": round(self.total_ms / self.requests / 1000, 6),
            "ServiceActiveInstances": len(self.machines or ()),
            "ServiceRunningInstancesMax": len(self.machines or ()),
        }
        return values[name]


def data(
    report: dict[str, Any], logs: LogStore, now_ms: int, machines: list[str] | None = None
) -> dict[str, Any]:
    """``<report>/data``: the time slices (their ends) and one series per URI and metric."""
    start, end = window(report, now_ms)
    minutes = report["aggregationInterval"]
    slice_ms = integers.integer(minutes, "aggregationInterval", 1, MAX_INTERVAL_MINUTES) * MINUTE_MS
    count = -(-(end - start) // slice_ms)
    if count > _MAX_SLICES:
        raise InvalidParameter(
            f"The report would have {count} time slices; make aggregationInterval larger."
        )
    rows = logs.usage_slices(start, end, slice_ms, machines)
    slices = [min(start + (i + 1) * slice_ms, end) for i in range(count)]
    report_data = []
    for query in report["queries"]:
        series = []
        for uri in query["resourceURIs"]:
            buckets: defaultdict[int, _Slice] = defaultdict(_Slice)
            for row in rows:
                if _matches(uri, row.service):
                    buckets[(row.minute_ms - start) // slice_ms].add(row)
            for metric in query["metrics"]:
                values = [buckets[i].metric(metric) if i in buckets else None for i in range(count)]
                series.append({"resourceURI": uri, "metric-type": metric, "data": values})
        report_data.append(series)
    return {
        "report": {
            "reportname": report["reportname"],
            "metadata": report.get("metadata", ""),
            "time-slices": slices,
            "report-data": report_data,
        }
    }


def csv_rows(answer: dict[str, Any]) -> list[list[str]]:
    """The data as rows: a header of slice times, then one row per URI and metric."""
    report = answer["report"]
    rows = [["resourceURI", "metric", *map(str, report["time-slices"])]]
    for series in report["report-data"]:
        for item in series:
            values = ["" if v is None else str(v) for v in item["data"]]
            rows.append([item["resourceURI"], item["metric-type"], *values])
    return rows


# -- settings ---------------------------------------------------------------------------------
def settings(store: SiteStore) -> dict[str, Any]:
    """``samplingInterval`` (minutes: geosite counts every minute), ``maxHistory`` (days to
    keep the counts, 0 for ever) and ``enabled`` (always)."""
    raw = store.get_setting(SETTINGS) or {}
    return {"samplingInterval": 1, "maxHistory": int(raw.get("maxHistory", 0)), "enabled": True}


def edit_settings(store: SiteStore, raw: dict[str, Any]) -> dict[str, Any]:
    """``settings/edit``: ``maxHistory``; a ``samplingInterval`` other than 1 or ``enabled``
    false are refused, as geosite cannot do them."""
    now = settings(store)
    if "samplingInterval" in raw and str(raw["samplingInterval"]).strip() != "1":
        raise InvalidParameter("geosite samples usage every minute: samplingInterval is 1.")
    history = now["maxHistory"]
    if "maxHistory" in raw:
        history = whole_number(raw["maxHistory"], "maxHistory", 0, 36_500)
    if "enabled" in raw and str(raw["enabled"]).strip().lower() != "true":
        raise InvalidParameter(
            "geosite always counts requests (service statistics need them): enabled is true."
        )
    store.put_setting(SETTINGS, {"maxHistory": history})
    return settings(store)


def prune(store: SiteStore, logs: LogStore, now_ms: int) -> int:
    """Remove per-minute counts older than ``maxHistory`` days (none when it is 0)."""
    days = settings(store)["maxHistory"]
    return logs.delete_usage(now_ms - days * 24 * 3600 * 1000) if days else 0
