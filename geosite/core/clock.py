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


class AdjustableClock:
    """The wall clock plus an offset that tests move forward (token expiry, lockouts)."""

    def __init__(self) -> None:
        self._offset_ms = 0
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        """Return the wall-clock time moved by the offset."""
        with self._lock:
            return time.time_ns() // 1_000_000 + self._offset_ms

    def advance(self, *, minutes: float = 0, seconds: float = 0) -> None:
        """Move the clock forward."""
        with self._lock:
            self._offset_ms += int(minutes * 60_000 + seconds * 1000)
