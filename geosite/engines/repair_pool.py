"""Polygon repair in worker processes, each bounded by a deadline and a memory cap.

Repairing a self-intersecting polygon has no useful bound: ``make_valid`` took 18 s on a
250-vertex star and over 5 minutes and 12 GB on a 200,000-vertex random ring. The server
therefore never repairs a large or invalid polygon itself: it hands the rings to a worker
process (``python -m geosite.engines.repair_pool``) and waits at most the deadline. A worker
late with its answer is killed and a new one started when next needed; its address space is
capped (``RLIMIT_AS``), so a repair that needs more memory fails in the worker, not the server.

Workers start lazily (the first repair), at most ``MAX_WORKERS`` at once; a process made by
``fork`` (uvicorn's workers) starts its own and never touches its parent's; ``shutdown`` (the
app's shutdown, and ``atexit``) ends them. A worker whose server dies reads the end of its
input and exits.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path
from typing import IO

import numpy as np

#: Worker processes at most (each repair takes one; others wait for a free one).
MAX_WORKERS = 2
#: Address space a worker may use beyond what it holds once started.
MEMORY_CAP_BYTES = 1 << 30
#: How long a repair waits for a free worker before it is refused.
WAIT_FOR_WORKER_S = 10.0
_START_TIMEOUT_S = 30.0
_REQUEST = struct.Struct("<QQ")
_REPLY = struct.Struct("<BQ")
OK, EMPTY, NO_MEMORY, BAD_SHAPE = 0, 1, 2, 3
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class RepairFailed(Exception):
    """The repair did not give a polygon; ``reason`` is "time", "memory", "busy" or "shape"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Worker:
    """One worker process and its pipes."""

    def __init__(self, memory_cap: int) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
        self.process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", "geosite.engines.repair_pool", str(memory_cap)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self._in: IO[bytes] = self.process.stdin  # type: ignore[assignment]
        self._out: IO[bytes] = self.process.stdout  # type: ignore[assignment]
        if self._read(1, time.monotonic() + _START_TIMEOUT_S) != b"R":
            self.kill()
            raise RepairFailed("busy")

    def _read(self, size: int, until: float) -> bytes | None:
        """``size`` bytes of the worker's answer, or None when it is late or gone."""
        chunks, missing, fd = [], size, self._out.fileno()
        while missing:
            remaining = until - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                return None
            chunk = os.read(fd, min(missing, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            missing -= len(chunk)
        return b"".join(chunks)

    def run(self, coords: np.ndarray, offsets: np.ndarray, deadline_s: float) -> tuple[int, bytes]:
        """(status, WKB) of one repair; raises ``RepairFailed`` (and ends the worker) when the
        worker is late or gone."""
        until = time.monotonic() + deadline_s
        try:
            self._in.write(_REQUEST.pack(len(coords), len(offsets)))
            self._in.write(np.ascontiguousarray(coords, dtype="<f8").tobytes())
            self._in.write(np.ascontiguousarray(offsets, dtype="<i8").tobytes())
            self._in.flush()
        except OSError:  # it ended meanwhile: the caller tries a new one
            self.kill()
            raise RepairFailed("gone") from None
        head = self._read(_REPLY.size, until)
        if head is None:
            self.kill()
            raise RepairFailed("time")
        status, size = _REPLY.unpack(head)
        payload = self._read(size, until + 5) if size else b""
        if payload is None:
            self.kill()
            raise RepairFailed("time")
        return status, payload

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for pipe in (self._in, self._out):
            with contextlib.suppress(OSError):
                pipe.close()

    def forget(self) -> None:
        """In a forked child: close the inherited pipes, leave the parent's process alone."""
        for pipe in (self._in, self._out):
            with contextlib.suppress(OSError, ValueError):
                os.close(pipe.fileno())
        self.process.returncode = 0  # not ours to wait for


class RepairPool:
    """Up to ``max_workers`` repair workers, started when needed."""

    def __init__(self, max_workers: int = MAX_WORKERS, memory_cap: int = MEMORY_CAP_BYTES) -> None:
        self.max_workers = max_workers
        self.memory_cap = memory_cap
        self._reset()
        _POOLS.add(self)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self.max_workers)
        self._idle: list[_Worker] = []
        self._live: set[_Worker] = set()
        self._generation = 0  # one more at each shutdown: late replacements are not kept

    def repair(self, coords: np.ndarray, offsets: np.ndarray, deadline_s: float) -> bytes:
        """The WKB of the valid MultiPolygon made of the rings (see ``rings.assemble``)."""
        if not self._slots.acquire(timeout=WAIT_FOR_WORKER_S):
            raise RepairFailed("busy")
        try:
            for attempt in range(2):
                worker = self._take()
                try:
                    status, payload = worker.run(coords, offsets, deadline_s)
                    if status == NO_MEMORY:
                        worker.kill()  # it ends itself: never hand it out again
                    break
                except RepairFailed as failed:
                    if failed.reason != "gone" or attempt:
                        raise
                finally:
                    self._give_back(worker)
        finally:
            self._slots.release()
        if status == OK:
            return payload
        raise RepairFailed({EMPTY: "empty", NO_MEMORY: "memory"}.get(status, "shape"))

    def _take(self) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive:
                    return worker
                self._live.discard(worker)
                worker.kill()
        worker = _Worker(self.memory_cap)
        with self._lock:
            self._live.add(worker)
        return worker

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            if worker.alive and worker in self._live:
                self._idle.append(worker)
                return
            self._live.discard(worker)
            generation = self._generation
        worker.kill()
        # A worker ended for being late: its replacement starts now, not on the next repair.
        threading.Thread(target=self._replace, args=(generation,), daemon=True).start()

    def _replace(self, generation: int) -> None:
        try:
            worker = _Worker(self.memory_cap)
        except (OSError, RepairFailed):
            return
        with self._lock:
            if generation == self._generation and len(self._live) < self.max_workers:
                self._live.add(worker)
                self._idle.append(worker)
                return
        worker.kill()

    def workers(self) -> list[int]:
        """The process ids of the live workers (for tests and the soak)."""
        with self._lock:
            return [w.process.pid for w in self._live if w.alive]

    def shutdown(self) -> None:
        """End every worker; the next repair starts new ones."""
        with self._lock:
            live, self._live, self._idle = list(self._live), set(), []
            self._generation += 1
        for worker in live:
            worker.kill()

    def after_fork(self) -> None:
        """In a forked child: forget the parent's workers (without ending them)."""
        for worker in self._live:
            worker.forget()
        self._reset()


def _after_fork() -> None:
    for pool in list(_POOLS):
        pool.after_fork()


_POOLS: weakref.WeakSet[RepairPool] = weakref.WeakSet()
os.register_at_fork(after_in_child=_after_fork)
POOL = RepairPool()
atexit.register(POOL.shutdown)


def shutdown() -> None:
    """End the repair workers of this process (the app's shutdown)."""
    POOL.shutdown()


# -- the worker side --------------------------------------------------------------------------


def _read_exact(stream: IO[bytes], size: int) -> bytes | None:
    data = stream.read(size)
    return data if data is not None and len(data) == size else None


def _cap_memory(extra: int) -> None:
    import resource

    with open("/proc/self/statm") as statm:
        held = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (held + extra, held + extra))


