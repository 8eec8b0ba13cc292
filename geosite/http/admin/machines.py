"""``/arcgis/admin/machines``: the server machines of the site."""

from __future__ import annotations

from typing import Any

from geosite.core import machines
from geosite.core.models import Machine
from geosite.http.routing import OPERATION, Call, Endpoint

# A machine whose heartbeat is older than this is reported as stopped.
STALE_AFTER_MS = 60_000


def _machine(call: Call, name: str) -> Machine:
    return machines.find(call.state.require_site().site.store, name)


def list_machines(call: Call) -> dict[str, Any]:
    """``GET /admin/machines``."""
    machines = call.state.require_site().site.store.list_machines()
    return {"machines": [{"machineName": m.name, "adminURL": m.admin_url} for m in machines]}


def _machine_names(call: Call, payload: dict[str, Any]) -> list[str]:
    return [m["machineName"] for m in payload.get("machines", [])]


def _real_time_state(call: Call, machine: Machine) -> str:
    if machine.configured_state != "STARTED":
        return "STOPPED"
    if machine.name.upper() == call.state.machine_name.upper():
        return "STARTED"
    fresh = call.state.clock.now_ms() - machine.last_seen_ms < STALE_AFTER_MS
    return "STARTED" if fresh else "STOPPED"


def get_machine(call: Call) -> dict[str, Any]:
    """``GET /admin/machines/{machine}``."""
    machine = _machine(call, call.args["machine"])
    local = machine.name.upper() == call.state.machine_name.upper()
    ports = machine.properties.get("ports", {})
    return {
        "machineName": machine.name,
        "adminURL": machine.admin_url,
        "platform": machine.platform,
        "ports": ports,
        "ServerStartTime": call.state.settings.started_ms if local else machine.registered_ms,
        "webServerMaxHeapSize": -1,
        "appServerMaxHeapSize": -1,
        "socMaxHeapSize": -1,
        "webServerSSLEnabled": True,
        "webServerCertificateAlias": "SelfSignedCertificate",
        "configuredState": machine.configured_state,
        "realTimeState": _real_time_state(call, machine),
        "synchronize": False,
        "underMaintenance": False,
    }


def machine_status(call: Call) -> dict[str, Any]:
    """``GET /admin/machines/{machine}/status``."""
    machine = _machine(call, call.args["machine"])
    return {
        "configuredState": machine.configured_state,
        "realTimeState": _real_time_state(call, machine),
    }


def _set_state(call: Call, state: str) -> dict[str, Any]:
    runtime = call.state.require_site()
    machines.set_state(runtime.site.store, call.args["machine"], state)
    runtime.machine_state_changed()
    return {"status": "success"}


def start_machine(call: Call) -> dict[str, Any]:
    """``POST /admin/machines/{machine}/start``: its services answer again."""
    return _set_state(call, machines.STARTED)


def stop_machine(call: Call) -> dict[str, Any]:
    """``POST /admin/machines/{machine}/stop``: its services refuse requests (code 503) and
    its health check reports it stopped; the Administrator API keeps answering."""
    return _set_state(call, machines.STOPPED)


ENDPOINTS = [
    Endpoint(
        "/machines",
        list_machines,
        title="Machines",
        children=_machine_names,
        description="The server machines that participate in this site.",
    ),
    Endpoint(
        "/machines/{machine}",
        get_machine,
        children=("status",),
        operations=("start", "stop"),
    ),
    Endpoint("/machines/{machine}/status", machine_status, title="Status"),
    Endpoint("/machines/{machine}/start", start_machine, kind=OPERATION, title="Start"),
    Endpoint("/machines/{machine}/stop", stop_machine, kind=OPERATION, title="Stop"),
]
