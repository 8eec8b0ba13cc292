"""Resident memory of a server's process group, sampled in a thread during the load."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from feature_config import RSS_INTERVAL_S
from harness import Service

# -- resident memory --------------------------------------------------------------------------

_PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat_fields(pid: int | str) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def group_pids(service: Service) -> list[int]:
    """The server's process group (it runs in its own session) and any other descendant."""
    if service.process is None:
        return []
    pgid = service.process.pid
    found = set(service.pids())
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                if int(_stat_fields(entry.name)[2]) == pgid:
                    found.add(int(entry.name))
    return sorted(found)


def rss_bytes(pids: list[int]) -> int:
    """Sum of the resident set sizes of ``pids``."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
    return total


class MemoryWatch:
    """Samples the RSS of a server's process group in a thread; remembers the timeline."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.timeline: list[tuple[float, str, int]] = []  # (seconds, phase, bytes)
        self.phase = "idle"
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pids: list[int] = []
        self._pids_at = 0.0

    def sample(self, phase: str | None = None) -> int:
        now = time.monotonic()
        if now - self._pids_at > 2.0:  # rescanning /proc costs more than reading statm
            self._pids, self._pids_at = group_pids(self.service), now
        value = rss_bytes(self._pids)
        self.timeline.append((now - self._started, phase or self.phase, value))
        return value

    def _loop(self) -> None:
        while not self._stop.wait(RSS_INTERVAL_S):
            self.sample()

    def __enter__(self) -> MemoryWatch:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @contextlib.contextmanager
    def during(self, phase: str) -> Iterator[None]:
        previous, self.phase = self.phase, phase
        try:
            yield
        finally:
            self.phase = previous

    def peak(self, phase: str | None = None) -> int:
        values = [v for _, p, v in self.timeline if phase is None or p == phase]
        return max(values, default=0)

    def per_process(self) -> dict[str, int]:
        out = {}
        for pid in group_pids(self.service):
            rss = rss_bytes([pid])
            if rss:
                out[f"{pid} {_short_cmdline(pid)}"] = rss
        return out


def _short_cmdline(pid: int) -> str:
    try:
        parts = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    text = " ".join(p.decode(errors="replace") for p in parts if p)
    return text if len(text) <= 90 else text[:87] + "..."


def mib(value: float) -> float:
    return value / 2**20
