"""The feature-data interface: every backend (GeoPackage, PostGIS) implements it.

A service's data is a ``FeatureData`` (one GeoPackage file, or one PostGIS database and
schema); each of its layers is read through a ``FeatureSource``, and edits to any of its
layers are written in one ``EditSession`` (one transaction). The query engine
(``geosite.engines.query``) turns a ``QuerySpec`` into calls of these primitives, compiling
the ``where`` tree in the source's SQL ``dialect``; it never builds a table name or a filter
of its own. Every backend must pass the contract suite in ``geosite.data.testing``.

Errors: a source whose data has gone raises ``geosite.errors.NotFound``; one that cannot be
reached (a database that is down) raises ``geosite.errors.ServiceUnavailable``-style
``GeositeError``s with a clear message, never a driver's exception.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np

from geosite.core.models import LayerDescription

#: (xmin, ymin, xmax, ymax) in the layer's coordinates.
Box = tuple[float, float, float, float]
#: (field name or output column, "ASC" | "DESC").
Order = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class RowFilter:
    """Which rows: a compiled ``where`` (SQL in the source's dialect with its bound
    parameters), object ids, and an index box; ``points_in_box`` asks the source to keep only
    points really inside ``bbox`` (the index alone may keep a few near its edges)."""

    where_sql: str = "1"
    params: tuple[Any, ...] = ()
    object_ids: tuple[int, ...] | None = None
    bbox: Box | None = None
    points_in_box: bool = False

    @property
    def everything(self) -> bool:
        """Whether nothing filters."""
        always = self.where_sql.strip().upper() in ("1", "TRUE")
        return always and self.object_ids is None and self.bbox is None


@dataclass(frozen=True)
class Grouping:
    """An aggregated or distinct read: output ``expressions`` (SQL in the source's dialect,
    built from the layer's fields and a fixed table of aggregates, each ``AS`` a quoted
    name), ``group_by`` expressions, a compiled ``having``, and ``distinct``."""

    expressions: tuple[str, ...]
    group_by: tuple[str, ...] = ()
    having_sql: str | None = None
    having_params: tuple[Any, ...] = ()
    distinct: bool = False


def grouped_statement(
    table: str, condition: str, grouping: Grouping, order: str
) -> tuple[str, tuple[Any, ...]]:
    """``SELECT [DISTINCT] ... FROM table WHERE condition [GROUP BY] [HAVING] [ORDER BY]``
    of a grouped read, and the parameters its ``HAVING`` adds; every backend builds its
    grouped reads with it and adds its own paging."""
    text = (
        f"SELECT {'DISTINCT ' if grouping.distinct else ''}"  # noqa: S608
        f"{', '.join(grouping.expressions)} FROM {table} WHERE {condition}"
    )
    if grouping.group_by:
        text += " GROUP BY " + ", ".join(grouping.group_by)
    if grouping.having_sql is not None:
        text += f" HAVING {grouping.having_sql}"
    if order:
        text += f" ORDER BY {order}"
    return text, grouping.having_params if grouping.having_sql is not None else ()


class EncodedGeometry(Protocol):
    """A checked geometry ready to be written (``geosite.engines.edit_geometry``)."""

    def blob(self, srs_id: int) -> bytes:
        """The GeoPackage blob with ``srs_id``."""

    def wkb(self) -> bytes:
        """The geometry as ISO WKB."""

    def bounds(self) -> Box:
        """Its bounds."""


class EditSession(abc.ABC):
    """The writes of one request to one service's data: one transaction.

    ``values`` name the layer's fields (never the object id); the geometry field holds an
    ``EncodedGeometry`` or None.
    """

    @abc.abstractmethod
    def savepoint(self) -> AbstractContextManager[None]:
        """A part that is undone alone when it raises (``rollbackOnFailure=false``)."""

    @abc.abstractmethod
    def insert(self, layer: LayerDescription, values: dict[str, Any]) -> int:
        """Add a row; its new object id (1 more than the largest ever given, as today)."""

    def insert_many(self, layer: LayerDescription, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Add rows in order; their new object ids, in order (backends may send them in bulk)."""
        return [self.insert(layer, values) for values in rows]

    @abc.abstractmethod
    def update(self, layer: LayerDescription, object_id: int, values: dict[str, Any]) -> bool:
        """Change some fields of a row; False when there is no such row."""

    @abc.abstractmethod
    def delete(self, layer: LayerDescription, object_id: int) -> bool:
        """Remove a row; False when there is no such row."""

    @abc.abstractmethod
    def find(self, layer: LayerDescription, field: str, value: Any) -> int | None:
        """The object id of a row whose ``field`` holds ``value`` (None when there is none)."""

    @abc.abstractmethod
    def value(self, layer: LayerDescription, field: str, object_id: int) -> Any:
        """One field of one row (None when there is no such row)."""


class FeatureSource(abc.ABC):
    """One layer's rows, read with the primitives the query engine composes."""

    #: The SQL dialect of the ``where`` and expressions it takes (``sqlite``, ``postgresql``).
    dialect: ClassVar[str]

    def __init__(self, layer: LayerDescription) -> None:
        self.layer = layer

    @abc.abstractmethod
    def count(self, rows: RowFilter) -> int:
        """How many rows match."""

    @abc.abstractmethod
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
        """Rows of ``columns`` (SQL expressions over the layer's fields, in the dialect), plus
        the geometry value (see ``geometries``) last with ``with_geometry``. ``order_by``
        names fields; the object id is added last so the order is total."""

    @abc.abstractmethod
    def grouped(
        self,
        rows: RowFilter,
        grouping: Grouping,
        *,
        order_by: Order = (),
        limit: int | None = None,
        offset: int = 0,
    ) -> list[tuple[Any, ...]]:
        """Rows of an aggregated or distinct read (``order_by`` names output columns)."""

    @abc.abstractmethod
    def extent(self) -> Box | None:
        """The layer's extent now (as published, widened by edits); None when unknown."""

    @abc.abstractmethod
    def feature(
        self, object_id: int, fields: Sequence[str], with_geometry: bool
    ) -> tuple[dict[str, Any], Any] | None:
        """The values of ``fields`` (raw, as ``select`` gives them: dates as stored) and the
        shapely geometry of one feature; None when there is no such feature."""

    @abc.abstractmethod
    def geometries(self, values: Sequence[Any]) -> list[Any]:
        """Shapely geometries (None for a missing or empty one) of geometry values read by
        ``select``."""

    def mapnik_datasource(self) -> dict[str, str] | None:
        """The parameters of the Mapnik input plugin that reads this layer itself (``type``
        names the plugin), or None when Mapnik cannot read it directly (the render engine then
        reads the rows through this source). Never shown to clients: it may hold a password."""
        return None

    def point_coordinates(self, values: Sequence[Any]) -> np.ndarray | None:
        """An (n, 2) array of the points in ``values`` when they are all plain 2D points and
        can be read without shapely; None otherwise (then ``geometries`` is used)."""
        return None


class FeatureData(abc.ABC):
    """The data of one service: its layers' sources and its edit transactions."""

    @abc.abstractmethod
    def source(self, layer: LayerDescription) -> FeatureSource:
        """The source of one of its layers."""

    @abc.abstractmethod
    def edit(self) -> AbstractContextManager[EditSession]:
        """One write transaction: committed durably when the block ends, rolled back when it
        raises. Writers take turns; a reader never waits for a writer."""
