"""Counting requests per service: the figures behind a service's ``statistics`` and reports.

Each worker process adds its requests to an in-memory tally per service and minute; the log
writer thread moves the tally to the log store about once a second (and on every flush), where
the rows of all workers and machines add up. Counting does not depend on the log level, and
costs a dictionary update per request.
"""

from __future__ import annotations

import threading
from typing import Any

from geosite.core.models import ServiceUsage

_MINUTE_MS = 60_000


class UsageMeter:
    """The tally of one process."""

    def __init__(self, machine: str) -> None:
        self.machine = machine
        self._lock = threading.Lock()
        self._tally: dict[tuple[str, int], list[Any]] = {}

    def record(self, service: str, time_ms: int, elapsed_ms: float, failed: bool) -> None:
        """Count one request to ``service`` (its permission key) that took ``elapsed_ms``."""
        key = (service.lower(), time_ms - time_ms % _MINUTE_MS)
        with self._lock:
            entry = self._tally.get(key)
            if entry is None:
                self._tally[key] = [1, int(failed), elapsed_ms, elapsed_ms]
                return
            entry[0] += 1
            entry[1] += int(failed)
            entry[2] += elapsed_ms
            if elapsed_ms > entry[3]:
                entry[3] = elapsed_ms

    def drain(self) -> list[ServiceUsage]:
        """What was counted since the last drain (and forget it)."""
        with self._lock:
            tally, self._tally = self._tally, {}
        return [
            ServiceUsage(self.machine, service, minute, n, failures, total, longest)
            for (service, minute), (n, failures, total, longest) in tally.items()
        ]


def summary(rows: list[ServiceUsage]) -> dict[str, Any]:
    """ArcGIS-style totals of some usage rows: requests, failures, average and maximum time."""
    requests = sum(r.requests for r in rows)
    total = sum(r.total_ms for r in rows)
    return {
        "transactions": requests,
        "failures": sum(r.failures for r in rows),
        "totalBusyTime": round(total),
        "avgResponseTime": round(total / requests, 3) if requests else 0,
        "maxResponseTime": round(max((r.max_ms for r in rows), default=0.0), 3),
    }
