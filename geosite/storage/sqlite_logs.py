"""SQLite backend of the log store (``synchronous=NORMAL``: logs are not configuration)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from geosite.core.models import LogFilter, LogRecord, ServiceUsage
from geosite.storage._db import Connections
from geosite.storage.base import LogStore
from geosite.storage.migrations import stored_version, upgrade
from geosite.storage.sqlite_schema import LOG_SCHEMA

HOUR_MS = 3_600_000
_UPSERT = (
    "INSERT INTO {table} (machine, service, minute_ms, requests, failures, total_ms, max_ms) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (machine, service, minute_ms) DO UPDATE "
    "SET requests = requests + excluded.requests, "
    "failures = failures + excluded.failures, "
    "total_ms = total_ms + excluded.total_ms, "
    "max_ms = max(max_ms, excluded.max_ms)"
)
_SUMS = "sum(requests), sum(failures), sum(total_ms), max(max_ms)"

_LOG_COLUMNS = (
    "time_ms, level, code, source, machine, process, thread, user, elapsed_ms, request_id,"
    " method, message"
)


class SqliteLogStore(LogStore):
    """Log store in one SQLite file (``synchronous=NORMAL``: logs are not configuration)."""

    def __init__(self, path: Path) -> None:
        self._db = Connections(path, "NORMAL")

    def initialize_schema(self) -> None:
        """Create the layout, or apply the migrations it lacks (see ``VersionedStore``)."""
        upgrade(self._db, LOG_SCHEMA)

    def schema_version(self) -> int:
        """The version of the layout in the file."""
        return stored_version(self._db.get())

    def latest_schema_version(self) -> int:
        """The version this geosite writes."""
        return LOG_SCHEMA.latest

    def close(self) -> None:
        """Close this process's connections."""
        self._db.close()

    def destroy(self) -> None:
        """Delete the database file (see ``VersionedStore``)."""
        self._db.remove_files()

    def add_usage(self, usage: Sequence[ServiceUsage]) -> None:
        """Add per-minute counts (and to their hours)."""
        rows = [
            (u.machine, u.service, u.minute_ms, u.requests, u.failures, u.total_ms, u.max_ms)
            for u in usage
        ]
        hours = [(*row[:2], row[2] - row[2] % HOUR_MS, *row[3:]) for row in rows]
        with self._db.transaction() as conn:
            conn.executemany(_UPSERT.format(table="service_usage"), rows)
            conn.executemany(_UPSERT.format(table="service_usage_hour"), hours)

    def usage(self, since_ms: int, services: Sequence[str] | None = None) -> list[ServiceUsage]:
        """Totals per machine and service."""
        sql = (
            "SELECT machine, service, min(minute_ms), sum(requests), sum(failures), "
            "sum(total_ms), max(max_ms) FROM service_usage WHERE minute_ms >= ?"
        )
        bound: list[Any] = [since_ms]
        if services is not None:
            sql += " AND service IN (SELECT value FROM json_each(?))"
            bound.append(orjson.dumps(list(services)).decode())
        sql += " GROUP BY machine, service ORDER BY machine, service"
        rows = self._db.get().execute(sql, bound).fetchall()
        return [ServiceUsage(r[0], r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows]

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
            part = (
                f"SELECT machine, service, minute_ms, requests, failures, total_ms, max_ms "
                f"FROM {table} WHERE minute_ms >= ? AND minute_ms < ?"
            )
            bound += [start, end]
            if machines is not None:
                part += " AND machine IN (SELECT value FROM json_each(?))"
                bound.append(orjson.dumps(list(machines)).decode())
            parts.append(part)
        if not parts:
            return []
        sql = (
            f"SELECT machine, service, ? + ((minute_ms - ?) / ?) * ? AS slice, {_SUMS} "
            f"FROM ({' UNION ALL '.join(parts)}) "
            "GROUP BY service COLLATE NOCASE, machine COLLATE NOCASE, slice "
            "ORDER BY service COLLATE NOCASE, slice, machine COLLATE NOCASE"
        )
        rows = self._db.get().execute(sql, [from_ms, from_ms, slice_ms, slice_ms, *bound])
        return [ServiceUsage(r[0], r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows.fetchall()]

    def delete_usage(self, before_ms: int) -> int:
        """Remove old per-minute counts."""
        with self._db.transaction() as conn:
            # An hour goes once all its minutes have gone.
            hour = before_ms - before_ms % HOUR_MS
            conn.execute("DELETE FROM service_usage_hour WHERE minute_ms < ?", (hour,))
            sql = "DELETE FROM service_usage WHERE minute_ms < ?"
            return conn.execute(sql, (before_ms,)).rowcount

    def write(self, records: Sequence[LogRecord]) -> None:
        """Append records."""
        with self._db.transaction() as conn:
            conn.executemany(
                f"INSERT INTO logs ({_LOG_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            clauses.append("time_ms <= ?")
            params.append(newest_ms)
        if oldest_ms is not None:
            clauses.append("time_ms >= ?")
            params.append(oldest_ms)
        if levels:
            clauses.append(_in("level", levels, params))
        if where is not None:
            _filter_clauses(where, clauses, params)
        condition = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        params.append(limit)
        rows = (
            self._db.get()
            .execute(
                f"SELECT {_LOG_COLUMNS} FROM logs {condition} "
                "ORDER BY time_ms DESC, id DESC LIMIT ?",
                params,
            )
            .fetchall()
        )
        return [
            LogRecord(
                time_ms=r[0],
                level=r[1],
                code=r[2],
                source=r[3],
                machine=r[4],
                process=r[5],
                thread=r[6],
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
            return conn.execute("DELETE FROM logs WHERE time_ms < ?", (before_ms,)).rowcount

    def count_logs(
        self, levels: Sequence[str], machines: Sequence[str] | None = None
    ) -> dict[str, int]:
        """Records with one of ``levels`` per machine."""
        params: list[Any] = []
        clauses = [_in("level", levels, params)]
        if machines is not None:
            clauses.append(_in("machine", machines, params, nocase=True))
        rows = self._db.get().execute(
            f"SELECT machine, count(*) FROM logs WHERE {' AND '.join(clauses)} GROUP BY machine",
            params,
        )
        return {str(machine): int(count) for machine, count in rows.fetchall()}


#: Sources about a service end with its type (``Maps/Cities.MapServer``); the others are
#: parts of the server (``Rest``, ``Admin``, ``Server``).
_SERVICE_SOURCE = "source LIKE '%_._%Server'"


def _in(column: str, values: Sequence[Any], params: list[Any], *, nocase: bool = False) -> str:
    """``column IN (?, ...)`` with the values bound; an empty list matches nothing."""
    if not values:
        return "0"
    params.extend(values)
    collate = " COLLATE NOCASE" if nocase else ""
    return f"{column}{collate} IN ({','.join('?' * len(values))})"


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
        clauses.append(_in("user", where.users, params, nocase=True))
    if where.services is not None or where.servers is not None:
        services = (
            "1" if where.services is None else _in("source", where.services, params, nocase=True)
        )
        servers = (
            "1" if where.servers is None else _in("source", where.servers, params, nocase=True)
        )
        clauses.append(
            f"(({_SERVICE_SOURCE} AND {services}) OR (NOT {_SERVICE_SOURCE} AND {servers}))"
        )
