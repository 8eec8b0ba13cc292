"""Time, injectable so that tests can move it (token expiry, lockouts)."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Source of the current time in epoch milliseconds."""

    def now_ms(self) -> int:
        """Return the current time in milliseconds since the epoch."""
        ...


class SystemClock:
    """The real wall clock."""

    def now_ms(self) -> int:
        """Return the wall-clock time in milliseconds."""
        return time.time_ns() // 1_000_000


class ManualClock:
    """A clock that only moves when told to (for tests)."""

    def __init__(self, start_ms: int | None = None) -> None:
        self._now = start_ms if start_ms is not None else SystemClock().now_ms()
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        """Return the clock's current time."""
        with self._lock:
            return self._now

    def advance(self, *, minutes: float = 0, seconds: float = 0) -> None:
        """Move the clock forward."""
        with self._lock:
            self._now += int(minutes * 60_000 + seconds * 1000)