def _serve(memory_cap: int) -> None:
    import shapely

    from geosite.engines.rings import assemble, made_valid

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server ends its workers itself
    # Without /proc or RLIMIT_AS, the deadline alone bounds the repair.
    with contextlib.suppress(OSError, ValueError, ImportError):
        _cap_memory(memory_cap)
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    out.write(b"R")
    out.flush()
    while True:
        head = _read_exact(inp, _REQUEST.size)
        if head is None:
            return
        count, parts = _REQUEST.unpack(head)
        coords_bytes = _read_exact(inp, count * 16) if count else b""
        offsets_bytes = _read_exact(inp, parts * 8)
        if coords_bytes is None or offsets_bytes is None:
            return
        coords = np.frombuffer(coords_bytes, dtype="<f8").reshape(count, 2)
        offsets = np.frombuffer(offsets_bytes, dtype="<i8")
        status, payload = OK, b""
        try:
            shape = made_valid(assemble(coords, offsets))
            if shape.is_empty:
                status = EMPTY
            else:
                payload = shapely.to_wkb(shape, byte_order=1)
        except MemoryError:
            status = NO_MEMORY
        except (ValueError, shapely.errors.GEOSException) as exc:
            status = NO_MEMORY if "alloc" in str(exc) else BAD_SHAPE
        try:
            out.write(_REPLY.pack(status, len(payload)) + payload)
            out.flush()
        except MemoryError:
            return
        if status == NO_MEMORY:
            return  # start afresh after memory ran out


if __name__ == "__main__":
    _serve(int(sys.argv[1]) if len(sys.argv) > 1 else MEMORY_CAP_BYTES)
