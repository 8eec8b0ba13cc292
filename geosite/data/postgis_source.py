"""PostGIS feature data: a service's layers as tables of one schema in a PostgreSQL database.

A location is ``postgis://<connection>/<schema>``: ``connection`` names a database the site
knows (``site`` for the site's own data store, or a registered database's item path), and is
turned into a connection string by the resolver the caller gives (``open_postgis``), so no
password is ever stored in a service's definition. Each connection string gets one
``psycopg_pool.ConnectionPool``.

The tables hold the columns the layer description names, quoted exactly (``OBJECTID``,
``Shape``, the fields); dates are ``timestamptz``; geometries are ``geometry`` with the
layer's SRID and a GiST index. Each schema has ``geosite_layers`` with the extent edits have
widened (as ``gpkg_contents`` keeps it in a GeoPackage). Only bound parameters reach SQL;
identifiers come from the layer description and are quoted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from decimal import Decimal
from typing import Any

import numpy as np
import psycopg
import shapely
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from geosite.core.models import LayerDescription
from geosite.data.postgis_edits import LAYERS_TABLE, PostGISEdits
from geosite.data.source import (
    Box,
    EditSession,
    FeatureData,
    FeatureSource,
    Grouping,
    Order,
    RowFilter,
    grouped_statement,
)
from geosite.data.spatial_reference import resolve as resolve_reference
from geosite.errors import DataUnavailable, InvalidParameter, NotFound, QueryTooLong

SCHEME = "postgis"
#: Seconds a request waits for a pooled connection before it is told the database is busy.
POOL_TIMEOUT_S = 5.0
#: How long one reconnection attempt of a pool goes on (backing off 1, 2, 4 s) before it gives
#: up; the next request then starts another at once. psycopg_pool's default (300 s, the delay
#: doubling up to 64 s and more) left a database that came back unused for up to as long
#: again as it had been away.
RECONNECT_TIMEOUT_S = 10.0


_pools: dict[str, ConnectionPool] = {}
_pools_lock = threading.Lock()


def pool(conninfo: str) -> ConnectionPool:
    """The connection pool of ``conninfo`` (opened on first use)."""
    with _pools_lock:
        found = _pools.get(conninfo)
        if found is None:
            found = _pools[conninfo] = ConnectionPool(
                conninfo,
                min_size=0,
                max_size=8,
                open=True,
                kwargs={"autocommit": True},
                check=ConnectionPool.check_connection,
                reconnect_timeout=RECONNECT_TIMEOUT_S,
            )
        return found


def pool_stats() -> list[dict[str, int]]:
    """Each pool's figures (``psycopg_pool``'s ``get_stats``: size, idle, waiting...)."""
    with _pools_lock:
        found = list(_pools.values())
    return [dict(p.get_stats()) for p in found]


def close_pools() -> None:
    """Close every pool (at shutdown, and in tests)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for found in pools:
        found.close()


@contextmanager
def connection(conninfo: str) -> Iterator[psycopg.Connection[Any]]:
    """A pooled connection; a database that cannot be reached is ``DataUnavailable``."""
    try:
        with pool(conninfo).connection(timeout=POOL_TIMEOUT_S) as conn:
            yield conn
    except PoolTimeout:
        raise DataUnavailable(details=["No database connection could be made."]) from None
    except psycopg.OperationalError as exc:
        raise DataUnavailable(details=[_reason(exc)]) from None


def _reason(exc: psycopg.Error) -> str:
    """What went wrong, without the connection string (it may hold a password)."""
    state = getattr(exc, "sqlstate", None) or ""
    return f"The database answered: {type(exc).__name__}" + (f" ({state})." if state else ".")


#: What PostgreSQL raises for a request's own values where SQLite converts or answers NULL:
#: text cast to a number, an overflow, operands of types no operator takes ('n = '1''). The
#: query is refused with ArcGIS's 400, never a 500.
_REFUSED_VALUES = (
    psycopg.errors.DataError,
    psycopg.errors.UndefinedFunction,
    psycopg.errors.DatatypeMismatch,
    psycopg.errors.IndeterminateDatatype,
    psycopg.errors.AmbiguousFunction,
)


