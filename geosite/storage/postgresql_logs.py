"""PostgreSQL backend of the log store (its own schema, ``geosite_logs`` by default).

Machine, service, source and user names compare ignoring ASCII case where SQLite's columns
and queries do (``nocase``); records are written in one transaction per batch and read
newest first, ties by the order they were written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from geosite.core.models import LogFilter, LogRecord, ServiceUsage
from geosite.storage._pg import PgDatabase, fold
from geosite.storage.base import LogStore
from geosite.storage.postgresql_schema import LOG_SCHEMA, stored_version, upgrade

HOUR_MS = 3_600_000
_UPSERT = (
    "INSERT INTO {table} (machine, service, minute_ms, requests, failures, total_ms, max_ms) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (nocase(machine), nocase(service), minute_ms) DO UPDATE "
    "SET requests = {table}.requests + excluded.requests, "
    "failures = {table}.failures + excluded.failures, "
    "total_ms = {table}.total_ms + excluded.total_ms, "
    "max_ms = greatest({table}.max_ms, excluded.max_ms)"
)
_SUMS = "sum(requests), sum(failures), sum(total_ms), max(max_ms)"
_LOG_COLUMNS = (
    "time_ms, level, code, source, machine, process, thread, user_name, elapsed_ms, request_id,"
    " method, message"
)
#: Sources about a service end with its type (``Maps/Cities.MapServer``); the others are
#: parts of the server (``Rest``, ``Admin``, ``Server``). SQLite's LIKE ignores ASCII case.
_SERVICE_SOURCE = "nocase(source) LIKE '%%_._%%server'"


def _usage(row: Sequence[Any]) -> ServiceUsage:
    return ServiceUsage(
        str(row[0]),
        str(row[1]),
        int(row[2]),
        int(row[3]),
        int(row[4]),
        float(row[5]),
        float(row[6]),
    )


class PostgresLogStore(LogStore):
    """Log store in a schema of a PostgreSQL database."""

    def __init__(self, url: str, schema: str = "geosite_logs", *, max_connections: int = 4) -> None:
        self._db = PgDatabase(url, schema, max_size=max_connections, notify=False)

    def initialize_schema(self) -> None:
        """Create the layout, or apply the migrations it lacks (see ``VersionedStore``)."""
        upgrade(self._db, LOG_SCHEMA)

    def schema_version(self) -> int:
        """The version of the layout in the schema."""
        return stored_version(self._db)

    def latest_schema_version(self) -> int:
        """The version this geosite writes."""
        return LOG_SCHEMA.latest

    def close(self) -> None:
        """Close this process's connections."""
        self._db.close()

    def destroy(self) -> None:
        """Drop the store's schema (see ``VersionedStore``)."""
        self._db.drop_schema()

    def add_usage(self, usage: Sequence[ServiceUsage]) -> None:
        """Add per-minute counts (and to their hours)."""
        rows = [
            (u.machine, u.service, u.minute_ms, u.requests, u.failures, u.total_ms, u.max_ms)
            for u in usage
        ]
        hours = [(*row[:2], row[2] - row[2] % HOUR_MS, *row[3:]) for row in rows]
        with self._db.transaction() as conn, conn.cursor() as cur:
            cur.executemany(_UPSERT.format(table="service_usage").encode(), rows)
            cur.executemany(_UPSERT.format(table="service_usage_hour").encode(), hours)

    def usage(self, since_ms: int, services: Sequence[str] | None = None) -> list[ServiceUsage]:
        """Totals per machine and service."""
        query = (
            "SELECT min(machine), min(service), min(minute_ms), sum(requests), sum(failures), "
            "sum(total_ms), max(max_ms) FROM service_usage WHERE minute_ms >= %s"
        )
        bound: list[Any] = [since_ms]
        if services is not None:
            query += " AND nocase(service) = ANY(%s)"
            bound.append([fold(s) for s in services])
        query += (
            " GROUP BY nocase(machine), nocase(service) ORDER BY nocase(machine), nocase(service)"
        )
        with self._db.connection() as conn:
            rows = conn.execute(query.encode(), bound).fetchall()
        return [_usage(r) for r in rows]

    def usage_slices(
        self, from_ms: int, to_ms: int, slice_ms: int, machines: Sequence[str] | None = None
    ) -> list[ServiceUsage]:
        """Sums per service, machine and slice: whole hours from the hourly table when the
        slices are whole hours from an hour, the minutes of the last partial hour from the
        minute table."""
        hourly = slice_ms % HOUR_MS == 0 and from_ms % HOUR_MS == 0
        split = to_ms - to_ms % HOUR_MS if hourly else from_ms
        parts: list[str] = []
        bound: list[Any] = []
        for table, start, end in (
            ("service_usage_hour", from_ms, split),
            ("service_usage", split, to_ms),
        ):
            if start >= end:
                continue
            columns = "machine, service, minute_ms, requests, failures, total_ms, max_ms"
            part = f"SELECT {columns} FROM {table} WHERE minute_ms >= %s AND minute_ms < %s"  # noqa: S608
            bound += [start, end]
            if machines is not None:
                part += " AND nocase(machine) = ANY(%s)"
                bound.append([fold(m) for m in machines])
            parts.append(part)
        if not parts:
            return []
        query = (
            "SELECT min(machine), min(service), slice, "  # noqa: S608
            f"{_SUMS} FROM (SELECT *, %s::bigint + ((minute_ms - %s::bigint) / %s::bigint) "
            f"* %s::bigint AS slice FROM ({' UNION ALL '.join(parts)}) AS minutes) AS sliced "
            "GROUP BY nocase(service), nocase(machine), slice "
            "ORDER BY nocase(service), slice, nocase(machine)"
        )
        with self._db.connection() as conn:
            rows = conn.execute(
                query.encode(), [from_ms, from_ms, slice_ms, slice_ms, *bound]
            ).fetchall()
        return [_usage(r) for r in rows]

    def delete_usage(self, before_ms: int) -> int:
        """Remove old per-minute counts."""
        with self._db.transaction() as conn:
            # An hour goes once all its minutes have gone.
            hour = before_ms - before_ms % HOUR_MS
            conn.execute("DELETE FROM service_usage_hour WHERE minute_ms < %s", (hour,))
            return conn.execute(
                "DELETE FROM service_usage WHERE minute_ms < %s", (before_ms,)
            ).rowcount

    def write(self, records: Sequence[LogRecord]) -> None:
        """Append records."""
        with self._db.transaction() as conn, conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO logs ({_LOG_COLUMNS}) "  # noqa: S608
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)".encode(),
                [
                    (
                        r.time_ms,
                        r.level,
                        r.code,
                        r.source,
                        r.machine,
                        r.process,
                        r.thread,
                        r.user,
                        r.elapsed_ms,
                        r.request_id,
                        r.method,
                        r.message,
                    )
                    for r in records
                ],
            )

    def query(
        self,
        *,
        newest_ms: int | None = None,
        oldest_ms: int | None = None,
        levels: Sequence[str] | None = None,
        limit: int = 1000,
        where: LogFilter | None = None,
    ) -> list[LogRecord]:
        """Records in a time window matching the filter, newest first."""
        clauses: list[str] = []
        params: list[Any] = []
        if newest_ms is not None:
            clauses.append("time_ms <= %s")
            params.append(newest_ms)
        if oldest_ms is not None:
            clauses.append("time_ms >= %s")
            params.append(oldest_ms)
        if levels:
            clauses.append(_in("level", levels, params))
        if where is not None:
            _filter_clauses(where, clauses, params)
        condition = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        params.append(limit)
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_LOG_COLUMNS} FROM logs {condition} "  # noqa: S608
                "ORDER BY time_ms DESC, id DESC LIMIT %s".encode(),
                params,
            ).fetchall()
        return [
            LogRecord(
                time_ms=int(r[0]),
                level=r[1],
                code=int(r[2]),
                source=r[3],
                machine=r[4],
                process=int(r[5]),
                thread=int(r[6]),
                user=r[7],
                elapsed_ms=r[8],
                request_id=r[9],
                method=r[10],
                message=r[11],
            )
            for r in rows
        ]

    def delete_logs(self, before_ms: int | None = None) -> int:
        """Remove old records (all with None)."""
        with self._db.transaction() as conn:
            if before_ms is None:
                return conn.execute("DELETE FROM logs").rowcount
            return conn.execute("DELETE FROM logs WHERE time_ms < %s", (before_ms,)).rowcount

    def count_logs(
        self, levels: Sequence[str], machines: Sequence[str] | None = None
    ) -> dict[str, int]:
        """Records with one of ``levels`` per machine."""
        params: list[Any] = []
        clauses = [_in("level", levels, params)]
        if machines is not None:
            clauses.append(_in("machine", machines, params, nocase=True))
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT machine, count(*) FROM logs WHERE {' AND '.join(clauses)} "  # noqa: S608
                "GROUP BY machine".encode(),
                params,
            ).fetchall()
        return {str(machine): int(str(count)) for machine, count in rows}


