"""Starting and stopping the site's machines (``/admin/machines/<name>/start|stop``).

A stopped machine keeps answering the Administrator API (so it can be started again) and
its health check, which then says it is stopped so that a balancer sends requests elsewhere;
its processes refuse every service request. The state lives in the site store, so every
worker of the machine applies it (within a second, or at once on a store that announces
changes).
"""

from __future__ import annotations

import dataclasses
import os
import platform
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from geosite import integers
from geosite.core.models import Machine
from geosite.errors import InvalidParameter, NotFound
from geosite.storage.base import SiteStore

STARTED = "STARTED"
STOPPED = "STOPPED"
_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})$")


def valid_name(name: str) -> bool:
    """Whether ``name`` can name a machine (a host name: letters, digits, '.', '-')."""
    return bool(_NAME.match(name))


def own_admin_url(host: str, port: int, context_path: str, machine_name: str) -> str:
    """The ``adminURL`` a machine registers for itself: its listening address, or its name
    when it listens on every address (``0.0.0.0``, ``::``)."""
    wildcard = host in ("", "0.0.0.0", "::")  # noqa: S104
    shown = machine_name.lower() if wildcard else host
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}{context_path}/admin"


def find(store: SiteStore, name: str) -> Machine:
    """The machine named ``name`` (ignoring case), or ArcGIS's not-found error."""
    machine = store.get_machine(name)
    if machine is None:
        raise NotFound(f"Could not find resource or operation '{name[:128]}' on the system.")
    return machine


def set_state(store: SiteStore, name: str, state: str) -> Machine:
    """``start`` (``STARTED``) or ``stop`` (``STOPPED``) a machine; the machine as it is now."""
    machine = find(store, name)
    if not store.set_machine_state(machine.name, state):  # unregistered meanwhile
        raise NotFound(f"Could not find resource or operation '{name[:128]}' on the system.")
    return find(store, machine.name)


#: The state of a machine the site's store does not know: unregistered through another
#: machine. It serves none of the site's services until it is registered again.
UNREGISTERED = "UNREGISTERED"


def configured_state(store: SiteStore, name: str) -> str:
    """A machine's configured state (``UNREGISTERED`` for a machine the store does not know)."""
    machine = store.get_machine(name)
    return machine.configured_state if machine is not None else UNREGISTERED


#: ``edit``'s numeric properties: the heap sizes (MB, -1: the default) and the ports.
HEAP_SIZES = ("webServerMaxHeapSize", "appServerMaxHeapSize", "socMaxHeapSize")
PORTS = ("HTTPPort", "HTTPSPort", "OpenEJBPort", "JMXPort", "NamingPort", "DerbyPort")
_URL = re.compile(r"^https?://[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?/[A-Za-z0-9_/.-]{0,200}$")


def _whole(name: str, value: Any, low: int, high: int) -> int:
    number = integers.whole(value) if value is not None else None
    if number is None or not low <= number <= high:
        raise InvalidParameter(f"'{name}' must be a whole number from {low} to {high}.")
    return number


def edit(store: SiteStore, name: str, params: Callable[[str], str | None]) -> Machine:
    """``machines/<name>/edit``: the admin URL, heap sizes, certificate alias and ports given
    (the others keep their values). geosite reads the ports and heap sizes from its own
    configuration when a machine starts; they are stored as ArcGIS stores them."""
    machine = find(store, name)
    properties = dict(machine.properties)
    ports = dict(properties.get("ports") or {})
    admin_url = machine.admin_url
    given = params("adminURL")
    if given is not None and given.strip():
        if not _URL.match(given.strip()):
            raise InvalidParameter("'adminURL' must be http(s)://host[:port]/arcgis/admin.")
        admin_url = given.strip().rstrip("/")
    for key in HEAP_SIZES:
        value = params(key)
        if value is not None and value.strip():
            properties[key] = _whole(key, value.strip(), -1, 1_048_576)
    for key in PORTS:
        value = params(key)
        if value is not None and value.strip():
            ports[key] = _whole(key, value.strip(), 1, 65535)
    alias = params("webServerCertificateAlias")
    if alias is not None and alias.strip():
        if len(alias) > 128 or not alias.isprintable():
            raise InvalidParameter("'webServerCertificateAlias' must be a short name.")
        properties["webServerCertificateAlias"] = alias.strip()
    properties["ports"] = ports
    changed = dataclasses.replace(machine, admin_url=admin_url, properties=properties)
    if not store.update_machine(changed):
        raise NotFound(f"Could not find resource or operation '{name[:128]}' on the system.")
    return find(store, machine.name)


def rename(store: SiteStore, name: str, new_name: Any, this_machine: str) -> None:
    """``machines/rename`` (``machineName``, ``newMachineName``), for a machine whose host
    name changed. The machine answering cannot rename itself: its own start-up names it."""
    machine = find(store, name)
    text = str(new_name or "").strip()
    if not _NAME.match(text):
        raise InvalidParameter("'newMachineName' must be a host name (letters, digits, '.', '-').")
    if machine.name.upper() == this_machine.upper():
        raise InvalidParameter(
            f"'{machine.name}' is the machine answering: rename it through another machine of "
            "the site, or start it with GEOSITE_MACHINE_NAME."
        )
    if not store.rename_machine(machine.name, text.upper()):
        raise NotFound(f"Could not find resource or operation '{name[:128]}' on the system.")


def unregister(store: SiteStore, name: str, this_machine: str) -> None:
    """``machines/<name>/unregister``: never the last machine (``deleteSite`` ends a site),
    nor the machine answering (it would serve on outside its site)."""
    machine = find(store, name)
    if len(store.list_machines()) <= 1:
        raise InvalidParameter(
            f"'{machine.name}' is the last machine of the site and cannot be unregistered; "
            "deleteSite removes the site."
        )
    if machine.name.upper() == this_machine.upper():
        raise InvalidParameter(
            f"'{machine.name}' is the machine answering: unregister it through another machine "
            "of the site."
        )
    store.remove_machine(machine.name)


def hardware() -> dict[str, Any]:
    """This machine's processors and memory, as ``machines/<name>/hardware`` shows them."""
    memory_mb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_mb = int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        memory_mb = 0
    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count() or 1,
        "systemMemoryMB": memory_mb,
        "OS": f"{platform.system()} {platform.release()}",
        "architecture": platform.machine(),
    }
