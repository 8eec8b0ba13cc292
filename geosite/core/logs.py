"""Log levels, geosite's log codes, and the background writer that feeds the log store.

Requests never wait for the log store: records go into an in-process queue that a daemon
thread drains in batches, one transaction per batch. Records below the site's log level are
dropped before they are queued, except audit records (administrative changes), which are
written whatever the level. The writer's thread also hands every record it writes to the
standard ``logging`` module (``geosite.core.log_output``). A record never holds a token or a
password: callers pass paths without query strings, and the writer has no access to request
parameters.
"""

from __future__ import annotations

import enum
import os
import queue
import sys
import threading
import time
from collections.abc import Callable

from geosite.core import log_output
from geosite.core.clock import Clock
from geosite.core.models import LogRecord
from geosite.core.usage import UsageMeter
from geosite.storage.base import LogStore

#: ArcGIS log levels, most severe first, with their rank.
LEVELS: dict[str, int] = {
    "SEVERE": 1000,
    "WARNING": 900,
    "INFO": 800,
    "FINE": 500,
    "VERBOSE": 300,
    "DEBUG": 100,
}
#: ArcGIS Server's default: warnings and worse. FINE adds a record per request.
DEFAULT_LEVEL = "WARNING"


class LogCode(enum.IntEnum):
    """geosite's log codes; the catalogue with meanings is in ``docs/log-codes.md``."""

    SERVER_STARTED = 7001
    SERVER_STOPPED = 7002
    SITE_CREATED = 7010
    MACHINE_JOINED = 7011
    QUARANTINED = 7020
    PERMISSIONS_PRUNED = 7021
    REQUEST_COMPLETED = 7100
    REQUEST_REJECTED = 7101
    ADMIN_OPERATION = 7200
    AUDIT = 7201
    MAP_CACHE = 7210
    TOKEN_ISSUED = 7300
    LOGIN_FAILED = 7301
    ACCOUNT_LOCKED = 7302
    TOKEN_REJECTED = 7303
    INTERNAL_ERROR = 7500


#: The setting that writes nothing: above every level.
OFF_RANK = 10_000


def level_rank(level: str) -> int:
    """Rank of a level name (``OFF`` above all; unknown names rank lowest)."""
    name = level.upper()
    return OFF_RANK if name == "OFF" else LEVELS.get(name, 0)


class LogWriter:
    """Queue records and write them to a ``LogStore`` from a background thread."""

    def __init__(
        self,
        store: LogStore,
        clock: Clock,
        machine: str,
        level: Callable[[], str] = lambda: DEFAULT_LEVEL,
        *,
        flush_interval_s: float = 0.2,
        batch_size: int = 1000,
        on_tick: Callable[[], None] | None = None,
        tick_interval_s: float = 15.0,
        meter: UsageMeter | None = None,
        usage_interval_s: float = 1.0,
    ) -> None:
        self._store = store
        self._clock = clock
        self.machine = machine
        self._level = level
        self._threshold = level_rank(level())
        # Items: a record, a flush marker (an Event set once what came before is written),
        # or None to stop.
        self._queue: queue.SimpleQueue[LogRecord | threading.Event | None] = queue.SimpleQueue()
        self._pid = os.getpid()
        self._flush_interval_s = flush_interval_s
        self._batch_size = batch_size
        self._on_tick = on_tick
        self._tick_interval_s = tick_interval_s
        self._meter = meter
        self._usage_interval_s = usage_interval_s
        self._thread = threading.Thread(target=self._run, name="geosite-log-writer", daemon=True)
        self._thread.start()

    def log(
        self,
        level: str,
        code: LogCode,
        source: str,
        message: str,
        *,
        user: str = "",
        elapsed_ms: float | None = None,
        request_id: str = "",
        method: str = "",
    ) -> None:
        """Queue one record (dropped when below the site's log level, unless an audit one)."""
        if level_rank(level) < self._threshold and code is not LogCode.AUDIT:
            return
        record = LogRecord(
            time_ms=self._clock.now_ms(),
            level=level,
            code=int(code),
            source=source,
            machine=self.machine,
            message=message,
            process=self._pid,
            thread=threading.get_ident() & 0x7FFFFFFF,
            user=user,
            elapsed_ms=elapsed_ms,
            request_id=request_id,
            method=method,
        )
        self._queue.put(record)

    def flush(self, timeout_s: float = 5.0) -> None:
        """Wait until every record queued before this call has been written."""
        done = threading.Event()
        self._queue.put(done)
        done.wait(timeout_s)

    def close(self) -> None:
        """Write what is queued and stop the thread."""
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        next_tick = next_usage = 0.0
        stopping = False
        while not stopping:
            batch: list[LogRecord] = []
            markers: list[threading.Event] = []
            try:
                item = self._queue.get(timeout=self._flush_interval_s)
                while True:
                    if item is None:
                        stopping = True
                        break
                    if isinstance(item, threading.Event):
                        markers.append(item)
                    else:
                        batch.append(item)
                    if len(batch) >= self._batch_size:
                        break
                    item = self._queue.get_nowait()
            except queue.Empty:
                pass
            if batch:
                self._write(batch)
            if markers or stopping or time.monotonic() >= next_usage:
                next_usage = time.monotonic() + self._usage_interval_s
                self._write_usage()
            for marker in markers:
                marker.set()
            if time.monotonic() >= next_tick:
                next_tick = time.monotonic() + self._tick_interval_s
                self._tick()

    def _write(self, batch: list[LogRecord]) -> None:
        try:
            log_output.mirror(batch)
        except Exception as exc:  # stdout's trouble must not lose the store's records
            print(f"geosite: could not hand log records to logging: {exc}", file=sys.stderr)
        try:
            self._store.write(batch)
        except Exception as exc:  # the log store must never take the server down
            print(f"geosite: could not write {len(batch)} log records: {exc}", file=sys.stderr)

    def _write_usage(self) -> None:
        if self._meter is None:
            return
        usage = self._meter.drain()
        if not usage:
            return
        try:
            self._store.add_usage(usage)
        except Exception as exc:  # counted requests are lost, the server goes on
            print(
                f"geosite: could not write usage of {len(usage)} services: {exc}", file=sys.stderr
            )

    def refresh_level(self) -> None:
        """Read the site's log level now (otherwise on the next tick)."""
        self._threshold = level_rank(self._level())

    def _tick(self) -> None:
        try:
            self.refresh_level()
            if self._on_tick is not None:
                self._on_tick()
        except Exception as exc:  # a failed heartbeat is retried on the next tick
            print(f"geosite: log writer tick failed: {exc}", file=sys.stderr)
