"""``/arcgis/admin/logs``: query the site's log records, their settings, and cleaning up."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from geosite.core import log_query, log_settings
from geosite.core.logs import LEVELS
from geosite.core.models import LogFilter, LogRecord, Privilege
from geosite.errors import GeositeError
from geosite.http.errors import public_texts
from geosite.http.routing import OPERATION, Call, Endpoint, Field, Reply


def _site(call: Call) -> Any:
    return call.state.require_site().site


def logs(call: Call) -> dict[str, Any]:
    """``GET /admin/logs``."""
    _site(call)
    return {"resources": ["settings"], "operations": ["query", "clean", "countErrorReports"]}


def _page(call: Call) -> dict[str, Any]:
    site = _site(call)
    params = call.params
    newest = log_query.parse_time(params.get("startTime"), "startTime")
    oldest = log_query.parse_time(params.get("endTime"), "endTime")
    if params.boolean("sinceServerStart") or params.boolean("sinceLastStart"):
        started = call.state.settings.started_ms
        oldest = started if oldest is None else max(oldest, started)
    size = params.integer(
        "pageSize", log_query.DEFAULT_PAGE_SIZE, minimum=1, maximum=log_query.MAX_PAGE_SIZE
    )
    logs_store = site.logs

    def fetch(
        newest_ms: int | None,
        oldest_ms: int | None,
        levels: Sequence[str],
        limit: int,
        where: LogFilter,
    ) -> list[LogRecord]:
        return list(
            logs_store.query(
                newest_ms=newest_ms, oldest_ms=oldest_ms, levels=levels, limit=limit, where=where
            )
        )

    call.state.require_site().log.flush()  # this worker's queued records are part of the answer
    page = log_query.run(
        fetch,
        newest_ms=newest if newest is not None else call.state.clock.now_ms(),
        oldest_ms=oldest,
        levels=log_query.levels_from(params.get("level")),
        where=log_query.parse_filter(params.get("filter")),
        size=size or log_query.DEFAULT_PAGE_SIZE,
    )
    return page.public()


_FORM_KEYS = ("level", "startTime", "endTime", "filter", "pageSize")


def query(call: Call) -> dict[str, Any] | Reply:
    """``logs/query``: records newest first, with ArcGIS's paging (``hasMore``, ``endTime``).

    As a page: the filters as a form and the records as a table, with a link to older ones.
    """
    if call.fmt != "html":
        return _page(call)
    values = {key: call.params.get(key) or "" for key in _FORM_KEYS}
    values["level"] = values["level"].upper() or "WARNING"
    values["pageSize"] = values["pageSize"] or "100"
    page: dict[str, Any] | None = None
    error: list[str] = []
    try:
        page = _page(call)
    except GeositeError as exc:
        shown, details = public_texts(exc, call.request_id)
        error = shown + details
    given = {k: v for k, v in values.items() if v}
    carry = {"token": call.token_param} if call.token_param else {}
    times = [
        datetime.fromtimestamp(m["time"] / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        for m in (page or {}).get("logMessages", [])
    ]
    return Reply(
        template="logs.html",
        context={
            "title": "Query Logs",
            "levels": tuple(LEVELS),
            "values": values,
            "page": page,
            "times": times,
            "error": error,
            "token": call.token_param,
            "json_query": urlencode({**given, "f": "pjson", **carry}),
            "next_query": urlencode(
                {**given, "startTime": (page or {}).get("endTime", ""), "f": "html", **carry}
            ),
        },
    )


def settings(call: Call) -> dict[str, Any]:
    """``GET /admin/logs/settings``."""
    return {"settings": log_settings.current(_site(call).store)}


def edit_settings(call: Call) -> dict[str, Any]:
    """``settings/edit`` (``logDir``, ``logLevel``, ``maxLogFileAge``, ``maxErrorReportsCount``)."""
    runtime = call.state.require_site()
    raw = {
        key: call.params.get(key)
        for key in ("logDir", "logLevel", "maxLogFileAge", "maxErrorReportsCount")
        if call.params.get(key) is not None
    }
    changed = log_settings.edit(runtime.site.store, raw)
    runtime.log.refresh_level()  # this worker at once; the others within a tick
    return {"status": "success", "settings": changed}


def clean(call: Call) -> dict[str, Any]:
    """``logs/clean``: every record of every machine goes (irreversible)."""
    runtime = call.state.require_site()
    runtime.log.flush()
    runtime.site.logs.delete_logs()
    return {"status": "success"}


def count_error_reports(call: Call) -> dict[str, Any]:
    """``countErrorReports`` (``machine``, default ``*``): SEVERE records per machine."""
    site = _site(call)
    machine = (call.params.get("machine") or "*").strip()
    names = [m.name for m in site.store.list_machines()]
    if machine != "*":
        names = [n for n in names if n.lower() == machine.lower()] or [machine]
    counts = site.logs.count_logs(["SEVERE"], names)
    lowered = {k.lower(): v for k, v in counts.items()}
    return {name: lowered.get(name.lower(), 0) for name in names}


_LEVEL_OPTIONS = tuple(LEVELS)
_QUERY_FIELDS = (
    Field("startTime", "Start time (the newest; ms or 2024-05-01T12:00:00,000)"),
    Field("endTime", "End time (the oldest)"),
    Field("sinceServerStart", "Since server start", kind="select", options=("false", "true")),
    Field("level", "Level", kind="select", options=_LEVEL_OPTIONS, default="WARNING"),
    Field("filterType", "Filter type", default="json"),
    Field(
        "filter",
        "Filter (JSON: codes, processIds, requestIds, services, machines, server, users)",
        kind="textarea",
        default='{"services": "*", "server": "*", "machines": "*"}',
    ),
    Field("pageSize", "Page size", kind="number", default="1000"),
)

ENDPOINTS = [
    Endpoint(
        "/logs",
        logs,
        title="Logs",
        children=("settings",),
        operations=("query", "clean", "countErrorReports"),
    ),
    # A resource (GET and POST), so that its page is the form with the records under it.
    Endpoint(
        "/logs/query",
        query,
        privilege=Privilege.PUBLISH,
        title="Query Logs",
        fields=_QUERY_FIELDS,
    ),
    Endpoint("/logs/settings", settings, title="Log Settings", operations=("edit",)),
    Endpoint(
        "/logs/settings/edit",
        edit_settings,
        kind=OPERATION,
        title="Edit Log Settings",
        fields=(
            Field("logDir", "Log directory (one that exists)"),
            Field("logLevel", "Log level", kind="select", options=("OFF", *_LEVEL_OPTIONS)),
            Field("maxLogFileAge", "Keep records for (days)", kind="number"),
            Field("maxErrorReportsCount", "Maximum error reports", kind="number"),
        ),
    ),
    Endpoint(
        "/logs/clean",
        clean,
        kind=OPERATION,
        title="Clean Logs",
        description="Deletes every log record of every machine. This cannot be undone.",
    ),
    Endpoint(
        "/logs/countErrorReports",
        count_error_reports,
        kind=OPERATION,
        allow_get=True,
        title="Count Error Reports",
        fields=(Field("machine", "Machine", default="*"),),
    ),
]
