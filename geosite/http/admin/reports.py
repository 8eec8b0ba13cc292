"""A service's ``statistics`` and the folder ``report``: what the services did since start.

The figures come from the per-minute request counts every worker writes (``core.usage``):
requests (``transactions``), failures, total, average and longest response time, summed
over the minutes since this server started, for each machine of the site.
"""

from __future__ import annotations

from typing import Any

from geosite.core import permissions, service_admin, usage
from geosite.core.models import Privilege, Service, ServiceUsage
from geosite.core.services import find_service
from geosite.errors import InvalidParameter
from geosite.http.admin.service import owned
from geosite.http.admin.services import existing_folder
from geosite.http.routing import Call, Endpoint

REPORT_PARTS = ("description", "status", "instances", "iteminfo", "properties", "permissions")


def _since(call: Call) -> int:
    started = call.state.settings.started_ms
    return started - started % 60_000


def _machines(call: Call) -> list[str]:
    return [m.name for m in call.state.require_site().site.store.list_machines()]


def _statistics(
    call: Call, service: Service, rows: list[ServiceUsage], machines: list[str]
) -> dict[str, Any]:
    mine = [r for r in rows if r.service.lower() == service.resource.lower()]
    per_machine = [
        {
            "machineName": name,
            "isStatisticsAvailable": True,
            **usage.summary([r for r in mine if r.machine.lower() == name.lower()]),
        }
        for name in machines
    ]
    return {
        "summary": {
            "folderName": service.folder or "/",
            "serviceName": service.name,
            "type": service.type,
            "startTime": call.state.settings.started_ms,
            "isStatisticsAvailable": True,
            **usage.summary(mine),
        },
        "perMachine": per_machine,
    }


def statistics(call: Call) -> dict[str, Any]:
    """``<service>/statistics``."""
    runtime = call.state.require_site()
    runtime.log.flush()  # this worker's latest requests count too
    service = find_service(
        runtime.site.store, call.args.get("folder", ""), call.args["service"], call.args["type"]
    )
    rows = runtime.site.logs.usage(_since(call), [service.resource])
    return _statistics(call, service, rows, _machines(call))


def _parts(call: Call) -> tuple[str, ...]:
    raw = call.params.json("parameters")
    if raw is None:
        return REPORT_PARTS
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        raise InvalidParameter("'parameters' must be a JSON array of names.")
    unknown = [p for p in raw if p.lower() not in REPORT_PARTS]
    if unknown:
        raise InvalidParameter(
            f"Unknown report part '{unknown[0][:32]}'. Use {', '.join(REPORT_PARTS)}."
        )
    return tuple(p.lower() for p in raw)


def _services(call: Call, folder: str) -> list[Service]:
    store = call.state.require_site().site.store
    raw = call.params.json("services")
    if raw is None:
        return store.list_services(folder)
    refs = service_admin.service_references(raw)
    return [find_service(store, *ref) for ref in refs]


def report(call: Call) -> dict[str, Any]:
    """``services[/<folder>]/report`` (``parameters``, ``services``): one entry per service."""
    runtime = call.state.require_site()
    store = runtime.site.store
    folder = existing_folder(call)
    parts = _parts(call)
    found = _services(call, folder)
    rows: list[ServiceUsage] = []
    if "instances" in parts:
        runtime.log.flush()
        rows = runtime.site.logs.usage(_since(call), [s.resource for s in found])
    machines = _machines(call) if "instances" in parts else []
    reports = []
    for service in found:
        listed = store.list_permissions(service.resource)
        entry: dict[str, Any] = {
            "folderName": service.folder or "/",
            "serviceName": service.name,
            "type": service.type,
            "isDefault": False,
            "isPrivate": permissions.is_private(listed),
        }
        full = service_admin.service_json(service, entry["isPrivate"])
        if "description" in parts:
            entry["description"] = full["description"]
        if "status" in parts:
            state = service.configured_state
            entry["status"] = {"configuredState": state, "realTimeState": state}
        if "instances" in parts:
            entry["instances"] = _statistics(call, service, rows, machines)["summary"]
        if "iteminfo" in parts:
            info = service.definition.get("_itemInfo") or {}
            entry["iteminfo"] = {"title": info.get("title", service.name), **info}
        if "properties" in parts:
            entry["properties"] = full["properties"]
        if "permissions" in parts:
            entry["permissions"] = [p.public() for p in listed]
        reports.append(entry)
    return {"reports": reports}


ENDPOINTS = [
    Endpoint("/services/report", report, title="Services Report"),
    Endpoint("/services/{folder}/report", report, title="Services Report"),
    *(
        Endpoint(pattern, owned(statistics), privilege=Privilege.PUBLISH, title="Statistics")
        for pattern in (
            "/services/{service}.{type}/statistics",
            "/services/{folder}/{service}.{type}/statistics",
        )
    ),
]
