"""The contract every feature-data backend (``geosite.data.source``) must pass.

Subclass ``FeatureSourceContract`` in a test module and provide ``make_data``: given a
GeoPackage published by geosite's importer (and its layer descriptions), return that data in
the backend (the GeoPackage itself, or the same rows loaded into PostGIS). The tests read
through the primitives and through the query engine, and edit, and expect the same answers
from every backend (Kinto's pattern, as ``geosite.storage.testing``).
"""

from __future__ import annotations

import abc
import datetime
import json
import math
import statistics
import threading
from pathlib import Path
from typing import Any

from geosite.core.models import LayerDescription
from geosite.data.importer import import_dataset
from geosite.data.source import FeatureData, FeatureSource, Grouping, RowFilter
from geosite.data.spatial_reference import resolve
from geosite.engines.edit_geometry import prepare
from geosite.engines.query.dialects import DIALECTS
from geosite.engines.query.execute import LayerQuery
from geosite.engines.query.params import parse_query
from geosite.engines.query.sql import compile_where, field_sql, quote
from geosite.engines.query.where import parse_where

#: The test layer: 40 points on a 8 x 5 grid, with text, integer, double and date fields,
#: some of them null.
COUNT = 40
NOW_MS = 1_700_000_000_000


def _features() -> list[dict[str, Any]]:
    out = []
    for i in range(COUNT):
        day = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(days=i)
        out.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [i % 8, i // 8]},
                "properties": {
                    "name": None if i % 10 == 9 else f"place {i:02d}",
                    "kind": ("a", "b", "c", "d")[i % 4],
                    "n": i,
                    "v": None if i % 7 == 6 else i * 1.5,
                    "day": day.strftime("%Y-%m-%dT%H:%M:%SZ"),
                },
            }
        )
    return out


def published_points(directory: Path) -> tuple[Path, list[LayerDescription]]:
    """The test layer imported as geosite publishes it: a GeoPackage and its layers."""
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / "points.geojson"
    source.write_text(json.dumps({"type": "FeatureCollection", "features": _features()}))
    target = directory / "points.gpkg"
    layers = import_dataset(source, target)
    return target, [LayerDescription.from_json(layer) for layer in layers]


def _expected_n(predicate: Any) -> list[int]:
    return [i for i in range(COUNT) if predicate(i)]


