"""Letting go of the data files of services that are deleted, renamed or stopped, in every
worker of the machine.

The worker that handles the change calls ``release_service`` at once; every worker runs a
``HandleSweeper`` that, about once a second, closes the connections it keeps to GeoPackages
that no started service of its site serves any more, or whose file was deleted or replaced
(by another worker's ``delete``, ``stop``, ``overwrite`` or a restore).
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from geosite.core.models import Service
from geosite.core.service_admin import STARTED
from geosite.core.services import data_directory
from geosite.data import handles
from geosite.errors import NotFound
from geosite.storage.base import SiteStore

#: How often each worker looks for files to let go of.
SWEEP_INTERVAL_S = 1.0


def data_path(service: Service) -> str | None:
    """The GeoPackage a service serves (None for a service without data of the site's)."""
    private: Any = service.definition.get("_geosite")
    data = private.get("data") if isinstance(private, dict) else None
    return data if isinstance(data, str) and data else None


def release_service(service: Service) -> None:
    """Close this worker's connections to the service's data (the others do on their sweep)."""
    path = data_path(service)
    if path is not None:
        handles.release(path)


class HandleSweeper:
    """A thread of each worker that closes the handles of files no started service serves."""

    def __init__(self, store: SiteStore, interval_s: float = SWEEP_INTERVAL_S) -> None:
        self._store = store
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="geosite-file-sweeper", daemon=True)

    def start(self) -> None:
        """Start sweeping, once every ``interval_s``."""
        self._thread.start()

    def close(self) -> None:
        """Stop the thread (the handles stay with whoever closes the stores)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def sweep(self) -> list[str]:
        """Release the stale files now; returns their paths."""
        if not handles.open_paths():
            return []
        served = set()
        for service in self._store.list_services():
            path = data_path(service)
            if path is not None and service.configured_state == STARTED:
                served.add(path)
        try:
            directory = data_directory(self._store)
        except NotFound:  # no SYSTEM directory: no data files either
            return []
        return handles.release_stale(str(directory), served)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self.sweep()
            except Exception as exc:  # tried again on the next round
                print(f"geosite: could not release unused data files: {exc}", file=sys.stderr)
