"""``/arcgis/admin/usagereports``: usage reports, their data (JSON or CSV), and settings."""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import urlencode

from geosite.core import log_query, usage_reports
from geosite.core.models import Privilege
from geosite.errors import BadRequest, InvalidParameter
from geosite.http.admin import charts
from geosite.http.routing import OPERATION, Call, Endpoint, Field, Reply

_PUBLISH = Privilege.PUBLISH
_EXAMPLE = (
    '{"reportname": "requests", "since": "LAST_DAY", "queries": [{"resourceURIs": '
    '["services/"], "metrics": ["RequestCount", "RequestAvgResponseTime"]}]}'
)


def _store(call: Call) -> Any:
    return call.state.require_site().site.store


def listing(call: Call) -> dict[str, Any]:
    """``GET /admin/usagereports``: the reports (``metrics``, as ArcGIS names the list)."""
    return {"metrics": usage_reports.reports(_store(call))}


def _report_names(call: Call, payload: dict[str, Any]) -> list[str]:
    return [*(r["reportname"] for r in payload.get("metrics", [])), "settings"]


def _definition(call: Call, name: str | None = None) -> dict[str, Any]:
    raw = call.params.json("usagereport")
    if raw is None:
        raise BadRequest("Missing parameter 'usagereport'.")
    return usage_reports.definition(raw, name=name)


def add(call: Call) -> dict[str, Any]:
    """``add`` with ``usagereport`` (JSON)."""
    usage_reports.save(_store(call), _definition(call), new=True)
    return {"status": "success"}


def report(call: Call) -> dict[str, Any]:
    """``GET /admin/usagereports/{report}``: its definition."""
    return usage_reports.get(_store(call), call.args["report"])


def edit(call: Call) -> dict[str, Any]:
    """``{report}/edit`` with the whole ``usagereport`` (the name stays)."""
    store = _store(call)
    current = usage_reports.get(store, call.args["report"])
    usage_reports.save(store, _definition(call, current["reportname"]), new=False)
    return {"status": "success"}


def delete(call: Call) -> dict[str, Any]:
    """``{report}/delete``."""
    usage_reports.delete(_store(call), call.args["report"])
    return {"status": "success"}


def _machines(call: Call) -> list[str] | None:
    raw = call.params.get("filter")
    if raw is None or not raw.strip():
        return None
    parsed = log_query.parse_filter(raw)  # the same lenient reading as the logs' filter
    if any(v is not None for k, v in vars(parsed).items() if k != "machines"):
        raise InvalidParameter("A usage report's data is filtered by 'machines' only.")
    return None if parsed.machines is None else list(parsed.machines)


def report_data(call: Call) -> dict[str, Any] | Reply:
    """``{report}/data`` (``filter`` ``{"machines": [...]}``; ``f=csv`` for a table)."""
    runtime = call.state.require_site()
    found = usage_reports.get(runtime.site.store, call.args["report"])
    runtime.log.flush()  # this worker's counts of the last second are part of the answer
    answer = usage_reports.data(
        found, runtime.site.logs, call.state.clock.now_ms(), _machines(call)
    )
    if call.fmt == "csv":
        text = io.StringIO()
        csv.writer(text).writerows(usage_reports.csv_rows(answer))
        return Reply(body=text.getvalue().encode(), media_type="text/csv; charset=utf-8")
    if call.fmt == "html":
        return _chart_page(call, found, answer)
    return answer


def _chart_page(call: Call, found: dict[str, Any], answer: dict[str, Any]) -> Reply:
    """One chart per metric, a line per resource."""
    data = answer["report"]
    by_metric: dict[str, list[tuple[str, list[Any]]]] = {}
    for query in data["report-data"]:
        for item in query:
            by_metric.setdefault(item["metric-type"], []).append(
                (item["resourceURI"], item["data"])
            )
    drawn = [
        charts.chart(metric, data["time-slices"], lines) for metric, lines in by_metric.items()
    ]
    carry = {"token": call.token_param} if call.token_param else {}
    given = {k: v for k in ("filter",) if (v := call.params.get(k))}
    return Reply(
        template="usage_data.html",
        context={
            "title": f"Usage report: {found['reportname']}",
            "report": found,
            "charts": drawn,
            "json_query": urlencode({**given, "f": "pjson", **carry}),
            "csv_query": urlencode({**given, "f": "csv", **carry}),
        },
    )


def settings(call: Call) -> dict[str, Any]:
    """``GET /admin/usagereports/settings``."""
    return usage_reports.settings(_store(call))


def edit_settings(call: Call) -> dict[str, Any]:
    """``settings/edit`` (``maxHistory`` in days)."""
    keys = ("samplingInterval", "maxHistory", "enabled")
    raw = {k: call.params.get(k) for k in keys if call.params.get(k) is not None}
    return {"status": "success", **usage_reports.edit_settings(_store(call), raw)}


_REPORT_FIELD = Field("usagereport", "Usage report (JSON)", kind="textarea", default=_EXAMPLE)

ENDPOINTS = [
    Endpoint(
        "/usagereports",
        listing,
        privilege=_PUBLISH,
        title="Usage Reports",
        children=_report_names,
        operations=("add",),
    ),
    Endpoint(
        "/usagereports/add",
        add,
        kind=OPERATION,
        privilege=_PUBLISH,
        title="Add Usage Report",
        fields=(_REPORT_FIELD,),
    ),
    Endpoint(
        "/usagereports/settings",
        settings,
        privilege=_PUBLISH,
        title="Usage Report Settings",
        operations=("edit",),
    ),
    Endpoint(
        "/usagereports/settings/edit",
        edit_settings,
        kind=OPERATION,
        title="Edit Usage Report Settings",
        fields=(Field("maxHistory", "Keep counts for (days, 0: always)", kind="number"),),
    ),
    Endpoint(
        "/usagereports/{report}",
        report,
        privilege=_PUBLISH,
        children=("data",),
        operations=("edit", "delete"),
    ),
    Endpoint(
        "/usagereports/{report}/edit",
        edit,
        kind=OPERATION,
        privilege=_PUBLISH,
        title="Edit Usage Report",
        fields=(Field("usagereport", "Usage report (JSON)", kind="textarea"),),
    ),
    Endpoint(
        "/usagereports/{report}/delete",
        delete,
        kind=OPERATION,
        privilege=_PUBLISH,
        title="Delete Usage Report",
    ),
    Endpoint(
        "/usagereports/{report}/data",
        report_data,
        privilege=_PUBLISH,
        title="Report Data",
        formats=("csv",),
    ),
]
