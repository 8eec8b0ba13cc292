"""Announcing changes of a PostgreSQL site store to every process that uses it.

Each change transaction raises the schema's change counter and sends ``NOTIFY`` on the
schema's channel (``geosite.storage._pg.PgDatabase.transaction``); both take effect at commit.
One thread per process listens on its own connection and calls the subscribers on each
notice. When that connection drops (the server restarted, an administrator ended the
session), the thread polls the counter every ``POLL_S`` seconds, calling the subscribers when
it moved, while it tries to listen again; every ``RECONNECT_S`` seconds.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable

import psycopg
from psycopg import sql

from geosite.storage._pg import CONNECT_TIMEOUT_S, Conn, PgDatabase

#: How often the counter is read while no notice can arrive.
POLL_S = 0.25
#: How often the thread tries to listen again after its connection dropped.
RECONNECT_S = 2.0


class ChangeWatcher:
    """One listening thread; ``subscribe`` adds a callback."""

    def __init__(self, db: PgDatabase) -> None:
        self._db = db
        self._subscribers: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._conn: Conn | None = None
        self._counter: int | None = None
        #: Whether the thread is listening now (False: polling); for tests and diagnostics.
        self.listening = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"geosite-watch-{db.schema}", daemon=True
        )
        self._thread.start()

    def subscribe(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` on every change from now on."""
        with self._lock:
            self._subscribers.append(callback)

    def backend_pid(self) -> int | None:
        """The server process of the listening connection (None while polling)."""
        conn = self._conn
        return conn.info.backend_pid if conn is not None and not conn.closed else None

    def _announce(self) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback()
            except Exception as exc:  # one bad subscriber must not stop the rest
                print(f"geosite: a change subscriber failed: {exc!r}", file=sys.stderr)

    def _read_counter(self) -> int | None:
        try:
            with self._db.connection() as conn:
                row = conn.execute("SELECT counter FROM change_counter").fetchone()
        except Exception:  # the database is away: poll again later
            return None
        return int(str(row[0])) if row else None

    def _poll(self) -> None:
        """One read of the counter: subscribers are called when it moved."""
        found = self._read_counter()
        if found is not None and found != self._counter:
            self._counter = found
            self._announce()

    def _listen(self) -> Conn:
        conn = psycopg.connect(self._db.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._db.channel)))
        return conn

    def _run(self) -> None:
        next_try = 0.0
        while not self._stop.is_set():
            if self._conn is None and time.monotonic() >= next_try:
                try:
                    self._conn = self._listen()
                    self.listening.set()
                    self._poll()  # what changed while nobody listened
                except psycopg.Error:
                    next_try = time.monotonic() + RECONNECT_S
            conn = self._conn
            if conn is None:
                self._poll()
                self._stop.wait(POLL_S)
                continue
            try:
                # On the first notice (and whatever came in the same packet), not at the end
                # of the wait: with stop_after=None a change waited out the rest of POLL_S.
                notices = list(conn.notifies(timeout=POLL_S, stop_after=1))
            except psycopg.Error:
                self.listening.clear()
                self._conn = None
                conn.close()
                next_try = time.monotonic() + RECONNECT_S
                self._poll()
                continue
            if notices:
                self._counter = None  # the next poll (after a drop) announces again: harmless
                self._announce()

    def close(self) -> None:
        """Stop the thread and close its connection."""
        self._stop.set()
        self._thread.join(timeout=5)
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
