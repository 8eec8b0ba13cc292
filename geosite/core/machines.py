"""Starting and stopping the site's machines (``/admin/machines/<name>/start|stop``).

A stopped machine keeps answering the Administrator API (so it can be started again) and
its health check, which then says it is stopped so that a balancer sends requests elsewhere;
its processes refuse every service request. The state lives in the site store, so every
worker of the machine applies it (within a second, or at once on a store that announces
changes).
"""

from __future__ import annotations

from geosite.core.models import Machine
from geosite.errors import NotFound
from geosite.storage.base import SiteStore

STARTED = "STARTED"
STOPPED = "STOPPED"


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


def configured_state(store: SiteStore, name: str) -> str:
    """A machine's configured state (``STARTED`` for a machine the store does not know)."""
    machine = store.get_machine(name)
    return machine.configured_state if machine is not None else STARTED