class FeatureSourceContract(abc.ABC):
    """Behaviour shared by every feature-data backend."""

    @abc.abstractmethod
    def make_data(self, gpkg: Path, layers: list[LayerDescription]) -> FeatureData:
        """The published GeoPackage ``gpkg`` as data of this backend (a new copy each call)."""

    # -- helpers ---------------------------------------------------------------------------
    def _open(self, tmp_path: Path) -> tuple[FeatureData, FeatureSource]:
        gpkg, layers = published_points(tmp_path / "published")
        data = self.make_data(gpkg, layers)
        return data, data.source(layers[0])

    @staticmethod
    def _where(source: FeatureSource, text: str) -> RowFilter:
        node = parse_where(text, list(source.layer.fields))
        compiled = compile_where(node, NOW_MS, DIALECTS[source.dialect])
        return RowFilter(compiled.sql, tuple(compiled.params))

    @staticmethod
    def _query(source: FeatureSource, **params: str) -> dict[str, Any]:
        spec = parse_query(params.get, list(source.layer.fields), 1000)
        return LayerQuery(source, spec, NOW_MS).run("json")

    # -- reading ---------------------------------------------------------------------------
    def test_counts(self, tmp_path: Path) -> None:
        """Everything, a where clause, object ids and a box are counted."""
        _, source = self._open(tmp_path)
        assert source.count(RowFilter()) == COUNT
        assert source.count(self._where(source, "n >= 30")) == 10
        assert source.count(RowFilter(object_ids=(1, 2, 3, 999))) == 3
        assert source.count(RowFilter(bbox=(0.5, 0.5, 2.5, 1.5))) == 2
        inside = RowFilter(bbox=(-0.5, -0.5, 1.5, 0.5), points_in_box=True)
        assert source.count(inside) == 2

    def test_object_ids_are_one_to_n_in_published_order(self, tmp_path: Path) -> None:
        """OBJECTIDs are 1..n, and the object id order is stable."""
        _, source = self._open(tmp_path)
        oid = quote(source.layer.object_id_field)
        rows = source.select(RowFilter(), [oid], order_by=[("OBJECTID", "ASC")])
        assert [row[0] for row in rows] == list(range(1, COUNT + 1))

    def test_select_pages_and_orders(self, tmp_path: Path) -> None:
        """``limit`` and ``offset`` page a total order; nulls sort as SQL's."""
        _, source = self._open(tmp_path)
        order = [("n", "DESC"), ("OBJECTID", "ASC")]
        page = source.select(RowFilter(), [quote("n")], order_by=order, limit=5, offset=3)
        assert [row[0] for row in page] == [36, 35, 34, 33, 32]
        rest = source.select(RowFilter(), [quote("n")], order_by=order, offset=38)
        assert [row[0] for row in rest] == [1, 0]

    def test_geometries_round_trip(self, tmp_path: Path) -> None:
        """Geometry values decode to the published points."""
        _, source = self._open(tmp_path)
        rows = source.select(
            RowFilter(object_ids=(1, 12)),
            [quote("n")],
            with_geometry=True,
            order_by=[("OBJECTID", "ASC")],
        )
        shapes = source.geometries([row[-1] for row in rows])
        assert [(s.x, s.y) for s in shapes] == [(0.0, 0.0), (3.0, 1.0)]
        coords = source.point_coordinates([row[-1] for row in rows])
        assert coords is None or coords.tolist() == [[0.0, 0.0], [3.0, 1.0]]

    def test_dates_read_as_epoch_milliseconds(self, tmp_path: Path) -> None:
        """A date field read through the dialect's expression is epoch ms (UTC)."""
        _, source = self._open(tmp_path)
        column = field_sql("day", "esriFieldTypeDate", DIALECTS[source.dialect])
        rows = source.select(RowFilter(object_ids=(3,)), [column])
        moment = datetime.datetime(2020, 1, 3, tzinfo=datetime.UTC)
        assert rows[0][0] == int(moment.timestamp() * 1000)

    def test_grouped_statistics_and_distinct(self, tmp_path: Path) -> None:
        """Aggregates per group and distinct values agree with the data."""
        _, source = self._open(tmp_path)
        aggregates = DIALECTS[source.dialect].aggregates
        expressions = (
            f"{quote('kind')} AS {quote('kind')}",
            f"{aggregates['COUNT']}({quote('n')}) AS {quote('c')}",
            f"{aggregates['SUM']}({quote('n')}) AS {quote('s')}",
            f"{aggregates['STDDEV']}({quote('n')}) AS {quote('sd')}",
        )
        rows = source.grouped(
            RowFilter(),
            Grouping(expressions, group_by=(quote("kind"),)),
            order_by=[("kind", "ASC")],
        )
        assert [(r[0], r[1], r[2]) for r in rows] == [
            (k, 10, sum(i for i in range(COUNT) if i % 4 == j)) for j, k in enumerate("abcd")
        ]
        spread = statistics.stdev(i for i in range(COUNT) if i % 4 == 0)
        assert math.isclose(float(rows[0][3]), spread, rel_tol=1e-9)
        distinct = source.grouped(
            self._where(source, "n < 6"),
            Grouping((f"{quote('kind')} AS {quote('kind')}",), distinct=True),
            order_by=[("kind", "DESC")],
        )
        assert [r[0] for r in distinct] == ["d", "c", "b", "a"]

    def test_extent_and_one_feature(self, tmp_path: Path) -> None:
        """The extent covers the points; one feature is read by object id, or None."""
        _, source = self._open(tmp_path)
        assert source.extent() == (0.0, 0.0, 7.0, 4.0)
        found = source.feature(10, ["name", "n"], with_geometry=True)
        assert found is not None
        attributes, shape = found
        assert attributes == {"name": None, "n": 9}
        assert (shape.x, shape.y) == (1.0, 1.0)
        assert source.feature(COUNT + 1, ["n"], with_geometry=False) is None

    def test_the_query_engine_answers_the_same(self, tmp_path: Path) -> None:
        """Queries through the engine: where, statistics, paging, box, outSR."""
        _, source = self._open(tmp_path)
        found = self._query(source, where="name LIKE 'place 1%' AND v IS NOT NULL", outFields="n")
        expected = _expected_n(lambda i: 10 <= i < 20 and i % 10 != 9 and i % 7 != 6)
        assert [f["attributes"]["n"] for f in found["features"]] == expected
        counted = self._query(source, where="UPPER(kind) IN ('A', 'B')", returnCountOnly="true")
        assert counted == {"count": 20}
        stats = self._query(
            source,
            outStatistics=json.dumps(
                [{"statisticType": "avg", "onStatisticField": "v", "outStatisticFieldName": "m"}]
            ),
        )
        values = [i * 1.5 for i in range(COUNT) if i % 7 != 6]
        assert math.isclose(stats["features"][0]["attributes"]["m"], sum(values) / len(values))
        paged = self._query(
            source, where="1=1", outFields="n", orderByFields="n DESC", resultRecordCount="4"
        )
        assert [f["attributes"]["n"] for f in paged["features"]] == [39, 38, 37, 36]
        assert paged["exceededTransferLimit"] is True
        boxed = self._query(
            source,
            geometry="0.5,0.5,2.5,1.5",
            geometryType="esriGeometryEnvelope",
            returnIdsOnly="true",
        )
        assert sorted(boxed["objectIds"]) == [10, 11]
        moved = self._query(source, objectIds="12", outSR="3857", returnGeometry="true")
        x = moved["features"][0]["geometry"]["x"]
        assert math.isclose(x, 333958.4723798207, rel_tol=1e-9)
        dated = self._query(source, where="day >= DATE '2020-02-01'", returnCountOnly="true")
        assert dated == {"count": COUNT - 31}

    # -- editing ---------------------------------------------------------------------------
    def _point(self, source: FeatureSource, x: float, y: float) -> Any:
        sr = resolve(source.layer.spatial_reference, "layer")
        return prepare({"x": x, "y": y}, source.layer, sr)

    def test_edits_commit_together(self, tmp_path: Path) -> None:
        """Insert, update and delete in one transaction; new ids follow the largest."""
        data, source = self._open(tmp_path)
        layer = source.layer
        with data.edit() as tx:
            new = tx.insert(layer, {"name": "new", "n": 100, "Shape": self._point(source, 50, 60)})
            assert tx.update(layer, 1, {"name": "changed"})
            assert not tx.update(layer, 999, {"name": "nobody"})
            assert tx.delete(layer, 2)
            assert not tx.delete(layer, 999)
            assert tx.find(layer, "n", 100) == new
            assert tx.value(layer, "name", 1) == "changed"
        assert new == COUNT + 1
        assert source.count(RowFilter()) == COUNT
        assert source.feature(1, ["name"], with_geometry=False) == ({"name": "changed"}, None)
        assert source.feature(2, ["name"], with_geometry=False) is None
        found = source.feature(new, ["n"], with_geometry=True)
        assert found is not None and (found[1].x, found[1].y) == (50.0, 60.0)
        assert source.extent() == (0.0, 0.0, 50.0, 60.0)  # widened by the new point
        assert source.count(RowFilter(bbox=(49, 59, 51, 61))) == 1  # and indexed

    def test_a_failed_transaction_changes_nothing(self, tmp_path: Path) -> None:
        """An exception in the block rolls every write back."""
        data, source = self._open(tmp_path)

        class Stop(Exception):
            pass

        try:
            with data.edit() as tx:
                tx.insert(source.layer, {"n": 1000, "Shape": self._point(source, 9, 9)})
                tx.delete(source.layer, 5)
                raise Stop
        except Stop:
            pass
        assert source.count(RowFilter()) == COUNT
        assert source.feature(5, ["n"], with_geometry=False) == ({"n": 4}, None)
        assert source.extent() == (0.0, 0.0, 7.0, 4.0)

    def test_a_savepoint_undoes_its_part_only(self, tmp_path: Path) -> None:
        """A failed part inside a savepoint is undone; the rest commits."""
        data, source = self._open(tmp_path)
        with data.edit() as tx:
            tx.update(source.layer, 1, {"n": 1001})
            try:
                with tx.savepoint():
                    tx.update(source.layer, 3, {"n": 1003, "Shape": self._point(source, 70, 70)})
                    raise ValueError
            except ValueError:
                pass
        assert source.feature(1, ["n"], with_geometry=False) == ({"n": 1001}, None)
        assert source.feature(3, ["n"], with_geometry=False) == ({"n": 2}, None)
        assert source.extent() == (0.0, 0.0, 7.0, 4.0)

    def test_null_geometry_is_written_and_read(self, tmp_path: Path) -> None:
        """A feature without geometry is kept, and has none."""
        data, source = self._open(tmp_path)
        with data.edit() as tx:
            new = tx.insert(source.layer, {"n": 7, "Shape": None})
        found = source.feature(new, ["n"], with_geometry=True)
        assert found == ({"n": 7}, None)
        assert source.geometries([None]) == [None]

    def test_many_adds_in_order(self, tmp_path: Path) -> None:
        """``insert_many`` adds rows in order (rows with different columns too), the ids
        ascending; the count everything-queries read follows."""
        data, source = self._open(tmp_path)
        rows: list[dict[str, Any]] = [
            {"n": 200 + i, "Shape": self._point(source, i, -i)} for i in range(5)
        ]
        rows.insert(2, {"name": "no geometry", "n": 299})
        with data.edit() as tx:
            ids = tx.insert_many(source.layer, rows)
        assert ids == sorted(ids) and len(set(ids)) == 6 and ids[0] > COUNT
        assert source.count(RowFilter()) == COUNT + 6
        found = source.feature(ids[2], ["name", "n"], with_geometry=True)
        assert found == ({"name": "no geometry", "n": 299}, None)
        last = source.feature(ids[5], ["n"], with_geometry=True)
        assert last is not None and last[0] == {"n": 204} and (last[1].x, last[1].y) == (4, -4)
        assert source.extent() == (0.0, -4.0, 7.0, 4.0)

    def test_concurrent_edits_and_reads(self, tmp_path: Path) -> None:
        """Writers in several threads, each adding and deleting in its own transactions, with
        readers counting meanwhile: every add gets its own id, none is lost, and the count
        everything-queries read is the rows' count afterwards."""
        data, source = self._open(tmp_path)
        layer = source.layer
        added: list[int] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def write(worker: int) -> None:
            try:
                for i in range(10):
                    with data.edit() as tx:
                        ids = tx.insert_many(
                            layer,
                            [
                                {"n": 1000 * worker + i, "Shape": self._point(source, worker, i)},
                                {"n": 1000 * worker + i + 500},
                            ],
                        )
                        tx.delete(layer, ids[1])
                    with lock:
                        added.append(ids[0])
            except BaseException as exc:  # reported below
                errors.append(exc)

        def read() -> None:
            try:
                for _ in range(20):
                    assert COUNT <= source.count(RowFilter()) <= COUNT + 40
                    assert source.count(self._where(source, "n >= 0")) >= COUNT
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
        threads += [threading.Thread(target=read) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert errors == []
        assert len(added) == len(set(added)) == 40
        assert source.count(RowFilter()) == COUNT + 40
        assert source.count(self._where(source, "n >= 1000")) == 30  # workers 1..3
