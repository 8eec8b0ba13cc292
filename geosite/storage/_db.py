"""Per-thread SQLite connections with WAL and the store's durability setting."""

from __future__ import annotations

import random
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: How long a new connection keeps trying to switch a database to WAL while others hold it.
WAL_SWITCH_S = 30.0


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL. Connections opening a new file together can be refused at once (SQLite
    answers SQLITE_BUSY without waiting when the lock upgrade could deadlock): try again."""
    deadline = time.monotonic() + WAL_SWITCH_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.005 + random.random() * 0.02)  # noqa: S311 - a backoff, not a secret


class _Held:
    """A thread's connection, closed when nothing holds it any more: when its thread ends
    (Python drops the thread's ``threading.local`` values then) or ``Connections.close``."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __del__(self) -> None:
        self.conn.close()


class Connections:
    """One sqlite3 connection per thread for one database file.

    The connection of a thread that has ended is closed with it: thread pools retire idle
    threads and start new ones, and each would otherwise leave its connection (two or three
    open files) behind for the life of the process.
    """

    def __init__(self, path: Path, synchronous: str) -> None:
        self.path = path
        self._synchronous = synchronous
        self._local = threading.local()
        self._all: weakref.WeakSet[_Held] = weakref.WeakSet()
        self._lock = threading.Lock()

    def get(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        held: _Held | None = getattr(self._local, "held", None)
        conn = held.conn if held is not None else None
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            _use_wal(conn)
            conn.execute(f"PRAGMA synchronous={self._synchronous}")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            held = _Held(conn)
            self._local.held = held  # the only strong reference: it ends with the thread
            with self._lock:
                self._all.add(held)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An immediate (write) transaction, committed on success and rolled back on error."""
        conn = self.get()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def remove_files(self) -> None:
        """Close every connection and delete the database file with its WAL and shared memory."""
        self.close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)

    def close(self) -> None:
        """Close every connection this object opened."""
        with self._lock:
            for held in list(self._all):
                held.conn.close()
            self._all.clear()
        self._local = threading.local()
