"""A pool of PostgreSQL connections to one schema of the site's database (psycopg 3).

Every connection runs with ``search_path`` set to the store's schema and in autocommit mode:
a read is one statement on its own snapshot, a write is an explicit ``transaction()``
(READ COMMITTED, with the row locks each operation takes, see ``postgresql.py``). A
transaction that PostgreSQL breaks off to resolve a deadlock or a serialization conflict is
run again from the start by ``write``.

Names compare as SQLite's ``COLLATE NOCASE`` does: the SQL function ``nocase`` folds the 26
ASCII capitals and nothing else, and the columns sort byte for byte (``COLLATE "C"``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool, PoolTimeout

from geosite.errors import GeositeError, InvalidParameter

T = TypeVar("T")
Conn = psycopg.Connection[tuple[Any, ...]]

#: How long a connection attempt waits for the server.
CONNECT_TIMEOUT_S = 10
#: How long a request waits for a connection (the database away: an error, never a hang).
POOL_TIMEOUT_S = 5.0
#: How many times a transaction broken off by a deadlock or serialization failure is retried.
RETRIES = 8
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")
_PASSWORD_IN_AUTHORITY = re.compile(r"^([a-z]+://[^/?#@:]*):[^/?#]*@", re.IGNORECASE)
_PASSWORD_PARAMETER = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)
_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold(text: str) -> str:
    """``text`` as the SQL function ``nocase`` folds it (ASCII capitals only)."""
    return text.translate(_FOLD)


def is_postgresql(url: str) -> bool:
    """Whether ``url`` names a PostgreSQL database."""
    return url.startswith(("postgresql://", "postgres://"))


def display_url(url: str) -> str:
    """``url`` with its password (in the authority or as a ``password=`` parameter) replaced
    by ``***``: never show or log a password. Works on URLs libpq would refuse too."""
    url = _PASSWORD_IN_AUTHORITY.sub(r"\1:***@", url)
    return _PASSWORD_PARAMETER.sub(r"\1***", url)


class StoreUnavailable(GeositeError):
    """The configuration store's database cannot be reached (503; which database, without its
    password, and the driver's words go to the log only)."""

    code = 503


def check_connection(url: str) -> None:
    """Connect once, answering ``InvalidParameter`` with a clear message when that fails."""
    try:
        with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except (psycopg.Error, ValueError) as exc:
        raise InvalidParameter(
            f"Cannot connect to the configuration store {display_url(url)}.",
            private=[str(exc)],
        ) from None


def nocase_function(schema: str) -> sql.Composed:
    """The statement that makes ``<schema>.nocase(text)``."""
    return sql.SQL(
        "CREATE OR REPLACE FUNCTION {}.nocase(text) RETURNS text LANGUAGE sql IMMUTABLE STRICT "
        "PARALLEL SAFE AS $$ SELECT pg_catalog.translate($1, "
        "'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') $$"
    ).format(sql.Identifier(schema))


class PgDatabase:
    """Pooled connections to one schema; ``transaction()`` and ``write()`` for changes.

    With ``notify``, each change transaction raises the schema's change counter and sends a
    NOTIFY on the schema's channel in the same transaction (see ``geosite.storage._pg_watch``).
    """

    def __init__(self, url: str, schema: str, *, max_size: int, notify: bool) -> None:
        if not _SCHEMA_NAME.match(schema):
            raise ValueError(f"invalid schema name {schema!r}")
        self.url = url
        self.schema = schema
        self.channel = f"{schema}_changes"
        self._notify = notify
        self._lock = threading.Lock()
        self._pool: ConnectionPool[Conn] | None = None
        self._max_size = max_size

    def _configure(self, conn: Conn) -> None:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))

    @property
    def pool(self) -> ConnectionPool[Conn]:
        """The pool, opened on first use."""
        pool = self._pool
        if pool is None:
            with self._lock:
                pool = self._pool
                if pool is None:
                    pool = ConnectionPool(
                        self.url,
                        min_size=1,
                        max_size=self._max_size,
                        kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S},
                        configure=self._configure,
                        # A connection the server dropped (restarted, ended) is replaced
                        # before use, so that no request fails on it.
                        check=ConnectionPool.check_connection,
                        timeout=POOL_TIMEOUT_S,
                        # Short attempts (backing off 1, 2, 4 s): after one fails, the next
                        # request starts another, so the pool comes back with the server.
                        reconnect_timeout=10,
                        open=False,
                        name=f"geosite-{self.schema}",
                    )
                    pool.open(wait=False)
                    self._pool = pool
        return pool

    @contextmanager
    def connection(self) -> Iterator[Conn]:
        """A pooled connection for reads (autocommit: each statement its own snapshot)."""
        try:
            with self.pool.connection() as conn:
                yield conn
        except (PoolTimeout, psycopg.OperationalError) as exc:
            raise StoreUnavailable(
                "The site's configuration store cannot be reached. Try again later.",
                private=[f"{display_url(self.url)} (schema {self.schema}): {exc}"],
            ) from None

    @contextmanager
    def transaction(self) -> Iterator[Conn]:
        """One write transaction: committed on success (with the change notice), rolled back
        on error."""
        with self.connection() as conn, conn.transaction():
            yield conn
            if self._notify:
                conn.execute("UPDATE change_counter SET counter = counter + 1")
                conn.execute("SELECT pg_notify(%s, '')", (self.channel,))

    def write(self, action: Callable[[Conn], T]) -> T:
        """Run ``action`` in a transaction, again when PostgreSQL broke it off to resolve a
        deadlock or a serialization conflict (nothing of the failed attempt stays)."""
        attempt = 1
        while True:
            try:
                with self.transaction() as conn:
                    return action(conn)
            except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
                if attempt >= RETRIES:
                    raise
                attempt += 1

    def drop_schema(self) -> None:
        """Drop the schema and all it holds, then close the pool (used again, it starts over)."""
        with self.connection() as conn:
            conn.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.schema))
            )
        self.close()

    def close(self) -> None:
        """Close every connection of the pool."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