def _refused(exc: psycopg.Error) -> InvalidParameter:
    """The 400 of a statement the database refused for the request's values; its words (no
    SQL) in the details, the whole error in the log."""
    said = (exc.diag.message_primary or type(exc).__name__)[:200]
    return InvalidParameter(
        "Unable to perform query: the where clause, havingClause or statistics cannot be "
        "evaluated on this layer's data.",
        details=[f"The database refused a value: {said}."],
        private=[str(exc)],
    )


def parse_location(location: str) -> tuple[str, str]:
    """(connection name, schema) of a ``postgis://<connection>/<schema>`` location."""
    rest = location.partition("://")[2]
    connection_name, _, schema = rest.rpartition("/")
    if not connection_name or not schema:
        raise InvalidParameter("A PostGIS location is postgis://<connection>/<schema>.")
    return connection_name, schema


def location(connection_name: str, schema: str) -> str:
    """The location of a schema in a named database."""
    return f"{SCHEME}://{connection_name}/{schema}"


def _table(schema: str, table: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def point_coordinates(values: Sequence[Any]) -> np.ndarray | None:
    """An (n, 2) array when every value is a little-endian 2D WKB point, else None."""
    if not values or any(not isinstance(v, bytes) or len(v) != 21 for v in values):
        return None
    rows = np.frombuffer(b"".join(values), dtype=np.uint8).reshape(len(values), 21)
    if not (rows[:, :5] == np.array([1, 1, 0, 0, 0], dtype=np.uint8)).all():
        return None
    joined = rows.tobytes()
    return np.ndarray(
        (len(values), 2), dtype="<f8", buffer=joined, offset=5, strides=(21, 8)
    ).copy()


def _world(layer: LayerDescription) -> tuple[float, float, float, float]:
    """Bounds every coordinate of the layer's spatial reference lies within: the extent Mapnik
    tests an image against (edits may move features beyond the published extent)."""
    return resolve_reference(layer.spatial_reference, "layer").coordinate_bounds


class PostGISSource(FeatureSource):
    """One layer: a table of the service's schema."""

    dialect = "postgresql"

    def __init__(self, data: PostGISData, layer: LayerDescription) -> None:
        super().__init__(layer)
        self.data = data
        self.table = _quote(data.schema) + "." + _quote(layer.table)
        self.oid = _quote(layer.object_id_field)
        self.shape = _quote(layer.geometry_field)

    def _rows(self, text: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return self.data.rows(text, params)

    def mapnik_datasource(self) -> dict[str, str] | None:
        """Mapnik's PostGIS plugin reads the table with a connection of its own pool (the
        connection string's parts; its ``&&`` box filter uses the table's GiST index)."""
        parts = conninfo_to_dict(self.data.conninfo)
        out = {
            "type": "postgis",
            "table": self.table,
            "geometry_field": self.layer.geometry_field,
            "key_field": self.layer.object_id_field,
            "key_field_as_attribute": "false",
            "srid": str(self.data.srid(self.layer)),
            "estimate_extent": "false",
            "extent_from_subquery": "false",
            "extent": ",".join(repr(v) for v in _world(self.layer)),
            "persist_connection": "true",
            "max_size": "4",
            "connect_timeout": "4",
        }
        for key in ("host", "port", "dbname", "user", "password"):
            if parts.get(key) not in (None, ""):
                out[key] = str(parts[key])
        return out

    def _filters(self, found: RowFilter) -> tuple[str, list[Any]]:
        where = "TRUE" if found.where_sql.upper() in ("1", "TRUE") else found.where_sql
        clauses, bound = [f"({where})"], list(found.params)
        if found.object_ids is not None:
            clauses.append(f"{self.oid} = ANY(%s)")
            bound.append(list(found.object_ids))
        if found.bbox is not None:
            srid = self.data.srid(self.layer)
            clauses.append(f"{self.shape} && ST_MakeEnvelope(%s, %s, %s, %s, {srid})")
            bound.extend(found.bbox)
            if found.points_in_box:
                # && compares the index's float boxes (rounded outwards): test exactly.
                clauses.append(
                    f"ST_Intersects({self.shape}, ST_MakeEnvelope(%s, %s, %s, %s, {srid}))"
                )
                bound.extend(found.bbox)
        return " AND ".join(clauses), bound

    def count(self, rows: RowFilter) -> int:
        """The maintained count when nothing filters (in geosite's own schemas), else
        ``count(*)`` over the filters."""
        if rows.everything and self.data.kept():
            found = self._rows(
                f"SELECT feature_count FROM {_quote(self.data.schema)}.{LAYERS_TABLE} "  # noqa: S608
                "WHERE table_name = %s",
                [self.layer.table],
            )
            if found and found[0][0] is not None:
                return int(found[0][0])
        condition, bound = self._filters(rows)
        return int(self._rows(f"SELECT count(*) FROM {self.table} WHERE {condition}", bound)[0][0])  # noqa: S608

    def select(
        self,
        rows: RowFilter,
        columns: Sequence[str],
        *,
        with_geometry: bool = False,
        order_by: Order = (),
        limit: int | None = None,
        offset: int = 0,
    ) -> list[tuple[Any, ...]]:
        """One statement over the table, ordered and paged in SQL; geometries as WKB."""
        condition, bound = self._filters(rows)
        selected = list(columns) + ([f"ST_AsBinary({self.shape})"] if with_geometry else [])
        order = _order(order_by)
        text = (
            f"SELECT {', '.join(selected)} FROM {self.table} WHERE {condition}"  # noqa: S608
            + (f" ORDER BY {order}" if order else "")
        )
        if limit is not None:
            text += " LIMIT %s"
            bound.append(limit)
        if offset:
            text += " OFFSET %s"
            bound.append(offset)
        return [_plain(row) for row in self._rows(text, bound)]

    def grouped(
        self,
        rows: RowFilter,
        grouping: Grouping,
        *,
        order_by: Order = (),
        limit: int | None = None,
        offset: int = 0,
    ) -> list[tuple[Any, ...]]:
        """One aggregated or ``DISTINCT`` statement over the table."""
        condition, bound = self._filters(rows)
        text, having = grouped_statement(self.table, condition, grouping, _order(order_by))
        bound.extend(having)
        if limit is not None:
            text += " LIMIT %s OFFSET %s"
            bound.extend([limit, offset])
        return [_plain(row) for row in self._rows(text, bound)]

    def extent(self) -> Box | None:
        """The extent kept in ``geosite_layers`` (widened by every edit); for a table published
        by reference, PostGIS's estimate from the table's statistics, else its exact extent."""
        if self.data.kept():
            found = self._rows(
                f"SELECT min_x, min_y, max_x, max_y FROM {_quote(self.data.schema)}.{LAYERS_TABLE} "  # noqa: S608
                "WHERE table_name = %s",
                [self.layer.table],
            )
        else:
            found = self._rows(
                f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "  # noqa: S608
                f"coalesce(ST_EstimatedExtent(%s, %s, %s), (SELECT ST_Extent({self.shape}) "
                f"FROM {self.table})) AS e) AS extent",
                [self.data.schema, self.layer.table, self.layer.geometry_field],
            )
        if not found or any(v is None for v in found[0]):
            return None
        xmin, ymin, xmax, ymax = found[0]
        return float(xmin), float(ymin), float(xmax), float(ymax)

    def feature(
        self, object_id: int, fields: Sequence[str], with_geometry: bool
    ) -> tuple[dict[str, Any], Any] | None:
        """One feature by its object id."""
        columns = [_quote(f) for f in fields]
        if with_geometry:
            columns.append(f"ST_AsBinary({self.shape})")
        found = self._rows(
            f"SELECT {', '.join(columns) or self.oid} FROM {self.table} WHERE {self.oid} = %s",  # noqa: S608
            [object_id],
        )
        if not found:
            return None
        row = _plain(found[0])
        attributes = dict(zip(fields, row[: len(fields)], strict=True))
        geometry = self.geometries([row[-1]])[0] if with_geometry else None
        return attributes, geometry

    def geometries(self, values: Sequence[Any]) -> list[Any]:
        """WKB to shapely in one vectorised pass (None for a missing or empty one)."""
        shapes = shapely.from_wkb(np.array(list(values), dtype=object), on_invalid="ignore")
        return [None if s is None or s.is_empty else s for s in shapes]

    def point_coordinates(self, values: Sequence[Any]) -> np.ndarray | None:
        """Little-endian WKB points read as numbers, without shapely."""
        return point_coordinates(values)


def _order(order_by: Order) -> str:
    """ORDER BY terms with NULLs where SQLite (and so a GeoPackage) puts them: first when
    ascending, last when descending."""
    return ", ".join(
        f"{_quote(name)} {direction} NULLS {'LAST' if direction.upper() == 'DESC' else 'FIRST'}"
        for name, direction in order_by
    )


def _plain(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row as a GeoPackage gives it: ``memoryview`` values (WKB) as bytes, and numerics (an
    average or deviation of integers) as doubles."""
    return tuple(
        bytes(v) if isinstance(v, memoryview) else float(v) if isinstance(v, Decimal) else v
        for v in row
    )


class PostGISData(FeatureData):
    """The schema of one service in a PostgreSQL database."""

    def __init__(self, conninfo: str, schema: str) -> None:
        self.conninfo = conninfo
        self.schema = schema

    def rows(self, text: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """All rows of one read statement."""
        with connection(self.conninfo) as conn:
            try:
                return conn.execute(text.encode(), list(params)).fetchall()
            except psycopg.errors.UndefinedTable:
                raise NotFound("The service's data is missing.") from None
            except psycopg.errors.QueryCanceled:
                raise QueryTooLong() from None
            except _REFUSED_VALUES as exc:
                raise _refused(exc) from None

    def srid(self, layer: LayerDescription) -> int:
        """The SRID of the layer's geometry column (kept for the life of the process: a
        column's SRID does not change under a published service)."""
        key = (self.conninfo, self.schema, layer.table, "srid")
        found = _facts.get(key)
        if found is None:
            row = self.rows(
                "SELECT srid FROM geometry_columns WHERE f_table_schema = %s "
                "AND f_table_name = %s AND f_geometry_column = %s",
                [self.schema, layer.table, layer.geometry_field],
            )
            found = _facts[key] = int(row[0][0]) if row else 0
        return found

    def kept(self) -> bool:
        """Whether the schema is geosite's own, with ``geosite_layers`` keeping each layer's
        count and extent (a table published by reference has none)."""
        key = (self.conninfo, self.schema, "", "kept")
        found = _facts.get(key)
        if found is None:
            row = self.rows(
                "SELECT to_regclass(%s) IS NOT NULL", [f"{_quote(self.schema)}.{LAYERS_TABLE}"]
            )
            found = _facts[key] = int(bool(row[0][0]))
        return bool(found)

    def source(self, layer: LayerDescription) -> PostGISSource:
        """A source over one table of the schema."""
        return PostGISSource(self, layer)

    @contextmanager
    def edit(self) -> Iterator[EditSession]:
        """One transaction; PostgreSQL's row locks order concurrent writers.

        The kept counts and extents (a row per layer, which every writer updates) go to the
        server together with the ``COMMIT``, in one round trip: that row's lock, which
        orders all writers, is then held for the commit alone, not also while this process
        gets the answer and sends the ``COMMIT``. Savepoints (``conn.transaction()``) nest
        in the transaction the ``BEGIN`` opens.
        """
        with connection(self.conninfo) as conn:
            try:
                conn.execute("BEGIN")
                try:
                    session = PostGISEdits(self, conn)
                    yield session
                    with conn.pipeline():
                        session.write_bookkeeping()
                        conn.execute("COMMIT")
                except BaseException:
                    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                        with suppress(psycopg.Error):  # a broken connection: the pool drops it
                            conn.execute("ROLLBACK")
                    raise
            except psycopg.errors.UndefinedTable:
                raise NotFound("The service's data is missing.") from None
            except psycopg.errors.QueryCanceled:
                raise QueryTooLong() from None


#: Facts about tables that do not change while they are served: (conninfo, schema, table,
#: what) -> value.
_facts: dict[tuple[str, str, str, str], int] = {}


def open_postgis(location_text: str, resolve: Callable[[str], str] | None) -> PostGISData:
    """The data at a ``postgis://<connection>/<schema>`` location (``resolve`` gives the
    connection string of the connection's name)."""
    name, schema = parse_location(location_text)
    if resolve is None:
        raise DataUnavailable(details=["This machine knows no PostGIS database."])
    return PostGISData(resolve(name), schema)