def _in(column: str, values: Sequence[Any], params: list[Any], *, nocase: bool = False) -> str:
    """``column = ANY(%s)`` with the values bound as one array; an empty list matches nothing."""
    if not values:
        return "false"
    if nocase:
        params.append([fold(str(v)) for v in values])
        return f"nocase({column}) = ANY(%s)"
    params.append(list(values))
    return f"{column} = ANY(%s)"


def _filter_clauses(where: LogFilter, clauses: list[str], params: list[Any]) -> None:
    if where.codes is not None:
        clauses.append(_in("code", where.codes, params))
    if where.process_ids is not None:
        clauses.append(_in("process", where.process_ids, params))
    if where.request_ids is not None:
        clauses.append(_in("request_id", where.request_ids, params))
    if where.machines is not None:
        clauses.append(_in("machine", where.machines, params, nocase=True))
    if where.users is not None:
        clauses.append(_in("user_name", where.users, params, nocase=True))
    if where.services is not None or where.servers is not None:
        services = (
            "true" if where.services is None else _in("source", where.services, params, nocase=True)
        )
        servers = (
            "true" if where.servers is None else _in("source", where.servers, params, nocase=True)
        )
        clauses.append(
            f"(({_SERVICE_SOURCE} AND {services}) OR (NOT {_SERVICE_SOURCE} AND {servers}))"
        )
