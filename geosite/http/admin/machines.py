"""``/arcgis/admin/machines``: the server machines of the site."""

from __future__ import annotations

from typing import Any

from geosite.core import machines
from geosite.core.models import Machine
from geosite.errors import InvalidParameter
from geosite.http.routing import OPERATION, Call, Endpoint, Field
from geosite.storage.base import SiteStore


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
    return "STARTED" if _responding(call, machine) else "STOPPED"


def _responding(call: Call, machine: Machine) -> bool:
    """Whether the machine beat within ``GEOSITE_MACHINE_TIMEOUT_S`` (this one: it answers)."""
    if machine.name.upper() == call.state.machine_name.upper():
        return True
    silence_ms = call.state.clock.now_ms() - machine.last_seen_ms
    return silence_ms < call.state.settings.machine_timeout_s * 1000


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
        **{key: int(machine.properties.get(key, -1)) for key in machines.HEAP_SIZES},
        "webServerSSLEnabled": True,
        "webServerCertificateAlias": str(
            machine.properties.get("webServerCertificateAlias", "SelfSignedCertificate")
        ),
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


def _store(call: Call) -> SiteStore:
    return call.state.require_site().site.store


def edit_machine(call: Call) -> dict[str, Any]:
    """``POST /admin/machines/{machine}/edit``: ``adminURL``, the heap sizes,
    ``webServerCertificateAlias`` and the ports (those not given keep their values)."""
    machines.edit(_store(call), call.args["machine"], call.params.get)
    return {"status": "success"}


def rename_machine(call: Call) -> dict[str, Any]:
    """``POST /admin/machines/rename`` (``machineName``, ``newMachineName``)."""
    name = call.params.get("machineName")
    if not name:
        raise InvalidParameter("Missing parameter 'machineName'.")
    machines.rename(_store(call), name, call.params.get("newMachineName"), call.state.machine_name)
    return {"status": "success"}


def unregister_machine(call: Call) -> dict[str, Any]:
    """``POST /admin/machines/{machine}/unregister``."""
    machines.unregister(_store(call), call.args["machine"], call.state.machine_name)
    return {"status": "success"}


def synchronize_machine(call: Call) -> dict[str, Any]:
    """``POST /admin/machines/{machine}/synchronizeWithSite``: geosite machines keep no
    configuration of their own (they read the shared store), so there is nothing to copy;
    the machine must exist."""
    _machine(call, call.args["machine"])
    return {"status": "success"}


def machine_hardware(call: Call) -> dict[str, Any]:
    """``GET /admin/machines/{machine}/hardware``: processors and memory, as the machine
    recorded them when it started (this machine's, read now)."""
    machine = _machine(call, call.args["machine"])
    if machine.name.upper() == call.state.machine_name.upper():
        return machines.hardware()
    recorded = machine.properties.get("hardware")
    return dict(recorded) if isinstance(recorded, dict) else {}


ENDPOINTS = [
    Endpoint(
        "/machines",
        list_machines,
        title="Machines",
        children=_machine_names,
        operations=("register", "rename"),
        description="The server machines that participate in this site.",
    ),
    Endpoint(
        "/machines/rename",
        rename_machine,
        kind=OPERATION,
        title="Rename Machine",
        fields=(
            Field("machineName", "Machine name", required=True),
            Field("newMachineName", "New machine name", required=True),
        ),
    ),
    Endpoint(
        "/machines/{machine}",
        get_machine,
        children=("status", "hardware"),
        operations=("start", "stop", "edit", "unregister", "synchronizeWithSite"),
    ),
    Endpoint("/machines/{machine}/hardware", machine_hardware, title="Hardware"),
    Endpoint(
        "/machines/{machine}/edit",
        edit_machine,
        kind=OPERATION,
        title="Edit",
        fields=(
            Field("adminURL", "Admin URL"),
            *(Field(key, key, kind="number") for key in machines.HEAP_SIZES),
            Field("webServerCertificateAlias", "Web server certificate alias"),
            *(Field(key, key, kind="number") for key in machines.PORTS),
        ),
    ),
    Endpoint(
        "/machines/{machine}/unregister", unregister_machine, kind=OPERATION, title="Unregister"
    ),
    Endpoint(
        "/machines/{machine}/synchronizeWithSite",
        synchronize_machine,
        kind=OPERATION,
        title="Synchronize With Site",
    ),
    Endpoint("/machines/{machine}/status", machine_status, title="Status"),
    Endpoint("/machines/{machine}/start", start_machine, kind=OPERATION, title="Start"),
    Endpoint("/machines/{machine}/stop", stop_machine, kind=OPERATION, title="Stop"),
]
